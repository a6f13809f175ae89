"""Tests of tests/schema.py, the helper that validates bodies against docs/openapi.yaml.

These need no Prism, so they carry no ``contract`` mark and run everywhere.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.schema import OPENAPI_PATH, ROUTES, is_rfc3339_date_time, validate_response

_THEME: dict[str, Any] = {
    "name": "Default",
    "key_image": "https://assets.storage.example.com/a/key.png?X-Amz-Credential=KEY%2F20250301%2Fus-east-1",
    "live_video": "https://assets.storage.example.com/a/live.mp4?X-Amz-Credential=KEY%2F20250301%2Fus-east-1",
}
_AVATAR: dict[str, Any] = {
    "id": "7f3e9c2a-1b4d-4e8f-a6c5-3d2b1a0f9e87",
    "user_id": "5d2c8e41-93b7-4f0a-8c6d-71e9a4b2f038",
    "name": "Product guide",
    "created_at": "2025-02-11T09:30:15.123456789Z",
    "status": "READY",
    "supported_interactive_models": ["metis-2.5"],
    "themes": [_THEME],
}


def _avatar(**changes: Any) -> dict[str, Any]:
    avatar = copy.deepcopy(_AVATAR)
    avatar.update(changes)
    return avatar


def _documented_examples() -> Iterator[tuple[str, int, str, Any]]:
    """Yield (route, status, example name, value) for every response example in docs/openapi.yaml."""
    with OPENAPI_PATH.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    for route, (path, method) in ROUTES.items():
        for key, response in document["paths"][path][method]["responses"].items():
            if "$ref" in response:
                response = document["components"]["responses"][response["$ref"].rpartition("/")[2]]
            status = 500 if key == "default" else int(key)
            for media_type in response.get("content", {}).values():
                for name, example in media_type.get("examples", {}).items():
                    yield route, status, name, example["value"]


# --- date-time format --------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-11T09:30:15Z",
        "2025-02-11T09:30:15.1Z",
        "2025-02-11T09:30:15.123456789Z",
        "2025-02-11T09:30:15.123456789+05:30",
        "2025-02-11T09:30:15-08:00",
        "2025-02-11t09:30:15z",
        "2024-02-29T00:00:00Z",
        "2016-12-31T23:59:60Z",
    ],
)
def test_date_time_accepts_rfc3339(value: str) -> None:
    assert is_rfc3339_date_time(value)


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-11T09:30:15",
        "2025-02-11 09:30:15Z",
        "2025-02-11T09:30Z",
        "2025-02-11T09:30:15.Z",
        "2025-02-30T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-02-11T24:00:00Z",
        "2025-02-11T09:60:00Z",
        "2025-02-11T09:30:61Z",
        "2025-02-11T09:30:15+24:00",
        "2025-02-11T09:30:15+0530",
        "2025-02-11",
        "",
        "2025-02-11T09:30:15Z ",
    ],
)
def test_date_time_rejects_invalid(value: str) -> None:
    assert not is_rfc3339_date_time(value)


# --- bodies that match -------------------------------------------------------


@pytest.mark.parametrize(("route", "status", "name", "value"), list(_documented_examples()))
def test_documented_examples_match(route: str, status: int, name: str, value: Any) -> None:
    validate_response(route, status, value)


@pytest.mark.parametrize(
    "avatar",
    [
        pytest.param(_avatar(), id="nine-fraction-digits"),
        pytest.param(_avatar(created_at="2025-02-11T09:30:15Z"), id="no-fraction"),
        pytest.param(_avatar(themes=None, supported_interactive_models=None), id="null-lists"),
        pytest.param(_avatar(themes=[], supported_interactive_models=[]), id="empty-lists"),
        pytest.param(_avatar(themes=[{"name": "Default"}]), id="theme-without-links"),
        pytest.param(_avatar(themes=[{"name": "Default", "key_image": _THEME["key_image"]}]), id="theme-image-only"),
        pytest.param(_avatar(status="PENDING"), id="pending"),
        pytest.param(_avatar(status="ERROR"), id="error-status"),
    ],
)
def test_valid_avatar_accepted(avatar: dict[str, Any]) -> None:
    validate_response("get", 200, {"data": avatar})
    validate_response("list", 200, {"data": [avatar, avatar]})


@pytest.mark.parametrize("data", [None, []])
def test_list_empty_data_accepted(data: list[Any] | None) -> None:
    validate_response("list", 200, {"data": data})


def test_bytes_body_accepted() -> None:
    body = json.dumps({"data": [_avatar()]}).encode()

    validate_response("list", 200, body)


def test_delete_without_body_accepted() -> None:
    validate_response("delete", 204, b"")
    validate_response("delete", 204, None)


@pytest.mark.parametrize(
    ("route", "status"),
    [("list", 401), ("get", 404), ("delete", 404), ("get", 429), ("list", 500), ("delete", 503)],
)
def test_problem_bodies_accepted(route: str, status: int) -> None:
    validate_response(route, status, {"title": "Problem", "status": status, "detail": "Something failed."})
    validate_response(route, status, {})
    validate_response(
        route,
        status,
        {
            "type": "about:blank",
            "instance": "https://mirako.co/errors/abc123",
            "errors": [{"location": "path.id", "message": "invalid", "value": {"any": ["json", 1, None]}}],
        },
    )
    validate_response(route, status, {"errors": None})


# --- bodies that do not match ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "location"),
    [
        pytest.param({"data": _avatar(extra="x")}, "$.data", id="extra-avatar-field"),
        pytest.param({"data": _avatar(themes=[{**_THEME, "extra": 1}])}, "$.data.themes[0]", id="extra-theme-field"),
        pytest.param({"data": _avatar(), "meta": {}}, "$", id="extra-top-level-field"),
        pytest.param({"data": {k: v for k, v in _AVATAR.items() if k != "themes"}}, "$.data", id="missing-themes"),
        pytest.param({"data": {k: v for k, v in _AVATAR.items() if k != "id"}}, "$.data", id="missing-id"),
        pytest.param({"data": _avatar(themes=[{"key_image": "https://x"}])}, "$.data.themes[0]", id="theme-no-name"),
        pytest.param({"data": _avatar(status="DELETED")}, "$.data.status", id="unknown-status"),
        pytest.param({"data": _avatar(status="ready")}, "$.data.status", id="lowercase-status"),
        pytest.param({"data": _avatar(created_at="2025-02-11T09:30:15")}, "$.data.created_at", id="no-time-zone"),
        pytest.param({"data": _avatar(created_at="2025-02-30T00:00:00Z")}, "$.data.created_at", id="invalid-date"),
        pytest.param({"data": _avatar(created_at=1739266215)}, "$.data.created_at", id="numeric-created-at"),
        pytest.param({"data": _avatar(id=7)}, "$.data.id", id="numeric-id"),
        pytest.param({"data": _avatar(themes="Default")}, "$.data.themes", id="themes-string"),
        pytest.param(
            {"data": _avatar(supported_interactive_models=[1])},
            "$.data.supported_interactive_models[0]",
            id="numeric-model",
        ),
        pytest.param({"data": None}, "$.data", id="null-data"),
        pytest.param({}, "$", id="missing-data"),
        pytest.param([], "$", id="array-body"),
    ],
)
def test_invalid_avatar_body_rejected(body: Any, location: str) -> None:
    with pytest.raises(AssertionError) as caught:
        validate_response("get", 200, body)

    message = str(caught.value)
    assert "GetAvatarApiResponseBody" in message
    assert f"\n  {location}:" in message


def test_invalid_list_rejected() -> None:
    with pytest.raises(AssertionError, match=r"\$\.data\[1\]: Additional properties"):
        validate_response("list", 200, {"data": [_avatar(), _avatar(extra=True)]})
    with pytest.raises(AssertionError, match=r"\$\.data: \{\} is not of type 'array', 'null'"):
        validate_response("list", 200, {"data": {}})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": "Not Found", "code": "not_found"}, id="extra-field"),
        pytest.param({"status": "404"}, id="string-status"),
        pytest.param({"title": 404}, id="numeric-title"),
        pytest.param({"errors": [{"location": "path.id", "hint": "x"}]}, id="extra-detail-field"),
        pytest.param({"errors": {"location": "path.id"}}, id="errors-object"),
    ],
)
def test_invalid_problem_rejected(body: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="does not match ErrorModel"):
        validate_response("get", 404, body)


def test_every_error_listed() -> None:
    body = {"data": _avatar(status="DELETED", created_at="yesterday", extra=1)}

    with pytest.raises(AssertionError) as caught:
        validate_response("get", 200, body)

    message = str(caught.value)
    assert "$.data: Additional properties are not allowed ('extra' was unexpected)" in message
    assert "$.data.status: 'DELETED' is not one of" in message
    assert "$.data.created_at: 'yesterday' is not a 'date-time'" in message


def test_non_json_body_rejected() -> None:
    with pytest.raises(AssertionError, match="not valid JSON"):
        validate_response("get", 200, b"<html>Bad Gateway</html>")
    with pytest.raises(AssertionError, match="not valid UTF-8"):
        validate_response("get", 200, b'{"data": "\xff"}')


def test_undocumented_status_rejected() -> None:
    with pytest.raises(AssertionError, match=r"returned status 200, which docs/openapi\.yaml does not document"):
        validate_response("delete", 200, b"")
    with pytest.raises(AssertionError, match="returned status 201"):
        validate_response("list", 201, {"data": None})
    with pytest.raises(AssertionError, match="returned status 302"):
        validate_response("get", 302, b"")


def test_delete_body_rejected() -> None:
    with pytest.raises(AssertionError, match="expected no body"):
        validate_response("delete", 204, b"{}")


def test_unknown_route_raises() -> None:
    with pytest.raises(ValueError, match="Unknown route 'create'"):
        validate_response("create", 200, {})
