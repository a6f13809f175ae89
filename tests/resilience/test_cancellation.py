"""Stopping a call midway: cancelling an async call, Ctrl-C in a blocking call, and self-deadlock.

The Ctrl-C test runs the blocking client in a child process, so the
SIGINT cannot reach pytest. It compares ``time.monotonic()`` across the
two processes, which works on Linux, where that clock is system-wide.
"""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import IO, TypeVar

import pytest

from mirako_async import AsyncMirako, Avatar, Mirako, MirakoError, RetryPolicy
from mirako_async.testing import Emulator, RetryAfter, Stall

from ._support import CHILD_TIMEOUT, child_environment, wait_until, wait_until_blocking

T = TypeVar("T")

# Far longer than any call here needs, so reaching it means the call hung.
HANG_TIMEOUT = 20.0
# Maximum time from SIGINT to KeyboardInterrupt in the caller. The blocked
# caller wakes every 50 ms and then gives the cancelled call up to 0.3 s to
# release its connection (_WAIT_SLICE and _CANCEL_GRACE in _loop_thread.py).
INTERRUPT_BOUND = 0.5


@pytest.fixture
async def single_connection_client(
    mirako_emulator: Emulator,
) -> AsyncIterator[AsyncMirako]:
    """Yield an ``AsyncMirako`` that allows one request in flight at a time."""
    client = AsyncMirako(
        mirako_emulator.api_key,
        base_url=mirako_emulator.base_url,
        max_connections=1,
        retry=RetryPolicy(max_retries=2, initial_backoff=0.01),
        trust_env=False,
    )
    async with client:
        yield client


async def test_cancel_frees_stalled_connection(
    single_connection_client: AsyncMirako, mirako_emulator: Emulator
) -> None:
    client = single_connection_client
    mirako_emulator.inject(Stall(), "list", times=1)
    call = asyncio.create_task(client.avatars.list())
    await wait_until(
        lambda: mirako_emulator.stats.in_flight == 1,
        message="the stalled request reached the emulator",
    )

    started = time.monotonic()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    cancel_seconds = time.monotonic() - started

    assert cancel_seconds < 1.0
    await wait_until(
        lambda: mirako_emulator.stats.in_flight == 0,
        timeout=5.0,
        message="the emulator saw the stalled connection close",
    )
    avatars = await asyncio.wait_for(client.avatars.list(), HANG_TIMEOUT)
    assert len(avatars) == len(mirako_emulator.avatars())
    # The stalled connection was closed, not put back into the pool.
    assert mirako_emulator.stats.connections == 2


async def test_cancel_stops_retry_wait(single_connection_client: AsyncMirako, mirako_emulator: Emulator) -> None:
    client = single_connection_client
    mirako_emulator.inject(RetryAfter(503, seconds=30), "list", times=1)
    call = asyncio.create_task(client.avatars.list())
    await wait_until(
        lambda: mirako_emulator.stats.statuses.get(503) == 1,
        message="the first attempt got its 503",
    )

    started = time.monotonic()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    cancel_seconds = time.monotonic() - started

    assert cancel_seconds < 1.0
    avatars = await asyncio.wait_for(client.avatars.list(), HANG_TIMEOUT)
    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 2


CTRL_C_SCRIPT = """
    import json
    import sys
    import time

    from mirako_async import Mirako

    client = Mirako(base_url=sys.argv[1], max_connections=1, trust_env=False)
    try:
        client.avatars.list()
    except KeyboardInterrupt:
        print(json.dumps({"interrupted_at": time.monotonic()}), flush=True)
    else:
        print(json.dumps({"interrupted_at": None}), flush=True)
        sys.exit(1)

    # Wait until the parent has checked the emulator, then call again.
    sys.stdin.readline()
    print(len(client.avatars.list()), flush=True)
    client.close()
"""


def _read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")
def test_ctrl_c_interrupts_blocking_call_promptly(mirako_emulator: Emulator) -> None:
    mirako_emulator.inject(Stall(), "list", times=1)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CTRL_C_SCRIPT), mirako_emulator.base_url],
        env=child_environment(MIRAKO_API_KEY=mirako_emulator.api_key),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert child.stdout is not None
    assert child.stdin is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(child.stdout, lines), daemon=True).start()
    try:
        wait_until_blocking(
            lambda: mirako_emulator.stats.in_flight == 1,
            timeout=CHILD_TIMEOUT,
            message="the child's request reached the emulator",
        )
        time.sleep(0.5)

        signalled_at = time.monotonic()
        child.send_signal(signal.SIGINT)
        report = json.loads(lines.get(timeout=CHILD_TIMEOUT))

        assert report["interrupted_at"] is not None
        assert report["interrupted_at"] - signalled_at < INTERRUPT_BOUND
        # A Stall without seconds ends only when the client closes the connection.
        wait_until_blocking(
            lambda: mirako_emulator.stats.in_flight == 0,
            timeout=5.0,
            message="the emulator saw the interrupted connection close",
        )
        child.stdin.write("\n")
        child.stdin.flush()
        assert lines.get(timeout=CHILD_TIMEOUT) == f"{len(mirako_emulator.avatars())}\n"
        assert child.wait(timeout=CHILD_TIMEOUT) == 0
        assert child.stderr is not None
        assert child.stderr.read() == ""
        assert mirako_emulator.stats.connections == 2
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()


def _call_in_daemon_thread(function: Callable[[], T], timeout: float) -> T:
    """Run ``function`` on a daemon thread, and fail the test if it does not return in time.

    A daemon thread lets the test fail on a deadlock instead of hanging
    pytest, because nothing waits for the stuck thread at exit.
    """
    outcome: queue.Queue[tuple[bool, object]] = queue.Queue()

    def target() -> None:
        try:
            outcome.put((True, function()))
        except BaseException as exc:
            outcome.put((False, exc))

    threading.Thread(target=target, daemon=True).start()
    try:
        succeeded, value = outcome.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"The call did not return within {timeout:g} s: it deadlocked.")
    if not succeeded:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def test_blocking_call_on_loop_thread_raises(mirako_client: Mirako, mirako_emulator: Emulator) -> None:
    avatar_ids = [avatar["id"] for avatar in mirako_emulator.avatars()[:2]]
    errors: list[BaseException] = []

    def on_progress(done: int, total: int) -> None:
        # get_many calls this on the client's loop thread.
        try:
            mirako_client.avatars.list()
        except RuntimeError as exc:
            errors.append(exc)

    def fetch() -> list[Avatar | MirakoError]:
        return mirako_client.avatars.get_many(avatar_ids, on_progress=on_progress)

    results = _call_in_daemon_thread(fetch, HANG_TIMEOUT)

    assert [result.id for result in results if isinstance(result, Avatar)] == avatar_ids
    assert len(errors) == 2
    assert all(type(error) is RuntimeError for error in errors)
    assert "would wait forever" in str(errors[0])
    assert mirako_emulator.stats.by_route["list"] == 0
    assert len(mirako_client.avatars.list()) == len(mirako_emulator.avatars())
