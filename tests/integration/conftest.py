"""Fixtures of the integration tests: a clean environment, a schema-checked emulator and both clients.

Every test sends requests only to the plugin's ``mirako_emulator`` on
127.0.0.1, with ``trust_env=False``, and the autouse fixture removes the
variables that could point a client elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any, Final

import pytest

from mirako_async import AsyncMirako, Mirako
from mirako_async.testing import Emulator
from tests.integration._support import (
    AsyncAvatarsApi,
    AvatarsApi,
    BlockingAvatarsApi,
    ClientKind,
    OpenAvatars,
    ResponseRecorder,
)

# Variables that aiohttp reads for proxies when trust_env is on, in either case.
_PROXY_VARIABLES: Final = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy", "wss_proxy"})


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every MIRAKO_* variable and every proxy variable for the test."""
    for name in list(os.environ):
        if name.startswith("MIRAKO_") or name.lower() in _PROXY_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def served() -> ResponseRecorder:
    """Return the log of the API responses of ``mirako_emulator``, each checked against docs/openapi.yaml."""
    return ResponseRecorder()


@pytest.fixture
def mirako_emulator_options(served: ResponseRecorder) -> dict[str, Any]:
    """Have ``mirako_emulator`` check and log every response body it sends.

    A test that makes the emulator send a body outside docs/openapi.yaml on
    purpose sets ``mirako_emulator.on_response = None`` first.
    """
    return {"on_response": served}


@pytest.fixture(params=["async", "sync"])
def client_kind(request: pytest.FixtureRequest) -> ClientKind:
    """Run the test once with ``AsyncMirako`` and once with the blocking ``Mirako``."""
    kind: ClientKind = request.param
    return kind


@pytest.fixture
async def open_avatars(client_kind: ClientKind, mirako_emulator: Emulator) -> AsyncIterator[OpenAvatars]:
    """Return a function that opens a client of ``client_kind`` on the emulator and returns its ``avatars``.

    Keyword arguments go to the client's constructor and override the
    emulator's key. Every client opened is closed after the test.
    """
    async_clients: list[AsyncMirako] = []
    blocking_clients: list[Mirako] = []

    def open_client(**options: Any) -> AvatarsApi:
        settings: dict[str, Any] = {
            "api_key": mirako_emulator.api_key,
            "base_url": mirako_emulator.base_url,
            "trust_env": False,
        }
        settings.update(options)
        if client_kind == "async":
            client = AsyncMirako(**settings)
            async_clients.append(client)
            return AsyncAvatarsApi(client.avatars)
        blocking = Mirako(**settings)
        blocking_clients.append(blocking)
        return BlockingAvatarsApi(blocking.avatars)

    yield open_client

    for client in async_clients:
        await client.close()
    for blocking in blocking_clients:
        blocking.close()


@pytest.fixture
def avatars(open_avatars: OpenAvatars) -> AvatarsApi:
    """Return ``avatars`` of a client with default settings on the emulator."""
    return open_avatars()


@pytest.fixture
def seed_ids(mirako_emulator: Emulator) -> dict[str, str]:
    """Map the name of each seed avatar of the emulator to its id."""
    return {avatar["name"]: avatar["id"] for avatar in mirako_emulator.avatars()}
