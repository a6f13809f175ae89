"""A client inherited through ``os.fork()`` works in the child and leaves the parent's sockets alone.

The child reports through a pipe and leaves with ``os._exit``, so it never
runs pytest's clean-up or the parent's finalizers.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import time
from collections.abc import Callable
from typing import NoReturn

import pytest

from mirako_async import AsyncMirako, Mirako
from mirako_async.testing import Emulator

from ._support import CHILD_TIMEOUT

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists on POSIX only"),
    # Python 3.12 and later warn when a process with threads forks, and this
    # one runs the emulator's thread and the blocking client's loop thread.
    # The child touches neither thread, because it only uses the client,
    # which after a fork opens new connections on a loop of its own.
    pytest.mark.filterwarnings(
        r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead "
        r"to deadlocks in the child\.:DeprecationWarning"
    ),
]


def _run_child(list_avatars: Callable[[], int], read_fd: int, write_fd: int) -> NoReturn:
    """List avatars in the forked child, write the outcome as JSON to the pipe and exit."""
    exit_code = 1
    report: dict[str, object] = {"ok": False, "error": "the child failed before the call"}
    try:
        os.close(read_fd)
        report = {"ok": True, "count": list_avatars()}
        exit_code = 0
    except BaseException as exc:
        report = {"ok": False, "error": repr(exc)}
    finally:
        try:
            os.write(write_fd, json.dumps(report).encode())
        finally:
            os._exit(exit_code)


def _fork_and_list(list_avatars: Callable[[], int]) -> tuple[dict[str, object], int]:
    """Fork, run ``list_avatars`` in the child and return its report and exit code."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        _run_child(list_avatars, read_fd, write_fd)
    os.close(write_fd)
    give_up_at = time.monotonic() + CHILD_TIMEOUT
    try:
        chunks = []
        while True:
            remaining = give_up_at - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(0.0, remaining))
            if not ready:
                pytest.fail(f"The forked child sent no report within {CHILD_TIMEOUT:g} s.")
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        while True:
            waited_pid, status = os.waitpid(pid, os.WNOHANG)
            if waited_pid == pid:
                break
            if time.monotonic() > give_up_at:
                pytest.fail(f"The forked child did not exit within {CHILD_TIMEOUT:g} s.")
            time.sleep(0.01)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_fd)
    report: dict[str, object] = json.loads(b"".join(chunks) or b"{}")
    return report, os.waitstatus_to_exitcode(status)


def test_fork_child_uses_blocking_client(mirako_client: Mirako, mirako_emulator: Emulator) -> None:
    expected_count = len(mirako_emulator.avatars())
    mirako_client.avatars.list()
    assert mirako_emulator.stats.connections == 1

    report, exit_code = _fork_and_list(lambda: len(mirako_client.avatars.list()))
    parent_avatars = mirako_client.avatars.list()

    assert report == {"ok": True, "count": expected_count}
    assert exit_code == 0
    assert len(parent_avatars) == expected_count
    # The child opened one connection of its own, and the parent went on
    # with its pooled connection, which the child neither used nor closed.
    assert mirako_emulator.stats.connections == 2
    assert mirako_emulator.stats.by_route["list"] == 3


async def test_fork_child_uses_async_client(mirako_emulator: Emulator) -> None:
    expected_count = len(mirako_emulator.avatars())
    client = AsyncMirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)

    async def count_avatars() -> int:
        return len(await client.avatars.list())

    async with client:
        await count_avatars()
        # The fork happens while this loop runs and keeps a pooled connection,
        # and the child runs a loop of its own.
        report, exit_code = _fork_and_list(lambda: asyncio.run(count_avatars()))
        parent_count = await count_avatars()

    assert report == {"ok": True, "count": expected_count}
    assert exit_code == 0
    assert parent_count == expected_count
    assert mirako_emulator.stats.connections == 2
    assert mirako_emulator.stats.by_route["list"] == 3
