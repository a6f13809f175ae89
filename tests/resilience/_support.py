"""Small helpers shared by the resilience tests: polling, log records and child processes."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Final

import pytest

__all__ = [
    "CHILD_TIMEOUT",
    "SDK_LOGGER",
    "child_environment",
    "free_port",
    "retry_records",
    "retry_wait",
    "run_python",
    "wait_until",
    "wait_until_blocking",
]

# Generous, because a loaded CI machine may start Python slowly.
CHILD_TIMEOUT: Final = 60.0

SDK_LOGGER: Final = "mirako_async"


async def wait_until(condition: Callable[[], bool], *, timeout: float = 10.0, message: str) -> None:
    """Poll ``condition`` every 10 ms on the running loop, and fail the test after ``timeout`` seconds."""
    give_up_at = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up_at:
            pytest.fail(f"Timed out after {timeout:g} s waiting until {message}.")
        await asyncio.sleep(0.01)


def wait_until_blocking(condition: Callable[[], bool], *, timeout: float = 10.0, message: str) -> None:
    """Poll ``condition`` every 10 ms in a blocking loop, and fail the test after ``timeout`` seconds."""
    give_up_at = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up_at:
            pytest.fail(f"Timed out after {timeout:g} s waiting until {message}.")
        time.sleep(0.01)


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the SDK's log records that start with "Retrying ", which it writes once per retry."""
    return [
        record for record in caplog.records if record.name == SDK_LOGGER and record.getMessage().startswith("Retrying ")
    ]


def retry_wait(record: logging.LogRecord) -> float:
    """Return the wait in seconds that a "Retrying ..." record announced.

    The wait is the only float among the arguments of that log call, whose
    other arguments are strings and attempt counts.
    """
    assert isinstance(record.args, tuple), record
    waits = [argument for argument in record.args if isinstance(argument, float)]
    assert len(waits) == 1, record.args
    return waits[0]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def child_environment(**extra: str) -> dict[str, str]:
    """Return this process's environment plus ``extra``.

    The autouse ``clean_environment`` fixture has already removed keys, base URLs and proxies from it.
    """
    env = dict(os.environ)
    # The tests choose the child's warning filters with interpreter flags.
    env.pop("PYTHONWARNINGS", None)
    env.pop("PYTHONDEVMODE", None)
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def run_python(
    script: str,
    *args: str,
    interpreter_flags: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Python script in a child process and return its exit code and output."""
    return subprocess.run(
        [sys.executable, *interpreter_flags, "-c", textwrap.dedent(script), *args],
        env=env if env is not None else child_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=CHILD_TIMEOUT,
        check=False,
    )
