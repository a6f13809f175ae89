"""Bulk calls against the emulator: order, outcomes per id, progress, bounds, throttling and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections import Counter
from types import FrameType

import pytest

from mirako_async import AsyncMirako, Avatar, Mirako, MirakoError, NotFoundError
from mirako_async.testing import Emulator, Latency
from tests.integration._support import (
    AvatarsApi,
    blocking_client_loop,
    bulk_task_names,
    settled_bulk_task_names,
    wait_for,
)

MISSING = "no-such-avatar"

Pair = tuple[str, Avatar | MirakoError]


def outcome_ids(outcomes: list[Avatar | MirakoError]) -> list[str]:
    """Describe each outcome by the avatar id, or by ``!`` and the error class."""
    return [outcome.id if isinstance(outcome, Avatar) else f"!{type(outcome).__name__}" for outcome in outcomes]


async def test_get_many_keeps_input_order(avatars: AvatarsApi, seed_ids: dict[str, str]) -> None:
    a, b, c = list(seed_ids.values())[:3]
    ids = [a, MISSING, b, a, c, MISSING + "-2", a]

    outcomes = await avatars.get_many(iter(ids), concurrency=3)

    assert outcome_ids(outcomes) == [a, "!NotFoundError", b, a, c, "!NotFoundError", a]
    first_missing, second_missing = (outcome for outcome in outcomes if isinstance(outcome, NotFoundError))
    assert first_missing.detail == f"Avatar {MISSING} was not found."
    assert second_missing.detail == f"Avatar {MISSING}-2 was not found."


async def test_iter_many_yields_each_id_once(avatars: AvatarsApi, seed_ids: dict[str, str]) -> None:
    known = list(seed_ids.values())
    ids = [*known, *known[:2], MISSING]

    pairs = await avatars.iter_many(ids, concurrency=4)

    assert Counter(avatar_id for avatar_id, _ in pairs) == Counter(ids)
    for avatar_id, outcome in pairs:
        if avatar_id == MISSING:
            assert isinstance(outcome, NotFoundError)
        else:
            assert isinstance(outcome, Avatar)
            assert outcome.id == avatar_id


async def test_delete_many_reports_each_id(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    a, b = list(seed_ids.values())[:2]

    outcomes = await avatars.delete_many([a, MISSING, b, a], concurrency=1)

    assert outcomes[0] is None
    assert isinstance(outcomes[1], NotFoundError)
    assert outcomes[2] is None
    assert isinstance(outcomes[3], NotFoundError), "the second delete of an id finds nothing"
    remaining = {avatar["id"] for avatar in mirako_emulator.avatars()}
    assert a not in remaining
    assert b not in remaining
    assert len(remaining) == len(seed_ids) - 2
    assert mirako_emulator.stats.by_route["delete"] == 4


async def test_empty_id_list_sends_nothing(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    calls: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        calls.append((done, total))

    fetched = await avatars.get_many([], on_progress=record)
    streamed = await avatars.iter_many([])
    deleted = await avatars.delete_many([], on_progress=record)

    assert fetched == []
    assert streamed == []
    assert deleted == []
    assert calls == []
    assert mirako_emulator.stats.requests == 0


@pytest.mark.parametrize("call", ["get_many", "delete_many"])
async def test_progress_counts_up_to_total(avatars: AvatarsApi, seed_ids: dict[str, str], call: str) -> None:
    ids = [*seed_ids.values(), MISSING]
    calls: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        calls.append((done, total))

    if call == "get_many":
        await avatars.get_many(ids, concurrency=3, on_progress=record)
    else:
        await avatars.delete_many(ids, concurrency=3, on_progress=record)

    assert calls == [(done, len(ids)) for done in range(1, len(ids) + 1)]


@pytest.mark.parametrize("bad_id", ["", ".", "..", "list"])
@pytest.mark.parametrize("call", ["get_many", "iter_many", "delete_many"])
async def test_invalid_id_raises_before_any_request(
    avatars: AvatarsApi,
    mirako_emulator: Emulator,
    seed_ids: dict[str, str],
    call: str,
    bad_id: str,
) -> None:
    ids = [next(iter(seed_ids.values())), bad_id]

    with pytest.raises(ValueError, match=r"avatar_ids\[1\]"):
        if call == "get_many":
            await avatars.get_many(ids)
        elif call == "iter_many":
            await avatars.iter_many(ids)
        else:
            await avatars.delete_many(ids)

    assert mirako_emulator.stats.requests == 0
    assert len(mirako_emulator.avatars()) == len(seed_ids)


async def test_concurrency_bounds_requests_in_flight(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = list(seed_ids.values()) * 5
    mirako_emulator.inject(Latency(0.05), "get")

    outcomes = await avatars.get_many(ids, concurrency=5)

    max_in_flight = mirako_emulator.stats.max_in_flight
    assert all(isinstance(outcome, Avatar) for outcome in outcomes)
    assert max_in_flight <= 5
    assert max_in_flight > 1, "the requests ran concurrently"


async def test_many_ids_keep_task_count_bounded(avatars: AvatarsApi, seed_ids: dict[str, str]) -> None:
    concurrency = 8
    ids = list(seed_ids.values()) * 334  # 2,004 ids
    task_counts: list[int] = []

    def count_tasks(done: int, total: int) -> None:
        task_counts.append(len(asyncio.all_tasks()))

    outcomes = await avatars.get_many(ids, concurrency=concurrency, on_progress=count_tasks)

    assert len(outcomes) == len(ids)
    assert all(isinstance(outcome, Avatar) for outcome in outcomes)
    assert len(task_counts) == len(ids)
    # The workers, plus the task that runs the call: the test's own task on the async client, or
    # the task of run_coroutine_threadsafe on the blocking one. One more is headroom.
    assert max(task_counts) <= concurrency + 2, f"up to {max(task_counts)} tasks at once"


@pytest.mark.slow
async def test_throttled_bulk_call_adapts(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = [list(seed_ids.values())[index % len(seed_ids)] for index in range(200)]
    mirako_emulator.rate_limit(rate=50, burst=10)
    started = time.monotonic()

    outcomes = await avatars.get_many(ids, concurrency=32)

    elapsed = time.monotonic() - started
    stats = mirako_emulator.stats
    share = stats.throttled / stats.requests
    failed = [outcome for outcome in outcomes if not isinstance(outcome, Avatar)]
    print(
        f"{avatars.kind}: {stats.throttled} of {stats.requests} requests got 429 ({share:.0%}); "
        f"{len(failed)} ids failed; {elapsed:.1f} s"
    )
    assert failed == []
    assert share < 0.25


@pytest.mark.slow
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason=(
        "After a 429 the limiter cuts concurrency and pauses for Retry-After, but with fast "
        "responses even one request at a time exceeds 50 per second, so every pause ends in a "
        "new 429 and another 1 s pause: the call runs at about 10 requests per second."
    ),
)
async def test_throttled_bulk_call_keeps_near_server_rate(
    mirako_async_client: AsyncMirako, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    rate = 50
    ids = [list(seed_ids.values())[index % len(seed_ids)] for index in range(100)]
    mirako_emulator.rate_limit(rate=rate, burst=10)
    started = time.monotonic()

    outcomes = await mirako_async_client.avatars.get_many(ids, concurrency=32)

    elapsed = time.monotonic() - started

    achieved = len(ids) / elapsed
    print(f"{achieved:.1f} requests per second of {rate} allowed; {elapsed:.1f} s")
    assert all(isinstance(outcome, Avatar) for outcome in outcomes)
    assert achieved >= rate / 2, f"{achieved:.1f} requests per second"


async def test_progress_error_cancels_remaining_work(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = list(seed_ids.values()) * 10
    mirako_emulator.inject(Latency(0.02), "get")
    loops: list[asyncio.AbstractEventLoop] = []

    def fail_on_third(done: int, total: int) -> None:
        loops.append(asyncio.get_running_loop())
        if done == 3:
            raise ValueError("progress display broke")

    with pytest.raises(ValueError, match="progress display broke"):
        await avatars.get_many(ids, concurrency=4, on_progress=fail_on_third)

    assert len(loops) == 3
    assert await bulk_task_names(loops[0]) == []
    # Requests that were on the wire when the callback raised still reach the emulator.
    await asyncio.sleep(0.1)
    await wait_for(lambda: mirako_emulator.stats.in_flight == 0, description="no request in flight")
    sent = mirako_emulator.stats.by_route["get"]
    await asyncio.sleep(0.2)
    assert mirako_emulator.stats.by_route["get"] == sent, "no request was sent after the error"
    assert sent < len(ids), "the remaining ids were not fetched"
    assert len(await avatars.list()) == len(seed_ids), "the client still works"


async def test_cancelling_get_many_cancels_workers(
    mirako_async_client: AsyncMirako, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = list(seed_ids.values()) * 4
    mirako_emulator.inject(Latency(30), "get")
    call = asyncio.create_task(mirako_async_client.avatars.get_many(ids, concurrency=4))
    await wait_for(lambda: mirako_emulator.stats.in_flight == 4, description="4 requests in flight")
    assert len(await bulk_task_names(asyncio.get_running_loop())) == 4
    started = time.monotonic()

    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    assert time.monotonic() - started < 1.0
    assert await bulk_task_names(asyncio.get_running_loop()) == []
    assert mirako_emulator.stats.by_route["get"] == 4
    assert len(await mirako_async_client.avatars.list()) == len(seed_ids), "the client still works"


class Interrupted(Exception):
    """Raised by the SIGINT handler of the test below."""


def test_interrupting_blocking_get_many_cancels_workers(
    mirako_client: Mirako, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run only in the main thread")
    ids = list(seed_ids.values())
    client_loop = blocking_client_loop(mirako_client, ids[0])

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Stands in for KeyboardInterrupt, which would also stop pytest if it escaped.
        raise Interrupted

    mirako_emulator.inject(Latency(30), "get")
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    previous_handler = signal.signal(signal.SIGINT, interrupt)
    try:
        timer.start()
        started = time.monotonic()
        with pytest.raises(Interrupted):
            mirako_client.avatars.get_many(ids * 4, concurrency=4)
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous_handler)

    assert elapsed < 1.0
    assert settled_bulk_task_names(client_loop) == []
    mirako_emulator.clear_faults()
    assert len(mirako_client.avatars.list()) == len(ids), "the client still works"


async def test_breaking_out_of_async_iter_many_stops_workers(
    mirako_async_client: AsyncMirako, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = list(seed_ids.values())
    # Three of the first four requests hang, so they are still running at the break.
    mirako_emulator.inject(Latency(30), "get", times=3)
    seen: list[Pair] = []

    async for pair in mirako_async_client.avatars.iter_many(ids, concurrency=4):
        seen.append(pair)
        break
    # Python closes an abandoned async generator through the loop's finalizer hook, a moment later.
    await wait_for(lambda: mirako_emulator.stats.by_route["get"] >= 4, description="4 requests sent")
    await asyncio.sleep(0.05)

    ((avatar_id, outcome),) = seen
    assert isinstance(outcome, Avatar)
    assert outcome.id == avatar_id
    assert await bulk_task_names(asyncio.get_running_loop()) == []


async def test_closing_async_iter_many_early_cancels_workers(
    mirako_async_client: AsyncMirako, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = list(seed_ids.values())
    # Three of the first four requests hang, so they are still running at the close.
    mirako_emulator.inject(Latency(30), "get", times=3)
    # iter_many returns an async generator, although its return annotation is only AsyncIterator.
    stream = mirako_async_client.avatars.iter_many(ids, concurrency=4)

    async with contextlib.aclosing(stream):
        avatar_id, outcome = await anext(stream)
        started = time.monotonic()
    elapsed = time.monotonic() - started

    assert isinstance(outcome, Avatar)
    assert outcome.id == avatar_id
    assert elapsed < 1.0
    assert await bulk_task_names(asyncio.get_running_loop()) == []


def test_closing_blocking_iter_many_early_cancels_workers(
    mirako_client: Mirako, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    ids = list(seed_ids.values())
    client_loop = blocking_client_loop(mirako_client, ids[0])
    # Three of the first four requests hang, so they are still running at the close.
    mirako_emulator.inject(Latency(30), "get", times=3)
    # iter_many returns a generator, although its return annotation is only Iterator.
    stream = mirako_client.avatars.iter_many(ids, concurrency=4)

    avatar_id, outcome = next(stream)
    started = time.monotonic()
    stream.close()
    elapsed = time.monotonic() - started

    assert isinstance(outcome, Avatar)
    assert outcome.id == avatar_id
    assert elapsed < 1.0
    assert settled_bulk_task_names(client_loop) == []
