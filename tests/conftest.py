"""Fixtures for the whole test suite."""

from __future__ import annotations

from typing import Any

import pytest

from tests.schema import ROUTES, validate_response


def check_response_schema(route: str, status: int, content_type: str | None, body: bytes) -> None:
    """Check an emulator response body against docs/openapi.yaml.

    Routes that the document does not describe (``other``) are skipped.
    """
    if route in ROUTES:
        validate_response(route, status, body)


@pytest.fixture
def mirako_emulator_options() -> dict[str, Any]:
    """Check every response of the plugin's ``mirako_emulator`` against docs/openapi.yaml.

    A failed check fails the test at teardown. A directory or test that
    overrides this fixture drops the check unless it passes ``on_response``
    itself.
    """
    return {"on_response": check_response_schema}
