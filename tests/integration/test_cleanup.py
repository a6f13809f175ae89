"""A call that raised, then a close, leaves no unclosed aiohttp session or connector behind.

aiohttp reports a leak as a ``ResourceWarning`` from ``__del__`` and as an
error logged through the event loop, so the tests record both while the
client is closed, dropped and collected.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest

from mirako_async import AsyncMirako, Mirako, NotFoundError
from mirako_async.testing import Emulator
from tests.integration._support import count_loop_threads

_LEAK_MARKERS = ("Unclosed client session", "Unclosed connector", "Unclosed connection")


@contextmanager
def record_leaks(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Record leak reports made inside the block and by a garbage collection at its end."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    reports: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield reports
        gc.collect()
        gc.collect()
    messages = [str(warning.message) for warning in caught]
    messages += [record.getMessage() for record in caplog.records]
    reports += [message for message in messages if any(marker in message for marker in _LEAK_MARKERS)]


async def test_leak_check_sees_unclosed_session(caplog: pytest.LogCaptureFixture) -> None:
    with record_leaks(caplog) as leaks:
        session = aiohttp.ClientSession()
        del session

    assert any("Unclosed client session" in leak for leak in leaks)


async def test_async_client_closed_after_error_leaks_nothing(
    mirako_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with record_leaks(caplog) as leaks:
        client = AsyncMirako(api_key=mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)
        with pytest.raises(NotFoundError):
            await client.avatars.get("no-such-avatar")
        await client.close()
        del client

    assert leaks == []


async def test_async_with_block_left_by_error_leaks_nothing(
    mirako_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with record_leaks(caplog) as leaks:
        with pytest.raises(NotFoundError):
            async with AsyncMirako(
                api_key=mirako_emulator.api_key,
                base_url=mirako_emulator.base_url,
                trust_env=False,
            ) as client:
                await client.avatars.list()
                await client.avatars.get("no-such-avatar")
        del client

    assert leaks == []


def test_blocking_client_closed_after_error_leaks_nothing(
    mirako_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with record_leaks(caplog) as leaks:
        with (
            pytest.raises(NotFoundError),
            Mirako(
                api_key=mirako_emulator.api_key,
                base_url=mirako_emulator.base_url,
                trust_env=False,
            ) as client,
        ):
            client.avatars.list()
            client.avatars.get("no-such-avatar")
        del client

    assert leaks == []


def test_unclosed_async_client_is_closed_by_asyncio_run(
    mirako_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    async def call_without_close() -> None:
        client = AsyncMirako(api_key=mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)
        with pytest.raises(NotFoundError):
            await client.avatars.get("no-such-avatar")

    with record_leaks(caplog) as leaks:
        asyncio.run(call_without_close())

    assert leaks == []


def test_dropped_blocking_client_is_closed_on_collection(
    mirako_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    loop_threads_before = count_loop_threads()

    with record_leaks(caplog) as leaks:
        client = Mirako(api_key=mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)
        with pytest.raises(NotFoundError):
            client.avatars.get("no-such-avatar")
        assert count_loop_threads() == loop_threads_before + 1
        del client

    assert leaks == []
    assert count_loop_threads() == loop_threads_before
