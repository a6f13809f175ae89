"""``Retry-After`` on 429 and 503: both header forms, unreadable values, and waits too long to honour."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from mirako_async import APIStatusError, InternalServerError, RateLimitError, RetryPolicy
from mirako_async.testing import Emulator, RetryAfter, Status

from ._support import SDK_LOGGER, retry_records, retry_wait
from .conftest import ClientFactory

# Backoff far shorter than any Retry-After below, so a long wait proves the header won.
SHORT_BACKOFF = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.01)
# Backoff far longer than any Retry-After below, so a short wait proves the header won.
LONG_BACKOFF = RetryPolicy(max_retries=2, initial_backoff=30.0, max_backoff=30.0)


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_seconds_replaces_short_backoff(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    code: int,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=SHORT_BACKOFF)
    mirako_emulator.inject(RetryAfter(code, seconds=1), "list", times=1)

    started = time.monotonic()
    avatars = await client.list()
    elapsed = time.monotonic() - started

    assert len(avatars) == len(mirako_emulator.avatars())
    assert [retry_wait(record) for record in retry_records(caplog)] == [1.0]
    assert elapsed >= 0.95
    assert elapsed < 10.0
    assert mirako_emulator.stats.by_route["list"] == 2


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_zero_replaces_long_backoff(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    code: int,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=LONG_BACKOFF)
    mirako_emulator.inject(RetryAfter(code, seconds=0), "list", times=1)

    started = time.monotonic()
    await client.list()
    elapsed = time.monotonic() - started

    assert [retry_wait(record) for record in retry_records(caplog)] == [0.0]
    assert elapsed < 5.0
    assert mirako_emulator.stats.by_route["list"] == 2


async def test_retry_after_http_date_waits(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=SHORT_BACKOFF)
    # An HTTP-date has whole seconds, so this is 3 to 4 s from now.
    retry_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    mirako_emulator.inject(RetryAfter(429, http_date=retry_at), "list", times=1)

    started = time.monotonic()
    await client.list()
    elapsed = time.monotonic() - started

    waits = [retry_wait(record) for record in retry_records(caplog)]
    assert len(waits) == 1
    assert 2.0 <= waits[0] <= 4.0
    assert elapsed >= 2.0
    assert elapsed < 10.0
    assert mirako_emulator.stats.by_route["list"] == 2


async def test_past_retry_after_date_retries_immediately(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=LONG_BACKOFF)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    mirako_emulator.inject(RetryAfter(503, http_date=an_hour_ago), "list", times=1)

    started = time.monotonic()
    await client.list()
    elapsed = time.monotonic() - started

    assert [retry_wait(record) for record in retry_records(caplog)] == [0.0]
    assert elapsed < 5.0
    assert mirako_emulator.stats.by_route["list"] == 2


@pytest.mark.parametrize("header", ["soon", "-1", "nan", "inf", "Fri, 32 Feb 2025 25:61:00 GMT"])
async def test_unreadable_retry_after_uses_backoff(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    header: str,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=RetryPolicy(max_retries=1, initial_backoff=0.2, max_backoff=0.2))
    mirako_emulator.inject(Status(503, headers={"Retry-After": header}), "list")

    with pytest.raises(InternalServerError) as caught:
        await client.list()

    assert caught.value.retry_after is None
    assert caught.value.attempts == 2
    waits = [retry_wait(record) for record in retry_records(caplog)]
    assert len(waits) == 1
    assert 0.0 <= waits[0] <= 0.2


@pytest.mark.parametrize(
    ("code", "error_class", "seconds", "max_retry_after"),
    [
        (429, RateLimitError, 120, 60.0),
        (429, RateLimitError, 3, 2.0),
        (503, InternalServerError, 120, 60.0),
    ],
)
async def test_retry_after_above_limit_raises(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    code: int,
    error_class: type[APIStatusError],
    seconds: int,
    max_retry_after: float,
) -> None:
    policy = RetryPolicy(max_retries=2, initial_backoff=0.01, max_retry_after=max_retry_after)
    client = make_client(retry=policy)
    mirako_emulator.inject(RetryAfter(code, seconds=seconds), "list")

    started = time.monotonic()
    with pytest.raises(error_class) as caught:
        await client.list()
    elapsed = time.monotonic() - started

    assert caught.value.retry_after == seconds
    assert caught.value.attempts == 1
    assert elapsed < 5.0
    assert mirako_emulator.stats.requests == 1
