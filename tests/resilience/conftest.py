"""Fixtures for the resilience tests: a clean environment and a client factory for both clients.

Every test talks to the plugin's ``mirako_emulator`` on 127.0.0.1 over real
sockets. The autouse fixture removes the variables that could point a
client elsewhere (a key, a base URL or a proxy from the developer's shell),
and every client is created with the emulator's ``base_url`` and
``trust_env=False``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Protocol

import pytest

from mirako_async import RetryPolicy
from mirako_async.testing import Emulator

from ._drivers import ClientDriver, ClientKind, dispose_driver, make_driver

# Retries with waits of at most 50 ms, for tests where the wait is not under test.
FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05)


def _is_outbound_setting(name: str) -> bool:
    upper = name.upper()
    return upper.startswith("MIRAKO_") or upper.endswith("_PROXY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove ``MIRAKO_*`` and proxy variables, so no default can reach another host."""
    for name in list(os.environ):
        if _is_outbound_setting(name):
            monkeypatch.delenv(name)


class ClientFactory(Protocol):
    """Type of ``make_client``, which creates a client for the emulator with the given settings."""

    def __call__(
        self,
        *,
        timeout: float = ...,
        deadline: float | None = ...,
        retry: RetryPolicy = ...,
        max_connections: int = ...,
    ) -> ClientDriver: ...


@pytest.fixture(params=["async", "sync"])
def client_kind(request: pytest.FixtureRequest) -> ClientKind:
    """Run the test once with ``AsyncMirako`` and once with ``Mirako``."""
    kind: ClientKind = request.param
    return kind


@pytest.fixture
async def make_client(client_kind: ClientKind, mirako_emulator: Emulator) -> AsyncIterator[ClientFactory]:
    """Return a factory of clients of the parametrized kind, all closed after the test."""
    drivers: list[ClientDriver] = []

    def make(
        *,
        timeout: float = 10.0,
        deadline: float | None = None,
        retry: RetryPolicy = FAST_RETRY,
        max_connections: int = 100,
    ) -> ClientDriver:
        driver = make_driver(
            client_kind,
            api_key=mirako_emulator.api_key,
            base_url=mirako_emulator.base_url,
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            max_connections=max_connections,
        )
        drivers.append(driver)
        return driver

    yield make

    for driver in drivers:
        await dispose_driver(driver)
