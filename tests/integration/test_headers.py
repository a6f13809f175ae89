"""Every API request carries the key, the accepted media types and the SDK's User-Agent."""

from __future__ import annotations

import pytest

from mirako_async import NotFoundError, __version__
from mirako_async.testing import Emulator, Status
from tests.integration._support import FAST_RETRY, OpenAvatars


async def test_every_request_carries_standard_headers(
    open_avatars: OpenAvatars, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    avatars = open_avatars(retry=FAST_RETRY)
    ids = list(seed_ids.values())
    # The first list request fails, so its retry is checked too.
    mirako_emulator.inject(Status(503), "list", times=1)

    await avatars.list()
    await avatars.get(ids[0])
    await avatars.get_many(ids[:3], concurrency=2)
    await avatars.iter_many(ids[3:5], concurrency=2)
    await avatars.delete(ids[5])
    await avatars.delete_many([ids[4]])
    with pytest.raises(NotFoundError):
        await avatars.get("no-such-avatar")

    recent = mirako_emulator.stats.recent
    assert len(recent) == 11
    assert mirako_emulator.stats.by_route["list"] == 2
    for request in recent:
        where = f"{request.method} {request.target}"
        assert request.headers.getall("Authorization") == [f"Bearer {mirako_emulator.api_key}"], where
        assert "application/json" in request.headers.get("Accept", ""), where
        assert request.headers.get("User-Agent", "").startswith(f"mirako-async/{__version__} "), where
