"""The blocking client from a plain script, from inside a running event loop and from many threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from mirako_async import Mirako
from mirako_async.testing import Emulator

from ._support import child_environment, run_python

THREADS = 8
CALLS_PER_THREAD = 5

PLAIN_SCRIPT = """
    import sys

    from mirako_async import Mirako

    with Mirako(base_url=sys.argv[1], trust_env=False) as client:
        avatars = client.avatars.list()
        first = client.avatars.get(avatars[0].id)
        print(len(avatars), first.id == avatars[0].id)
"""


def test_blocking_client_in_plain_script(mirako_emulator: Emulator) -> None:
    env = child_environment(MIRAKO_API_KEY=mirako_emulator.api_key)

    completed = run_python(PLAIN_SCRIPT, mirako_emulator.base_url, env=env)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"{len(mirako_emulator.avatars())} True\n"
    assert completed.stderr == ""


async def test_blocking_client_inside_running_loop(mirako_client: Mirako, mirako_emulator: Emulator) -> None:
    expected_count = len(mirako_emulator.avatars())
    avatar_id = mirako_emulator.avatars()[0]["id"]

    avatars = mirako_client.avatars.list()
    avatar = mirako_client.avatars.get(avatar_id)
    mirako_client.avatars.delete(avatar_id)

    assert len(avatars) == expected_count
    assert avatar.id == avatar_id
    assert mirako_emulator.avatar(avatar_id) is None


def test_blocking_client_shared_by_threads(mirako_client: Mirako, mirako_emulator: Emulator) -> None:
    # Each request takes 50 ms, so calls from different threads overlap.
    mirako_emulator.latency = 0.05
    expected_ids = [avatar["id"] for avatar in mirako_emulator.avatars()]
    start_together = threading.Barrier(THREADS)

    def work(thread_index: int) -> list[str]:
        start_together.wait(timeout=10)
        seen = []
        for call_index in range(CALLS_PER_THREAD):
            avatar_id = expected_ids[(thread_index + call_index) % len(expected_ids)]
            seen.append(mirako_client.avatars.get(avatar_id).id)
        seen.extend(avatar.id for avatar in mirako_client.avatars.list())
        return seen

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))

    for thread_index, seen in enumerate(results):
        expected_gets = [
            expected_ids[(thread_index + call_index) % len(expected_ids)] for call_index in range(CALLS_PER_THREAD)
        ]
        assert seen == expected_gets + expected_ids
    stats = mirako_emulator.stats
    assert stats.by_route["get"] == THREADS * CALLS_PER_THREAD
    assert stats.by_route["list"] == THREADS
    assert stats.max_in_flight >= 2
    assert stats.connections <= THREADS
