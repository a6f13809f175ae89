"""``deadline=`` bounds a whole call, ``timeout=`` bounds each attempt, and ``with_options`` shares the pool."""

from __future__ import annotations

import time

import pytest

from mirako_async import APIError, APITimeoutError, InternalServerError, RetryPolicy
from mirako_async.testing import Emulator, Latency, RetryAfter, Stall, Status

from .conftest import ClientFactory

# Extra time allowed past a bound: the last attempt's teardown and a loaded machine.
SLACK = 2.0


async def test_deadline_bounds_retries_and_backoff(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    policy = RetryPolicy(max_retries=100, initial_backoff=0.2, max_backoff=0.2)
    client = make_client(retry=policy, deadline=1.0)
    mirako_emulator.inject(Status(503), "list")

    started = time.monotonic()
    with pytest.raises(APIError) as caught:
        await client.list()
    elapsed = time.monotonic() - started

    assert isinstance(caught.value, InternalServerError | APITimeoutError)
    assert caught.value.attempts > 1
    assert elapsed < 1.0 + SLACK
    # The deadline may cut the last attempt before it reaches the server.
    assert caught.value.attempts - 1 <= mirako_emulator.stats.by_route["list"] <= caught.value.attempts


async def test_deadline_cuts_stalled_attempt(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=30.0, deadline=1.0)
    mirako_emulator.inject(Stall(), "list")

    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        await client.list()
    elapsed = time.monotonic() - started

    assert "deadline" in str(caught.value)
    assert caught.value.attempts == 1
    assert elapsed >= 0.9
    assert elapsed < 1.0 + SLACK


async def test_deadline_from_with_options(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=30.0).with_options(deadline=0.5)
    mirako_emulator.inject(Stall(), "list")

    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await client.list()
    elapsed = time.monotonic() - started

    assert elapsed >= 0.4
    assert elapsed < 0.5 + SLACK


async def test_deadline_bounds_bulk_limiter_pause(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    deadline = 0.2
    client = make_client(deadline=deadline)
    avatar_ids = [avatar["id"] for avatar in mirako_emulator.avatars()[:2]]
    mirako_emulator.inject(RetryAfter(503, seconds=4), "get", times=1)

    started = time.monotonic()
    results = await client.get_many(avatar_ids, concurrency=1)
    elapsed = time.monotonic() - started

    # A 4 s Retry-After cannot fit in the deadline, so the first item fails at
    # once, and the second runs out of time in the pause that the 503 started.
    assert isinstance(results[0], InternalServerError)
    assert isinstance(results[1], APITimeoutError)
    assert elapsed < len(avatar_ids) * deadline + SLACK


async def test_timeout_bounds_each_attempt(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=0.3)
    mirako_emulator.inject(Stall(), "list")

    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        await client.list()
    elapsed = time.monotonic() - started

    assert caught.value.attempts == 3
    assert elapsed >= 3 * 0.3 - 0.05
    assert elapsed < 3 * 0.3 + SLACK
    assert mirako_emulator.stats.by_route["list"] == 3


async def test_call_timeout_overrides_client_timeout(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=30.0)
    mirako_emulator.inject(Stall(), "list", times=1)

    started = time.monotonic()
    avatars = await client.list(timeout=0.3)
    elapsed = time.monotonic() - started

    assert len(avatars) == len(mirako_emulator.avatars())
    assert elapsed >= 0.25
    assert elapsed < 0.3 + SLACK
    assert mirako_emulator.stats.by_route["list"] == 2


async def test_call_timeout_extends_client_timeout(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=0.3)
    mirako_emulator.inject(Latency(1.0), "list", times=1)

    avatars = await client.list(timeout=10.0)

    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 1


async def test_call_timeout_bounds_get_and_delete(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=30.0, retry=RetryPolicy(max_retries=0))
    avatar_id = mirako_emulator.avatars()[0]["id"]
    mirako_emulator.inject(Latency(5.0), "get", times=1)
    mirako_emulator.inject(Latency(5.0), "delete", times=1)

    with pytest.raises(APITimeoutError):
        await client.get(avatar_id, timeout=0.3)
    with pytest.raises(APITimeoutError):
        await client.delete(avatar_id, timeout=0.3)

    assert mirako_emulator.stats.by_route["get"] == 1
    assert mirako_emulator.stats.by_route["delete"] == 1


async def test_with_options_shares_connection_pool(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    copy = client.with_options(timeout=5.0, max_retries=0)
    await client.list()

    for _ in range(5):
        await copy.list()
        await client.list()

    assert mirako_emulator.stats.by_route["list"] == 11
    assert mirako_emulator.stats.connections == 1


async def test_with_options_copy_keeps_policy(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    copy = client.with_options(max_retries=0)
    mirako_emulator.inject(Status(503), "list", times=1)

    with pytest.raises(InternalServerError) as caught:
        await copy.list()
    mirako_emulator.inject(Status(503), "list", times=1)
    avatars = await client.list()

    assert caught.value.attempts == 1
    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 3
    assert mirako_emulator.stats.connections == 1
