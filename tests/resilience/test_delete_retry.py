"""A retried DELETE that ends in 404 counts as deleted, but a 404 on the first attempt raises.

``DropConnection(after_processing=True)`` and ``TruncatedBody`` let the
emulator delete the avatar first and then lose the response, so the
client's next attempt finds nothing to delete.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from mirako_async import NotFoundError
from mirako_async.testing import DropConnection, Emulator, Fault, RetryAfter, TruncatedBody

from ._support import SDK_LOGGER, wait_until
from .conftest import ClientFactory

LOST_RESPONSE_FAULTS = [
    pytest.param(DropConnection(after_processing=True), id="dropped"),
    pytest.param(TruncatedBody(), id="truncated"),
]


def deleted_404_records(caplog: pytest.LogCaptureFixture, avatar_id: str) -> list[logging.LogRecord]:
    """Return the SDK's log records of a retried DELETE of ``avatar_id`` that ended in 404."""
    request = f"DELETE /v1/avatar/{avatar_id}"
    records = []
    for record in caplog.records:
        message = record.getMessage()
        # The id is removed before looking for 404, which an id may contain.
        if record.name == SDK_LOGGER and request in message and "404" in message.replace(avatar_id, ""):
            records.append(record)
    return records


@pytest.mark.parametrize("fault", LOST_RESPONSE_FAULTS)
async def test_delete_with_lost_response_succeeds(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client()
    avatar_id = mirako_emulator.avatars()[0]["id"]
    mirako_emulator.inject(fault, "delete", times=1)

    await client.delete(avatar_id)

    assert mirako_emulator.avatar(avatar_id) is None
    assert mirako_emulator.stats.by_route["delete"] == 2
    assert len(deleted_404_records(caplog, avatar_id)) == 1


@pytest.mark.parametrize("fault", LOST_RESPONSE_FAULTS)
async def test_delete_many_with_lost_response_succeeds(
    make_client: ClientFactory, mirako_emulator: Emulator, fault: Fault
) -> None:
    client = make_client()
    avatar_ids = [avatar["id"] for avatar in mirako_emulator.avatars()[:2]]
    mirako_emulator.inject(fault, "delete", times=1)

    results = await client.delete_many(avatar_ids, concurrency=1)

    assert results == [None, None]
    assert mirako_emulator.stats.by_route["delete"] == 3
    assert mirako_emulator.avatar(avatar_ids[0]) is None
    assert mirako_emulator.avatar(avatar_ids[1]) is None


async def test_delete_after_two_lost_responses_succeeds(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client()
    avatar_id = mirako_emulator.avatars()[0]["id"]
    mirako_emulator.inject(DropConnection(after_processing=True), "delete", times=2)

    await client.delete(avatar_id)

    assert mirako_emulator.avatar(avatar_id) is None
    assert mirako_emulator.stats.by_route["delete"] == 3
    assert len(deleted_404_records(caplog, avatar_id)) == 1


async def test_delete_404_on_retry_succeeds(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client()
    other_client = make_client()
    avatar_id = mirako_emulator.avatars()[0]["id"]
    mirako_emulator.inject(RetryAfter(503, seconds=1), "delete", times=1)

    call = asyncio.create_task(client.delete(avatar_id))
    await wait_until(
        lambda: mirako_emulator.stats.statuses.get(503) == 1,
        message="the first DELETE got its 503",
    )
    await other_client.delete(avatar_id)
    await call

    assert mirako_emulator.stats.statuses == {503: 1, 204: 1, 404: 1}
    assert len(deleted_404_records(caplog, avatar_id)) == 1


async def test_delete_missing_avatar_raises_not_found(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()

    with pytest.raises(NotFoundError) as caught:
        await client.delete("no-such-avatar")

    assert caught.value.attempts == 1
    assert caught.value.status_code == 404
    assert mirako_emulator.stats.by_route["delete"] == 1
