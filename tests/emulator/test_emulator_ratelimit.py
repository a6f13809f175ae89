"""The token bucket and its 429 responses with an honest Retry-After."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from mirako_async.testing import Emulator
from mirako_async.testing._ratelimit import TokenBucket

AUTH = {"Authorization": "Bearer test-key"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_starts_full() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, clock=FakeClock())

    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(1.0)


def test_bucket_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, burst=2, clock=clock)
    bucket.acquire()
    bucket.acquire()

    assert bucket.acquire() == pytest.approx(0.25)
    clock.now += 0.1
    assert bucket.acquire() == pytest.approx(0.15)
    clock.now += 0.15
    assert bucket.acquire() == 0.0


def test_bucket_caps_at_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, burst=2, clock=clock)
    clock.now += 60

    assert [bucket.acquire() for _ in range(3)][:2] == [0.0, 0.0]
    assert bucket.acquire() > 0


def test_waiting_reported_time_succeeds() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0.4, burst=1, clock=clock)
    bucket.acquire()

    wait = bucket.acquire()
    header = TokenBucket.retry_after_header(wait)
    clock.now += int(header)

    assert wait == pytest.approx(2.5)
    assert header == "3"
    assert bucket.acquire() == 0.0


@pytest.mark.parametrize(
    ("wait", "header"),
    [(0.001, "1"), (0.999, "1"), (1.0, "1"), (1.0001, "2"), (2.5, "3")],
)
def test_retry_after_rounds_up(wait: float, header: str) -> None:
    assert TokenBucket.retry_after_header(wait) == header


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("inf"), 1), (1.0, 0)])
def test_bucket_validation(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="Invalid"):
        TokenBucket(rate, burst)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def session(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as client:
        yield client


async def test_limit_sends_429(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.rate_limit(rate=4.0, burst=2)
    results = []
    for path in ("/v1/avatar/list", "/v1/avatar/x", "/v1/avatar/list"):
        async with session.get(path) as response:
            results.append(
                (
                    response.status,
                    response.headers.get("Retry-After"),
                    await response.read(),
                )
            )

    assert [status for status, _, _ in results] == [200, 404, 429]
    _, retry_after, body = results[2]
    assert retry_after == "1"
    problem = json.loads(body)
    assert problem["status"] == 429
    assert problem["title"] == "Too Many Requests"
    assert emu.stats.throttled == 1
    assert emu.stats.statuses == {200: 1, 404: 1, 429: 1}


async def test_retry_after_is_honest(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.rate_limit(rate=2.0, burst=1)
    async with session.get("/v1/avatar/list") as response:
        assert response.status == 200

    async with session.get("/v1/avatar/list") as response:
        assert response.status == 429
        retry_after = int(response.headers["Retry-After"])

    await asyncio.sleep(retry_after)
    async with session.get("/v1/avatar/list") as response:
        assert response.status == 200


async def test_long_wait_rounded_up(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.rate_limit(rate=0.4, burst=1)
    async with session.get("/v1/avatar/list") as response:
        assert response.status == 200

    async with session.get("/v1/avatar/list") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "3"


async def test_limit_off(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.rate_limit(rate=1.0, burst=1)
    emu.rate_limit(None)

    for _ in range(5):
        async with session.get("/v1/avatar/list") as response:
            assert response.status == 200
    assert emu.stats.throttled == 0


async def test_limit_before_auth(emu: Emulator) -> None:
    emu.rate_limit(rate=1.0, burst=1)
    async with aiohttp.ClientSession(base_url=emu.base_url) as session:
        async with session.get("/v1/avatar/list") as response:
            assert response.status == 401
        async with session.get("/v1/avatar/list") as response:
            assert response.status == 429


async def test_default_burst(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.rate_limit(rate=3.0)
    statuses = []
    for _ in range(4):
        async with session.get("/v1/avatar/list") as response:
            statuses.append(response.status)

    assert statuses == [200, 200, 200, 429]
