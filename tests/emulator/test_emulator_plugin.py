"""The pytest plugin's fixtures, which this test suite loads with ``-p``."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from mirako_async import AsyncMirako, Mirako
from mirako_async.testing import Emulator


def test_emulator_fixture_runs(mirako_emulator: Emulator) -> None:
    request = urllib.request.Request(
        mirako_emulator.base_url + "/v1/avatar/list",
        headers={"Authorization": f"Bearer {mirako_emulator.api_key}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        assert len(json.loads(response.read())["data"]) == 6


async def test_emulator_fixture_in_async_test(mirako_emulator: Emulator) -> None:
    mirako_emulator.add_avatar(name="Async")

    assert len(mirako_emulator.avatars()) == 7


class TestOptions:
    @pytest.fixture
    def mirako_emulator_options(self) -> dict[str, Any]:
        return {"avatar_count": 2, "api_key": "options-key"}

    def test_options_override(self, mirako_emulator: Emulator) -> None:
        assert len(mirako_emulator.avatars()) == 2
        assert mirako_emulator.api_key == "options-key"


async def test_async_client_fixture(mirako_async_client: AsyncMirako, mirako_emulator: Emulator) -> None:
    avatars = await mirako_async_client.avatars.list()

    assert len(avatars) == 6
    assert mirako_emulator.stats.by_route["list"] == 1


def test_client_fixture(mirako_client: Mirako, mirako_emulator: Emulator) -> None:
    avatars = mirako_client.avatars.list()

    assert len(avatars) == 6
    assert mirako_emulator.stats.by_route["list"] == 1
