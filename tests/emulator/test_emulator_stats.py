"""Request, connection and concurrency counters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from mirako_async.testing import Emulator, Status

AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


async def get(session: aiohttp.ClientSession, path: str) -> int:
    async with session.get(path) as response:
        await response.read()
        return response.status


async def test_counts_per_route(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        await get(session, "/v1/avatar/list")
        await get(session, "/v1/avatar/list")
        await get(session, "/v1/avatar/missing")
        async with session.delete("/v1/avatar/missing") as response:
            await response.read()
        await get(session, "/nowhere")

    assert emu.stats.requests == 5
    assert emu.stats.by_route == {"list": 2, "get": 1, "delete": 1, "other": 1}
    assert emu.stats.statuses == {200: 2, 404: 3}


async def test_keep_alive_one_connection(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        for _ in range(5):
            await get(session, "/v1/avatar/list")

    assert emu.stats.connections == 1


async def test_force_close_many_connections(emu: Emulator) -> None:
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH, connector=connector) as session:
        for _ in range(4):
            await get(session, "/v1/avatar/list")

    assert emu.stats.connections == 4


async def test_storage_connections_apart(emu: Emulator) -> None:
    url = emu.avatars()[0]["themes"][0]["key_image"]
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(URL(url, encoded=True)) as response:
                await response.read()

    assert emu.stats.storage_connections == 1
    assert emu.stats.storage_requests == 3
    assert emu.stats.connections == 0
    assert emu.stats.requests == 0


async def test_max_in_flight(emu: Emulator) -> None:
    emu.latency = 0.2
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        task = asyncio.gather(*(get(session, "/v1/avatar/list") for _ in range(5)))
        await asyncio.sleep(0.1)
        assert emu.stats.in_flight == 5
        await task

    assert emu.stats.max_in_flight == 5
    assert emu.stats.in_flight == 0
    assert emu.stats.connections == 5


async def test_recent_requests(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        async with session.get(URL("/v1/avatar/list?x=%2F", encoded=True)) as response:
            await response.read()
        async with session.delete(URL("/v1/avatar/a%2Fb", encoded=True)) as response:
            await response.read()

    recent = emu.stats.recent
    assert [(entry.method, entry.target, entry.route) for entry in recent] == [
        ("GET", "/v1/avatar/list?x=%2F", "list"),
        ("DELETE", "/v1/avatar/a%2Fb", "delete"),
    ]
    assert recent[0].headers["authorization"] == "Bearer test-key"
    assert recent[0].path == "/v1/avatar/list"


async def test_fault_statuses_counted(emu: Emulator) -> None:
    emu.inject(Status(429), "list", times=2)
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        for _ in range(3):
            await get(session, "/v1/avatar/list")

    assert emu.stats.throttled == 2
    assert emu.stats.statuses == {429: 2, 200: 1}


async def test_reset(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        await get(session, "/v1/avatar/list")
        emu.stats.reset()
        assert emu.stats.requests == 0
        assert emu.stats.connections == 0
        assert emu.stats.recent == []
        assert emu.stats.max_in_flight == 0

        await get(session, "/v1/avatar/list")

    assert emu.stats.requests == 1
    assert emu.stats.by_route["list"] == 1


async def test_as_dict(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        await get(session, "/v1/avatar/list")

    counters = emu.stats.as_dict()

    assert counters["requests"] == 1
    assert counters["statuses"] == {"200": 1}
    assert counters["connections"] == 1
    assert set(counters) >= {"by_route", "throttled", "in_flight", "max_in_flight"}
