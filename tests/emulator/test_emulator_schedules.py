"""Fault rules by count, probability and duration, and avatar build schedules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from mirako_async.testing import Emulator, Latency, Status
from mirako_async.testing._schedule import FaultSchedule

AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def session(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as client:
        yield client


async def status_of(session: aiohttp.ClientSession, method: str, path: str) -> int:
    async with session.request(method, path) as response:
        await response.read()
        return response.status


async def statuses(session: aiohttp.ClientSession, count: int, path: str = "/v1/avatar/list") -> list[int]:
    return [await status_of(session, "GET", path) for _ in range(count)]


async def test_times_limits_firings(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(Status(503), "list", times=3)

    assert await statuses(session, 5) == [503, 503, 503, 200, 200]
    assert handle.fired == 3
    assert not handle.active
    assert emu.faults == []


async def test_route_filter(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(Status(500), "get", times=1)

    assert await status_of(session, "GET", "/v1/avatar/list") == 200
    assert await status_of(session, "DELETE", "/v1/avatar/missing") == 404
    assert await status_of(session, "GET", "/v1/avatar/missing") == 500
    assert handle.fired == 1


async def test_star_covers_api_routes(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(Status(418), "*")

    assert await status_of(session, "GET", "/v1/avatar/list") == 418
    assert await status_of(session, "GET", "/v1/avatar/x") == 418
    assert await status_of(session, "DELETE", "/v1/avatar/x") == 418
    assert await status_of(session, "GET", "/elsewhere") == 418
    assert handle.fired == 4


async def test_probability_is_seeded(session: aiohttp.ClientSession) -> None:
    async def pattern(seed: int) -> list[int]:
        async with (
            Emulator(seed=seed) as emu,
            aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as client,
        ):
            handle = emu.inject(Status(500), "list", probability=0.5)
            result = await statuses(client, 40)
            assert handle.fired == result.count(500)
            return result

    first = await pattern(3)
    second = await pattern(3)

    assert first == second
    assert 8 <= first.count(500) <= 32


def test_probability_rate_roughly_right() -> None:
    schedule = FaultSchedule(seed=11)
    handle = schedule.add(Status(500), "list", probability=0.1)

    hits = sum(schedule.pick("list") is not None for _ in range(10_000))

    assert 850 <= hits <= 1150
    assert handle.fired == hits


async def test_duration_window(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(Status(503), "list", duration=0.3)

    assert await statuses(session, 3) == [503, 503, 503]
    await asyncio.sleep(0.35)
    assert await statuses(session, 2) == [200, 200]
    assert handle.fired == 3
    assert not handle.active


async def test_times_and_duration(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(Status(503), "list", times=2, duration=5.0)

    assert await statuses(session, 3) == [503, 503, 200]
    assert handle.fired == 2


async def test_times_with_probability(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(Status(503), "list", times=2, probability=0.5)

    result = await statuses(session, 40)

    assert result.count(503) == 2
    assert handle.fired == 2


async def test_oldest_rule_first(emu: Emulator, session: aiohttp.ClientSession) -> None:
    first = emu.inject(Status(501), "list", times=1)
    second = emu.inject(Status(502), "*", times=1)

    assert await statuses(session, 3) == [501, 502, 200]
    assert (first.fired, second.fired) == (1, 1)


async def test_one_fault_per_request(emu: Emulator, session: aiohttp.ClientSession) -> None:
    latency = emu.inject(Latency(0.01), "list")
    status = emu.inject(Status(500), "list")

    assert await statuses(session, 2) == [200, 200]
    assert (latency.fired, status.fired) == (2, 0)


async def test_cancel_and_clear(emu: Emulator, session: aiohttp.ClientSession) -> None:
    first = emu.inject(Status(500), "list")
    second = emu.inject(Status(503), "get")

    first.cancel()
    assert await status_of(session, "GET", "/v1/avatar/list") == 200
    assert emu.faults == [second]

    emu.clear_faults()
    assert await status_of(session, "GET", "/v1/avatar/x") == 404
    assert not second.active
    assert emu.faults == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"route": "avatars"}, "route"),
        ({"times": 0}, "times"),
        ({"probability": 0.0}, "probability"),
        ({"probability": 1.5}, "probability"),
        ({"duration": -1.0}, "duration"),
    ],
)
async def test_inject_validation(emu: Emulator, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        emu.inject(Status(500), **kwargs)  # type: ignore[arg-type]


async def test_handle_repr(emu: Emulator) -> None:
    handle = emu.inject(Status(500), "list", times=1)

    assert "fired=0" in repr(handle)
    assert "active=True" in repr(handle)


async def current_status(session: aiohttp.ClientSession, avatar_id: str) -> str:
    async with session.get(f"/v1/avatar/{avatar_id}") as response:
        status: str = json.loads(await response.read())["data"]["status"]
        return status


async def test_build_schedule(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.add_avatar(name="Fresh", status="PENDING")["id"]

    emu.schedule_build(avatar_id, [("PENDING", 0.2), ("BUILDING", 0.2), ("READY", None)])

    assert await current_status(session, avatar_id) == "PENDING"
    await asyncio.sleep(0.25)
    assert await current_status(session, avatar_id) == "BUILDING"
    await asyncio.sleep(0.2)
    assert await current_status(session, avatar_id) == "READY"
    async with session.get("/v1/avatar/list") as response:
        listed = json.loads(await response.read())["data"]
    assert [a["status"] for a in listed if a["id"] == avatar_id] == ["READY"]


async def test_build_ends_in_error(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.avatars()[0]["id"]

    emu.schedule_build(avatar_id, [("BUILDING", 0.1), ("ERROR", None)])
    await asyncio.sleep(0.15)

    assert await current_status(session, avatar_id) == "ERROR"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least one"),
        ([("READY", 1.0)], "final"),
        ([("PENDING", None), ("READY", None)], "step 0"),
        ([("PENDING", -1.0), ("READY", None)], "step 0"),
        ([("", None)], "status"),
    ],
)
async def test_build_schedule_validation(emu: Emulator, steps: list[tuple[str, float | None]], message: str) -> None:
    avatar_id = emu.avatars()[0]["id"]

    with pytest.raises(ValueError, match=message):
        emu.schedule_build(avatar_id, steps)


async def test_build_schedule_unknown_avatar(emu: Emulator) -> None:
    with pytest.raises(KeyError, match="nobody"):
        emu.schedule_build("nobody", [("READY", None)])
