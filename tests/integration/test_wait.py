"""``wait_until_ready`` against avatars whose status the emulator moves on a schedule."""

from __future__ import annotations

import asyncio
import time

import pytest

from mirako_async import AsyncMirako, AvatarBuildError, AvatarStatus, NotFoundError, WaitTimeoutError
from mirako_async.testing import Emulator, Latency
from tests.integration._support import AvatarsApi, wait_for


async def test_wait_returns_ready_avatar(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    added = mirako_emulator.add_avatar(status="PENDING")
    mirako_emulator.schedule_build(added["id"], [("PENDING", 0.2), ("BUILDING", 0.3), ("READY", None)])
    started = time.monotonic()

    avatar = await avatars.wait_until_ready(added["id"], timeout=10, poll_interval=0.05)

    elapsed = time.monotonic() - started
    assert avatar.id == added["id"]
    assert avatar.status == AvatarStatus.READY
    assert elapsed >= 0.5, "READY comes 0.5 s after the schedule starts"
    assert elapsed < 3.0
    assert mirako_emulator.stats.by_route["get"] >= 3, "it polled through PENDING and BUILDING"


async def test_wait_raises_build_error_on_error_status(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    added = mirako_emulator.add_avatar(status="BUILDING")
    mirako_emulator.schedule_build(added["id"], [("BUILDING", 0.2), ("ERROR", None)])

    with pytest.raises(AvatarBuildError) as caught:
        await avatars.wait_until_ready(added["id"], timeout=10, poll_interval=0.05)

    assert caught.value.avatar.id == added["id"]
    assert caught.value.avatar.status == AvatarStatus.ERROR
    assert added["id"] in str(caught.value)


async def test_wait_raises_timeout_when_never_ready(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    added = mirako_emulator.add_avatar(status="BUILDING")
    started = time.monotonic()

    with pytest.raises(WaitTimeoutError) as caught:
        await avatars.wait_until_ready(added["id"], timeout=0.3, poll_interval=0.05)

    elapsed = time.monotonic() - started
    error = caught.value
    assert error.timeout == 0.3
    assert error.avatar is not None
    assert error.avatar.status == AvatarStatus.BUILDING
    assert "0.3 s" in str(error)
    assert 0.3 <= elapsed < 1.5


async def test_wait_timeout_cuts_slow_poll(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    added = mirako_emulator.add_avatar(status="BUILDING")
    mirako_emulator.inject(Latency(5), "get")
    started = time.monotonic()

    with pytest.raises(WaitTimeoutError) as caught:
        await avatars.wait_until_ready(added["id"], timeout=0.3, poll_interval=0.05)

    assert caught.value.avatar is None, "no poll finished"
    assert time.monotonic() - started < 1.5


async def test_wait_for_unknown_id_raises_not_found(avatars: AvatarsApi) -> None:
    with pytest.raises(NotFoundError):
        await avatars.wait_until_ready("no-such-avatar", timeout=5, poll_interval=0.05)


@pytest.mark.parametrize("moment", ["between-polls", "during-poll"])
async def test_cancelling_wait_stops_polling(
    mirako_async_client: AsyncMirako, mirako_emulator: Emulator, moment: str
) -> None:
    added = mirako_emulator.add_avatar(status="BUILDING")
    if moment == "during-poll":
        mirako_emulator.inject(Latency(5), "get")
    waiting = asyncio.create_task(
        mirako_async_client.avatars.wait_until_ready(added["id"], timeout=60, poll_interval=5)
    )
    await wait_for(lambda: mirako_emulator.stats.by_route["get"] == 1, description="the first poll")
    await asyncio.sleep(0.05)
    started = time.monotonic()

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert time.monotonic() - started < 0.5
    await asyncio.sleep(0.3)
    assert mirako_emulator.stats.by_route["get"] == 1, "no poll after the cancellation"
