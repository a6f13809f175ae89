"""Both clients against Prism generating random schema-valid bodies (``prism mock --dynamic``).

Every body that Prism generates fits docs/openapi.yaml, so the SDK must
decode each one. A failure lists the exact bodies that the SDK rejected or
decoded wrongly, as the ``PreferProxy`` recorded them.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest

from mirako_async import (
    APIStatusError,
    AuthenticationError,
    Avatar,
    InternalServerError,
    MirakoError,
    NotFoundError,
)
from tests.schema import validate_response

from ._prism import Exchange, PreferProxy
from ._sdk import EXAMPLE_AVATAR_ID, async_client, sync_client

pytestmark = pytest.mark.contract

# Calls per route and client, each taking a few milliseconds. In one sample
# of 50 list calls, Prism 5.14.2 returned 31 null, 3 empty and 16 non-empty
# lists, so the mix varies from run to run.
CALLS_PER_ROUTE: Final = 50
ERROR_CALLS_PER_STATUS: Final = 10
# Ids that need percent-encoding in the path, beside a plain one.
AVATAR_IDS: Final = (EXAMPLE_AVATAR_ID, "id with spaces", "avatar-ü-€")
ERROR_CASES: Final = (
    ("list", 401, AuthenticationError),
    ("get", 401, AuthenticationError),
    ("get", 404, NotFoundError),
    ("delete", 404, NotFoundError),
    ("get", 500, InternalServerError),
)


def _report(route: str, exchange: Exchange, problem: str) -> str:
    body = exchange.body.decode("utf-8", errors="replace")
    return f"{route} ({exchange.method} {exchange.path} -> {exchange.status}): {problem}\n    body: {body}"


def _check_schema(route: str, exchange: Exchange) -> list[str]:
    """Check Prism's body against tests/schema.py, so that the helper and Prism agree."""
    try:
        validate_response(route, exchange.status, exchange.body)
    except AssertionError as exc:
        return [_report(route, exchange, f"tests/schema.py rejected Prism's body: {exc}")]
    return []


def _check_avatar(avatar: Avatar, data: dict[str, Any]) -> list[str]:
    """Compare a decoded avatar with the JSON object it came from and return the mismatches."""
    mismatches = []
    for field in ("id", "user_id", "name", "status"):
        if getattr(avatar, field) != data[field]:
            mismatches.append(f"{field} is {getattr(avatar, field)!r}, body has {data[field]!r}")
    if avatar.supported_interactive_models != tuple(data["supported_interactive_models"] or ()):
        mismatches.append("supported_interactive_models differ from the body")
    themes = data["themes"] or []
    decoded_themes = [(theme.name, theme.key_image, theme.live_video) for theme in avatar.themes]
    sent_themes = [(theme["name"], theme.get("key_image"), theme.get("live_video")) for theme in themes]
    if decoded_themes != sent_themes:
        mismatches.append(f"themes are {decoded_themes!r}, body has {sent_themes!r}")
    if avatar.created_at.tzinfo is None:
        mismatches.append("created_at is not timezone-aware")
    return mismatches


def _check_list(exchange: Exchange, avatars: list[Avatar] | None, error: MirakoError | None) -> list[str]:
    failures = _check_schema("list", exchange)
    if error is not None:
        return [*failures, _report("list", exchange, f"the SDK raised {type(error).__name__}: {error}")]
    assert avatars is not None
    sent = json.loads(exchange.body)["data"] or []
    if len(avatars) != len(sent):
        return [*failures, _report("list", exchange, f"decoded {len(avatars)} avatars, body has {len(sent)}")]
    for index, (avatar, data) in enumerate(zip(avatars, sent, strict=True)):
        failures.extend(_report("list", exchange, f"data[{index}]: {m}") for m in _check_avatar(avatar, data))
    return failures


def _check_get(exchange: Exchange, avatar: Avatar | None, error: MirakoError | None) -> list[str]:
    failures = _check_schema("get", exchange)
    if error is not None:
        return [*failures, _report("get", exchange, f"the SDK raised {type(error).__name__}: {error}")]
    assert avatar is not None
    data = json.loads(exchange.body)["data"]
    failures.extend(_report("get", exchange, mismatch) for mismatch in _check_avatar(avatar, data))
    return failures


