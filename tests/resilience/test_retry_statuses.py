"""Which failures the request loop retries, and how many attempts the final error reports.

aiohttp 3.14 resends an idempotent request once by itself when the
connection breaks before a response arrives, unless the session's private
``_retry_connection`` flag is off, as the SDK's transport sets it. Where a
connection drops, the tests check the SDK's ``attempts`` exactly and the
emulator's request count as a range, so they do not depend on that flag.
"""

from __future__ import annotations

import pytest

from mirako_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
)
from mirako_async.testing import DropConnection, Emulator, Latency, Stall, Status

from ._drivers import ClientKind, open_driver
from ._support import free_port
from .conftest import ClientFactory

MAX_RETRIES = 2
RETRY = RetryPolicy(max_retries=MAX_RETRIES, initial_backoff=0.01, max_backoff=0.05)

RETRIED_STATUSES = [
    (408, APIStatusError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (520, InternalServerError),
]

NOT_RETRIED_STATUSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
]


@pytest.mark.parametrize(("code", "error_class"), RETRIED_STATUSES)
async def test_retryable_status_exhausts_retries(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    code: int,
    error_class: type[APIStatusError],
) -> None:
    client = make_client(retry=RETRY)
    mirako_emulator.inject(Status(code), "list")

    with pytest.raises(error_class) as caught:
        await client.list()

    assert type(caught.value) is error_class
    assert caught.value.status_code == code
    assert caught.value.attempts == MAX_RETRIES + 1
    assert mirako_emulator.stats.by_route["list"] == MAX_RETRIES + 1


@pytest.mark.parametrize("code", [code for code, _ in RETRIED_STATUSES])
async def test_retryable_status_then_success(make_client: ClientFactory, mirako_emulator: Emulator, code: int) -> None:
    client = make_client(retry=RETRY)
    mirako_emulator.inject(Status(code), "list", times=MAX_RETRIES)

    avatars = await client.list()

    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == MAX_RETRIES + 1
    assert mirako_emulator.stats.statuses == {code: MAX_RETRIES, 200: 1}


@pytest.mark.parametrize(("code", "error_class"), NOT_RETRIED_STATUSES)
async def test_client_error_status_is_not_retried(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    code: int,
    error_class: type[APIStatusError],
) -> None:
    client = make_client(retry=RETRY)
    mirako_emulator.inject(Status(code), "list")

    with pytest.raises(error_class) as caught:
        await client.list()

    assert type(caught.value) is error_class
    assert caught.value.status_code == code
    assert caught.value.attempts == 1
    assert mirako_emulator.stats.requests == 1


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_dropped_connection_exhausts_retries(
    make_client: ClientFactory, mirako_emulator: Emulator, reset: bool
) -> None:
    client = make_client(retry=RETRY)
    mirako_emulator.inject(DropConnection(reset=reset), "list")

    with pytest.raises(APIConnectionError) as caught:
        await client.list()

    assert type(caught.value) is APIConnectionError
    assert caught.value.attempts == MAX_RETRIES + 1
    # Each SDK attempt may include aiohttp's own single resend.
    requests = mirako_emulator.stats.by_route["list"]
    assert MAX_RETRIES + 1 <= requests <= 2 * (MAX_RETRIES + 1)


async def test_dropped_connection_then_success(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RETRY)
    # Two drops make the SDK retry at least once, even if aiohttp resends once by itself.
    mirako_emulator.inject(DropConnection(), "list", times=2)

    avatars = await client.list()

    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 3
    assert mirako_emulator.stats.statuses == {200: 1}


async def test_refused_connection_exhausts_retries(client_kind: ClientKind) -> None:
    # Nothing listens on this port, so every connection attempt is refused.
    base_url = f"http://127.0.0.1:{free_port()}"

    async with open_driver(client_kind, api_key="test-key", base_url=base_url, timeout=10.0, retry=RETRY) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.list()

    assert type(caught.value) is APIConnectionError
    assert caught.value.attempts == MAX_RETRIES + 1


async def test_stalled_body_times_out_each_attempt(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RETRY, timeout=0.3)
    mirako_emulator.inject(Stall(after_bytes=10), "list")

    with pytest.raises(APITimeoutError) as caught:
        await client.list()

    assert caught.value.attempts == MAX_RETRIES + 1
    assert mirako_emulator.stats.by_route["list"] == MAX_RETRIES + 1


async def test_slow_headers_time_out_each_attempt(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RETRY, timeout=0.3)
    mirako_emulator.inject(Latency(5.0), "list")

    with pytest.raises(APITimeoutError) as caught:
        await client.list()

    assert caught.value.attempts == MAX_RETRIES + 1
    assert mirako_emulator.stats.by_route["list"] == MAX_RETRIES + 1


async def test_timeout_then_success(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RETRY, timeout=0.3)
    mirako_emulator.inject(Stall(), "list", times=1)
    mirako_emulator.inject(Latency(5.0), "list", times=1)

    avatars = await client.list()

    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 3


async def test_max_retries_zero_sends_one_request(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(retry=RetryPolicy(max_retries=0))
    mirako_emulator.inject(Status(503), "list")

    with pytest.raises(InternalServerError) as caught:
        await client.list()

    assert caught.value.attempts == 1
    assert mirako_emulator.stats.requests == 1
