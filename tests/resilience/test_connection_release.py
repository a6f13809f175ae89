"""Each attempt is a fresh request, and a failed response gives its connection back to the pool.

With ``max_connections=1`` a failed response that kept its connection
would make the next attempt wait forever, so every call here runs under
``asyncio.wait_for`` and a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio

import pytest

from mirako_async import Avatar, RetryPolicy
from mirako_async.testing import Emulator, Fault, HtmlError, RetryAfter, Status

from .conftest import ClientFactory

# Far longer than any call here needs, so reaching it means the call hung.
HANG_TIMEOUT = 20.0
RETRY = RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=0.05)

FAILED_RESPONSES = [
    pytest.param(Status(503), id="problem-json"),
    pytest.param(Status(503, problem=False), id="empty-body"),
    pytest.param(HtmlError(502), id="html-page"),
]


@pytest.mark.parametrize("fault", FAILED_RESPONSES)
async def test_failed_responses_release_connection(
    make_client: ClientFactory, mirako_emulator: Emulator, fault: Fault
) -> None:
    client = make_client(retry=RETRY, max_connections=1)
    mirako_emulator.inject(fault, "list", times=3)

    avatars = await asyncio.wait_for(client.list(), HANG_TIMEOUT)
    again = await asyncio.wait_for(client.list(), HANG_TIMEOUT)

    assert len(avatars) == len(mirako_emulator.avatars())
    assert len(again) == len(avatars)
    assert mirako_emulator.stats.by_route["list"] == 5
    assert mirako_emulator.stats.connections == 1
    assert mirako_emulator.stats.max_in_flight == 1


async def test_each_attempt_is_full_request(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RETRY, max_connections=1)
    mirako_emulator.inject(Status(503), "list", times=3)

    await asyncio.wait_for(client.list(), HANG_TIMEOUT)

    recorded = mirako_emulator.stats.recent
    assert len(recorded) == 4
    for request in recorded:
        assert request.method == "GET"
        assert request.target == "/v1/avatar/list"
        assert request.headers["Authorization"] == f"Bearer {mirako_emulator.api_key}"


async def test_bulk_failed_responses_release_connection(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RETRY, max_connections=1)
    avatar_ids = [avatar["id"] for avatar in mirako_emulator.avatars()[:3]]
    # Retry-After: 0 keeps the bulk limiter from pausing a second per 503.
    mirako_emulator.inject(RetryAfter(503, seconds=0), "get", times=3)

    results = await asyncio.wait_for(client.get_many(avatar_ids, concurrency=1), HANG_TIMEOUT)

    assert [result.id for result in results if isinstance(result, Avatar)] == avatar_ids
    assert mirako_emulator.stats.by_route["get"] == 6
    assert mirako_emulator.stats.connections == 1
    assert mirako_emulator.stats.max_in_flight == 1