def _check_error(
    route: str, status: int, expected: type[APIStatusError], exchange: Exchange, error: BaseException | None
) -> list[str]:
    failures = _check_schema(route, exchange)
    if not isinstance(error, expected):
        problem = "no exception" if error is None else f"{type(error).__name__}: {error}"
        return [*failures, _report(route, exchange, f"expected {expected.__name__}, got {problem}")]
    problem_body = json.loads(exchange.body)
    # The SDK reads an empty or missing text field as None.
    for field in ("title", "detail", "type", "instance"):
        sent = problem_body.get(field) or None
        if getattr(error, field) != sent:
            failures.append(_report(route, exchange, f"{field} is {getattr(error, field)!r}, body has {sent!r}"))
    if error.status_code != status:
        failures.append(_report(route, exchange, f"status_code is {error.status_code}, expected {status}"))
    if len(error.errors) > len(problem_body.get("errors") or []):
        failures.append(_report(route, exchange, "more error details than the body has"))
    return failures


def _assert_no_failures(failures: list[str], calls: int) -> None:
    assert not failures, f"{len(failures)} problems in {calls} calls:\n" + "\n".join(failures)


# --- success bodies ----------------------------------------------------------


async def test_dynamic_list_async(dynamic_prism: PreferProxy) -> None:
    failures: list[str] = []
    async with async_client(dynamic_prism.base_url()) as client:
        for _ in range(CALLS_PER_ROUTE):
            avatars, error = None, None
            try:
                avatars = await client.avatars.list()
            except MirakoError as exc:
                error = exc
            failures.extend(_check_list(dynamic_prism.last_exchange(), avatars, error))
    _assert_no_failures(failures, CALLS_PER_ROUTE)


async def test_dynamic_get_async(dynamic_prism: PreferProxy) -> None:
    failures: list[str] = []
    async with async_client(dynamic_prism.base_url()) as client:
        for call in range(CALLS_PER_ROUTE):
            avatar, error = None, None
            try:
                avatar = await client.avatars.get(AVATAR_IDS[call % len(AVATAR_IDS)])
            except MirakoError as exc:
                error = exc
            failures.extend(_check_get(dynamic_prism.last_exchange(), avatar, error))
    _assert_no_failures(failures, CALLS_PER_ROUTE)


def test_dynamic_list_sync(dynamic_prism: PreferProxy) -> None:
    failures: list[str] = []
    with sync_client(dynamic_prism.base_url()) as client:
        for _ in range(CALLS_PER_ROUTE):
            avatars, error = None, None
            try:
                avatars = client.avatars.list()
            except MirakoError as exc:
                error = exc
            failures.extend(_check_list(dynamic_prism.last_exchange(), avatars, error))
    _assert_no_failures(failures, CALLS_PER_ROUTE)


def test_dynamic_get_sync(dynamic_prism: PreferProxy) -> None:
    failures: list[str] = []
    with sync_client(dynamic_prism.base_url()) as client:
        for call in range(CALLS_PER_ROUTE):
            avatar, error = None, None
            try:
                avatar = client.avatars.get(AVATAR_IDS[call % len(AVATAR_IDS)])
            except MirakoError as exc:
                error = exc
            failures.extend(_check_get(dynamic_prism.last_exchange(), avatar, error))
    _assert_no_failures(failures, CALLS_PER_ROUTE)


# --- problem bodies ----------------------------------------------------------


@pytest.mark.parametrize(("route", "status", "expected"), ERROR_CASES)
async def test_dynamic_problem_async(
    dynamic_prism: PreferProxy, route: str, status: int, expected: type[APIStatusError]
) -> None:
    failures: list[str] = []
    async with async_client(dynamic_prism.base_url(f"code={status}")) as client:
        for _ in range(ERROR_CALLS_PER_STATUS):
            error: BaseException | None = None
            try:
                if route == "list":
                    await client.avatars.list()
                elif route == "get":
                    await client.avatars.get(EXAMPLE_AVATAR_ID)
                else:
                    await client.avatars.delete(EXAMPLE_AVATAR_ID)
            except MirakoError as exc:
                error = exc
            failures.extend(_check_error(route, status, expected, dynamic_prism.last_exchange(), error))
    _assert_no_failures(failures, ERROR_CALLS_PER_STATUS)


@pytest.mark.parametrize(("route", "status", "expected"), ERROR_CASES)
def test_dynamic_problem_sync(
    dynamic_prism: PreferProxy, route: str, status: int, expected: type[APIStatusError]
) -> None:
    failures: list[str] = []
    with sync_client(dynamic_prism.base_url(f"code={status}")) as client:
        for _ in range(ERROR_CALLS_PER_STATUS):
            error: BaseException | None = None
            try:
                if route == "list":
                    client.avatars.list()
                elif route == "get":
                    client.avatars.get(EXAMPLE_AVATAR_ID)
                else:
                    client.avatars.delete(EXAMPLE_AVATAR_ID)
            except MirakoError as exc:
                error = exc
            failures.extend(_check_error(route, status, expected, dynamic_prism.last_exchange(), error))
    _assert_no_failures(failures, ERROR_CALLS_PER_STATUS)
