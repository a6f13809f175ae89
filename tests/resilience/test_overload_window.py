"""Fifty concurrent calls through a window in which the server responds only with 503."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest

from mirako_async import RetryPolicy
from mirako_async.testing import Emulator, RetryAfter, Status

from ._support import SDK_LOGGER, retry_records, retry_wait
from .conftest import ClientFactory

CALLS = 50
WINDOW = 2.0
# With this policy a call fails only if ten jittered waits add up to less
# than the 2 s window. A simulation of 200,000 calls with RetryPolicy.backoff
# put that at about 5 in a million per call, so under 0.03 % per run of 50.
POLICY = RetryPolicy(max_retries=10, initial_backoff=0.5, max_backoff=2.0)


async def test_concurrent_calls_outlast_503_window(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=POLICY)
    mirako_emulator.inject(Status(503), "list", duration=WINDOW)

    results = await asyncio.gather(*(client.list() for _ in range(CALLS)))

    assert all(len(avatars) == len(mirako_emulator.avatars()) for avatars in results)
    statuses = mirako_emulator.stats.statuses
    assert statuses[200] == CALLS
    retries = retry_records(caplog)
    assert len(retries) == statuses[503]
    # Jitter must spread the times at which the retries are due over many 100 ms slots.
    slots = Counter(int((record.created + retry_wait(record)) * 10) for record in retries)
    busiest_slot = max(slots.values())
    assert busiest_slot <= len(retries) // 2, sorted(slots.items())


async def test_concurrent_calls_outlast_retry_after_window(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SDK_LOGGER)
    client = make_client(retry=POLICY)
    mirako_emulator.inject(RetryAfter(503, seconds=1), "list", duration=1.5)

    results = await asyncio.gather(*(client.list() for _ in range(CALLS)))

    assert all(len(avatars) == len(mirako_emulator.avatars()) for avatars in results)
    statuses = mirako_emulator.stats.statuses
    assert statuses[200] == CALLS
    waits = [retry_wait(record) for record in retry_records(caplog)]
    assert len(waits) == statuses[503]
    assert set(waits) == {1.0}
