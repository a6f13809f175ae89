"""Body size bound and closing a blocking client from its own loop."""

from __future__ import annotations

import pytest

import mirako_async._client
from mirako_async import AsyncMirako, ClientClosedError, Mirako, ResponseValidationError
from mirako_async.testing import Emulator


async def test_oversized_body_is_refused(mirako_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirako_async._client, "MAX_BODY_BYTES", 100)

    async with AsyncMirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False) as client:
        with pytest.raises(ResponseValidationError, match="larger than") as caught:
            await client.avatars.list()

    assert caught.value.status_code == 200
    assert caught.value.attempts == 1


def test_sync_close_from_own_loop_ends_the_call(mirako_emulator: Emulator) -> None:
    client = Mirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)
    ids = [avatar["id"] for avatar in mirako_emulator.avatars()]

    def close_on_first_progress(done: int, total: int) -> None:
        if done == 1:
            client.close()  # Runs on the client's loop thread.

    with pytest.raises(ClientClosedError):
        client.avatars.get_many(ids, concurrency=1, on_progress=close_on_first_progress)

    assert client.closed
    with pytest.raises(ClientClosedError):
        client.avatars.list()
