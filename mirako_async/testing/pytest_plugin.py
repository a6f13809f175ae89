"""pytest fixtures that run the Mirako emulator.

Load the plugin with ``pytest_plugins = ["mirako_async.testing.pytest_plugin"]``
in a ``conftest.py`` or with ``pytest -p mirako_async.testing.pytest_plugin``.

Fixtures:

* ``mirako_emulator``: a fresh ``Emulator`` for each test, running on a
  background thread so that async and blocking tests can both use it.
* ``mirako_async_client``: an ``AsyncMirako`` client for that emulator.
* ``mirako_client``: a blocking ``Mirako`` client for that emulator.

Both clients ignore proxy variables (``trust_env=False``).
* ``mirako_emulator_options``: the keyword arguments for ``Emulator``,
  empty by default. Override it in a test module or ``conftest.py`` to set
  ``seed``, ``avatar_count``, ``on_response`` and so on.

If the ``on_response`` hook raised during a test, the test fails at
teardown with the first exception.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mirako_async import AsyncMirako, Mirako

    from ._emulator import Emulator

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # Without pytest-asyncio, leave async fixtures to another plugin.
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@pytest.fixture
def mirako_emulator_options() -> dict[str, Any]:
    """Return the keyword arguments for the emulator of ``mirako_emulator``."""
    return {}


@pytest.fixture
def mirako_emulator(mirako_emulator_options: dict[str, Any]) -> Iterator[Emulator]:
    """Run a fresh emulator on a background thread for one test."""
    from ._emulator import Emulator

    with Emulator.in_thread(**mirako_emulator_options) as emulator:
        yield emulator

    errors = emulator.hook_errors
    if errors:
        pytest.fail(
            f"The on_response hook raised for {len(errors)} response(s). First: {errors[0]!r}",
            pytrace=False,
        )


@_async_fixture
async def mirako_async_client(mirako_emulator: Emulator) -> AsyncIterator[AsyncMirako]:
    """Yield an ``AsyncMirako`` client connected to ``mirako_emulator``."""
    from mirako_async import AsyncMirako

    async with AsyncMirako(
        api_key=mirako_emulator.api_key,
        base_url=mirako_emulator.base_url,
        # A proxy from the environment would take the emulator's traffic off the machine.
        trust_env=False,
    ) as client:
        yield client


@pytest.fixture
def mirako_client(mirako_emulator: Emulator) -> Iterator[Mirako]:
    """Yield a blocking ``Mirako`` client connected to ``mirako_emulator``, closed afterwards."""
    from mirako_async import Mirako

    client = Mirako(
        api_key=mirako_emulator.api_key,
        base_url=mirako_emulator.base_url,
        # A proxy from the environment would take the emulator's traffic off the machine.
        trust_env=False,
    )
    try:
        yield client
    finally:
        client.close()
