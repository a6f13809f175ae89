"""The blocking client works inside a running event loop and from many threads sharing one client."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mirako_async import Avatar, Mirako, NotFoundError
from mirako_async.testing import Emulator, Latency
from tests.integration._support import count_loop_threads

THREADS = 8


def open_blocking_client(emulator: Emulator) -> Mirako:
    return Mirako(api_key=emulator.api_key, base_url=emulator.base_url, trust_env=False)


async def test_blocking_calls_work_inside_running_loop(mirako_emulator: Emulator, seed_ids: dict[str, str]) -> None:
    ids = list(seed_ids.values())
    ticks: list[int] = []
    asyncio.get_running_loop().call_soon(ticks.append, 1)

    with open_blocking_client(mirako_emulator) as client:
        listed = client.avatars.list()
        fetched = client.avatars.get(ids[0])
        many = client.avatars.get_many(ids[:3])
        streamed = list(client.avatars.iter_many(ids[3:]))
        client.avatars.delete(ids[0])
        with pytest.raises(NotFoundError):
            client.avatars.get(ids[0])

    assert [avatar.id for avatar in listed] == ids
    assert fetched.id == ids[0]
    assert [avatar.id for avatar in many if isinstance(avatar, Avatar)] == ids[:3]
    assert sorted(avatar_id for avatar_id, _ in streamed) == sorted(ids[3:])
    assert ticks == [], "the blocking calls ran on the client's own loop, not on this one"
    await asyncio.sleep(0)
    assert ticks == [1], "this loop still runs after the blocking calls"


async def test_blocking_call_from_client_loop_raises(mirako_emulator: Emulator, seed_ids: dict[str, str]) -> None:
    ids = list(seed_ids.values())

    with open_blocking_client(mirako_emulator) as client:

        def list_again(done: int, total: int) -> None:
            # Runs on the client's loop thread, where a blocking call would wait on itself.
            client.avatars.list()

        with pytest.raises(RuntimeError, match="Use AsyncMirako there"):
            client.avatars.get_many(ids[:2], concurrency=1, on_progress=list_again)
        listed = client.avatars.list()

    assert len(listed) == len(ids)


def test_threads_share_one_client_and_pool(mirako_emulator: Emulator, seed_ids: dict[str, str]) -> None:
    ids = list(seed_ids.values())
    # A little latency makes the threads' requests overlap on the server.
    mirako_emulator.inject(Latency(0.02), "get")
    loop_threads_before = count_loop_threads()
    barrier = threading.Barrier(THREADS)

    with open_blocking_client(mirako_emulator) as client:

        def fetch_all(worker: int) -> list[str]:
            barrier.wait(timeout=10)
            order = ids[worker % len(ids) :] + ids[: worker % len(ids)]
            fetched = [client.avatars.get(avatar_id).id for avatar_id in order]
            listed = [avatar.id for avatar in client.avatars.list()]
            return fetched + listed

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(fetch_all, range(THREADS)))
        loop_threads_during = count_loop_threads()

    stats = mirako_emulator.stats
    for worker, result in enumerate(results):
        order = ids[worker % len(ids) :] + ids[: worker % len(ids)]
        assert result == order + ids, f"thread {worker} got the wrong avatars"
    assert stats.by_route["get"] == THREADS * len(ids)
    assert stats.max_in_flight > 1, "the threads' requests overlapped"
    assert stats.connections <= THREADS, f"{stats.connections} connections for {THREADS} threads"
    assert loop_threads_during == loop_threads_before + 1, "one loop thread serves every thread"
    assert count_loop_threads() == loop_threads_before
