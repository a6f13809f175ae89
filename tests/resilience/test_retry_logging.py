"""Retry log lines on the ``mirako_async`` logger, and ``MIRAKO_LOG`` turning on stderr output."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mirako_async.testing import Emulator, Fault, Status, TruncatedBody

from ._drivers import ClientKind
from ._support import SDK_LOGGER, child_environment, retry_records, retry_wait, run_python
from .conftest import ClientFactory

API_KEY = "resilience-log-key-7d41c2"


@pytest.fixture
def mirako_emulator_options(mirako_emulator_options: dict[str, Any]) -> dict[str, Any]:
    """Add a key that is easy to search for in log output to the inherited emulator options."""
    return {**mirako_emulator_options, "api_key": API_KEY}


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        pytest.param(Status(503), "status 503", id="status"),
        pytest.param(TruncatedBody(), "APIConnectionError", id="connection"),
    ],
)
async def test_each_retry_logs_one_line(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    cause: str,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client()
    mirako_emulator.inject(fault, "list", times=2)

    await client.list()

    sdk_records = [record for record in caplog.records if record.name == SDK_LOGGER]
    retries = retry_records(caplog)
    assert sdk_records == retries
    assert len(retries) == 2
    for record in retries:
        message = record.getMessage()
        assert record.levelno == logging.INFO
        assert "GET /v1/avatar/list" in message
        assert cause in message
        assert f"{retry_wait(record):.2f} s" in message
        assert API_KEY not in message


ASYNC_SCRIPT = """
    import asyncio
    import sys

    from mirako_async import AsyncMirako

    async def main() -> None:
        async with AsyncMirako(base_url=sys.argv[1], trust_env=False) as client:
            print(len(await client.avatars.list()))

    asyncio.run(main())
"""

SYNC_SCRIPT = """
    import sys

    from mirako_async import Mirako

    with Mirako(base_url=sys.argv[1], trust_env=False) as client:
        print(len(client.avatars.list()))
"""


def test_mirako_log_debug_logs_requests(client_kind: ClientKind, mirako_emulator: Emulator) -> None:
    mirako_emulator.inject(Status(503), "list", times=1)
    script = ASYNC_SCRIPT if client_kind == "async" else SYNC_SCRIPT
    env = child_environment(MIRAKO_LOG="debug", MIRAKO_API_KEY=API_KEY)

    completed = run_python(script, mirako_emulator.base_url, env=env)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"{len(mirako_emulator.avatars())}\n"
    lines = completed.stderr.splitlines()
    assert any("DEBUG mirako_async: GET /v1/avatar/list -> 503 in " in line for line in lines)
    assert any("DEBUG mirako_async: GET /v1/avatar/list -> 200 in " in line for line in lines)
    assert any("INFO mirako_async: Retrying GET /v1/avatar/list after status 503" in line for line in lines)
    assert API_KEY not in completed.stderr
    assert API_KEY not in completed.stdout


def test_stderr_empty_without_mirako_log(client_kind: ClientKind, mirako_emulator: Emulator) -> None:
    mirako_emulator.inject(Status(503), "list", times=1)
    script = ASYNC_SCRIPT if client_kind == "async" else SYNC_SCRIPT
    env = child_environment(MIRAKO_API_KEY=API_KEY)

    completed = run_python(script, mirako_emulator.base_url, env=env)

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
