"""SDK clients for the contract tests, and the examples of docs/openapi.yaml they expect."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

import yaml

from mirako_async import AsyncMirako, Avatar, AvatarStatus, Mirako

from ._prism import OPENAPI_PATH

__all__ = [
    "API_KEY",
    "EXAMPLE_AVATAR_ID",
    "EXPECTED_CREATED_AT",
    "assert_matches_example",
    "async_client",
    "example_avatar",
    "example_avatar_list",
    "example_problem",
    "sync_client",
]

# Prism accepts any bearer token, because it only checks that one is sent.
API_KEY: Final = "contract-test-key"
EXAMPLE_AVATAR_ID: Final = "7f3e9c2a-1b4d-4e8f-a6c5-3d2b1a0f9e87"
# Per-attempt timeout, in seconds, far above Prism's few milliseconds.
_TIMEOUT: Final = 10.0


def async_client(base_url: str) -> AsyncMirako:
    """Create an async client for a local server.

    Retries are off, so each call is one request and one recorded exchange.
    ``trust_env=False`` keeps a proxy set in the environment from routing
    loopback traffic elsewhere.
    """
    return AsyncMirako(api_key=API_KEY, base_url=base_url, max_retries=0, timeout=_TIMEOUT, trust_env=False)


def sync_client(base_url: str) -> Mirako:
    """Create a blocking client for a local server, set up as ``async_client`` does."""
    return Mirako(api_key=API_KEY, base_url=base_url, max_retries=0, timeout=_TIMEOUT, trust_env=False)


@cache
def _document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


def _media_type(path: str, method: str, status: int) -> dict[str, Any]:
    """Return the one Media Type Object of a documented response, following its ``$ref``."""
    response = _document()["paths"][path][method]["responses"][str(status)]
    reference = response.get("$ref")
    if reference is not None:
        response = _document()["components"]["responses"][reference.rpartition("/")[2]]
    (media_type,) = response["content"].values()
    result: dict[str, Any] = media_type
    return result


def example_avatar() -> dict[str, Any]:
    """Return the avatar of the ``readyAvatar`` example of ``GET /v1/avatar/{id}``."""
    avatar: dict[str, Any] = _media_type("/v1/avatar/{id}", "get", 200)["examples"]["readyAvatar"]["value"]["data"]
    return avatar


def example_avatar_list() -> list[dict[str, Any]]:
    """Return the avatars of the ``twoAvatars`` example of ``GET /v1/avatar/list``."""
    avatars: list[dict[str, Any]] = _media_type("/v1/avatar/list", "get", 200)["examples"]["twoAvatars"]["value"][
        "data"
    ]
    return avatars


def example_problem(path: str, method: str, status: int) -> dict[str, Any]:
    """Return the first problem example of an explicitly documented error status, such as 404."""
    first_example = next(iter(_media_type(path, method, status)["examples"].values()))
    problem: dict[str, Any] = first_example["value"]
    return problem


# created_at of the examples, written out by hand so that the SDK's parser is
# checked against an independent value. Python keeps six fractional digits.
EXPECTED_CREATED_AT: Final[dict[str, datetime]] = {
    "2025-02-11T09:30:15.123456789Z": datetime(2025, 2, 11, 9, 30, 15, 123456, tzinfo=UTC),
    "2025-03-04T16:45:09.500Z": datetime(2025, 3, 4, 16, 45, 9, 500000, tzinfo=UTC),
}


def assert_matches_example(avatar: Avatar, example: dict[str, Any]) -> None:
    """Assert that a decoded avatar carries every value of an example avatar."""
    assert isinstance(avatar, Avatar)
    assert avatar.id == example["id"]
    assert avatar.user_id == example["user_id"]
    assert avatar.name == example["name"]
    assert avatar.status == example["status"]
    assert isinstance(avatar.status, AvatarStatus)
    assert avatar.created_at == EXPECTED_CREATED_AT[example["created_at"]]
    assert avatar.supported_interactive_models == tuple(example["supported_interactive_models"] or ())

    expected_themes = example["themes"] or []
    assert len(avatar.themes) == len(expected_themes)
    for theme, expected in zip(avatar.themes, expected_themes, strict=True):
        assert theme.name == expected["name"]
        # Presigned links must arrive byte for byte: re-encoding a percent
        # escape in the query would break the signature.
        assert theme.key_image == expected.get("key_image")
        assert theme.live_video == expected.get("live_video")
