"""Fuzzing: whatever bytes a server sends, a call returns a valid model or raises a MirakoError, in bounded time.

Each example starts a fresh client against a raw server that answers with
the drawn bytes, and checks that the client released every connection.
Set ``MIRAKO_FUZZ_EXAMPLES`` to run more examples than the default 200.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mirako_async import (
    APIStatusError,
    Avatar,
    AvatarStatus,
    AvatarTheme,
    ErrorDetail,
    InternalServerError,
    MirakoError,
    RateLimitError,
    ResponseValidationError,
)

from ._raw_server import RawServer, Reply, http_response
from ._strategies import avatar_bodies, problem_bodies, raw_responses, retry_after_values, valid_avatars
from ._support import (
    API_KEY,
    FUZZ_EXAMPLES,
    SYNC_FUZZ_EXAMPLES,
    Flavor,
    assert_exception_hides_key,
    fast_retry,
)

# Two ids at a concurrency of two, so the bulk path runs both requests at
# once. NOTE: more ids than the concurrency would let one long Retry-After
# stall the call; test_retry_bounds.py pins that bug separately.
OPERATIONS: dict[str, tuple[Any, ...]] = {
    "list": (),
    "get": ("av-1",),
    "delete": ("av-1",),
    "get_many": (["av-1", "av-2"],),
}
# A call may take two attempts of TIMEOUT, within DEADLINE; a bulk call may
# add the 1 s pause that an overload response without Retry-After causes.
TIMEOUT = 0.2
DEADLINE = 1.5
TIME_BOUND = DEADLINE + 4.0
ASYNC = Flavor("async")
SYNC = Flavor("sync")


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def client_options(server: RawServer) -> dict[str, Any]:
    return {
        "api_key": API_KEY,
        "base_url": server.origin,
        "timeout": TIMEOUT,
        "connect_timeout": 1.0,
        "deadline": DEADLINE,
        "retry": fast_retry(max_retries=1),
    }


def assert_valid_avatar(avatar: object) -> None:
    """Fail unless ``avatar`` is an ``Avatar`` whose every field has its declared type."""
    assert isinstance(avatar, Avatar)
    assert isinstance(avatar.id, str)
    assert isinstance(avatar.user_id, str)
    assert isinstance(avatar.name, str)
    assert isinstance(avatar.status, str)
    assert isinstance(avatar.created_at, datetime)
    assert avatar.created_at.utcoffset() is not None
    assert isinstance(avatar.supported_interactive_models, tuple)
    assert all(isinstance(model, str) for model in avatar.supported_interactive_models)
    assert isinstance(avatar.themes, tuple)
    for theme in avatar.themes:
        assert isinstance(theme, AvatarTheme)
        assert isinstance(theme.name, str)
        assert theme.key_image is None or isinstance(theme.key_image, str)
        assert theme.live_video is None or isinstance(theme.live_video, str)


def assert_valid_error(error: MirakoError) -> None:
    """Fail unless the error has a message and keeps the key out of everything it shows."""
    assert isinstance(error.message, str)
    assert error.message
    assert_exception_hides_key(error)


def assert_valid_outcome(method: str, outcome: object) -> None:
    """Fail unless ``outcome`` is what ``method`` returns, or a valid ``MirakoError``."""
    if isinstance(outcome, MirakoError):
        assert_valid_error(outcome)
    elif method == "list":
        assert isinstance(outcome, list)
        for avatar in outcome:
            assert_valid_avatar(avatar)
    elif method == "get":
        assert_valid_avatar(outcome)
    elif method == "delete":
        assert outcome is None
    else:
        assert isinstance(outcome, list)
        assert len(outcome) == 2
        for item in outcome:
            if isinstance(item, MirakoError):
                assert_valid_error(item)
            else:
                assert_valid_avatar(item)


def call_timed(flavor: Flavor, server: RawServer, method: str) -> object:
    """Call ``method``, returning its result or the ``MirakoError`` it raised; anything else fails the test."""
    started = time.monotonic()
    outcome: object
    try:
        outcome = flavor.call(client_options(server), method, *OPERATIONS[method], time_limit=TIME_BOUND * 2)
    except MirakoError as exc:
        outcome = exc
    elapsed = time.monotonic() - started
    assert elapsed < TIME_BOUND, f"{method}() took {elapsed:.2f} s"
    return outcome


# Arbitrary bytes on the wire


def check_raw_response(flavor: Flavor, server: RawServer, reply: Reply, method: str) -> None:
    server.requests.clear()
    server.responder = lambda _request: reply

    outcome = call_timed(flavor, server, method)

    assert_valid_outcome(method, outcome)


# Cases named in the fuzzing plan, run first on every run whatever Hypothesis draws.
NAMED_CASES = {
    "stray bytes after 204": b"HTTP/1.1 204 No Content\r\n\r\nstray bytes",
    "two Content-Length": b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\n{"data": []}',
    "bad Content-Length": b'HTTP/1.1 200 OK\r\nContent-Length: -12\r\n\r\n{"data": []}',
    "header over 8 KiB": b"HTTP/1.1 200 OK\r\nX-Large: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "100 Continue then close": b"HTTP/1.1 100 Continue\r\n\r\n",
    "101 Switching Protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "status 999": b"HTTP/1.1 999 Unknown\r\nContent-Length: 0\r\n\r\n",
    "garbage status line": b"HTTP/1.1 abc OK\r\n\r\n",
    "429 with garbage Retry-After": b"HTTP/1.1 429 Too Many\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n",
    "invalid UTF-8 body": b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"data": \xff}',
    "empty response": b"",
}


def with_named_cases(test: Any) -> Any:
    """Add every named case, once per operation, as an explicit example of ``test``."""
    for data in NAMED_CASES.values():
        for method in OPERATIONS:
            test = example(reply=Reply(data), method=method)(test)
    return test


@fuzz_settings(FUZZ_EXAMPLES)
@given(reply=raw_responses(), method=st.sampled_from(sorted(OPERATIONS)))
@with_named_cases
def test_raw_responses_async(api_server: RawServer, reply: Reply, method: str) -> None:
    check_raw_response(ASYNC, api_server, reply, method)


@fuzz_settings(SYNC_FUZZ_EXAMPLES)
@given(reply=raw_responses(), method=st.sampled_from(sorted(OPERATIONS)))
@with_named_cases
def test_raw_responses_sync(api_server: RawServer, reply: Reply, method: str) -> None:
    check_raw_response(SYNC, api_server, reply, method)


# Well-framed 200 responses whose JSON may not fit the schema

# Each body comes with what a correct decoder must return for it: the one
# avatar, the list of avatars, or None when the body may be invalid.
expected_bodies = st.one_of(
    valid_avatars.map(lambda avatar: ("get", {"data": avatar}, [avatar])),
    st.lists(valid_avatars, max_size=3).map(lambda avatars: ("list", {"data": avatars}, avatars)),
    st.tuples(st.sampled_from(["get", "list"]), avatar_bodies, st.none()),
)


def assert_matches_document(avatar: Avatar, document: dict[str, Any]) -> None:
    """Fail unless a decoded avatar carries the values of the document it came from."""
    assert avatar.id == document["id"]
    assert avatar.user_id == document["user_id"]
    assert avatar.name == document["name"]
    assert avatar.status == document["status"]
    assert isinstance(avatar.status, AvatarStatus) == (document["status"] in set(AvatarStatus))
    assert list(avatar.supported_interactive_models) == (document.get("supported_interactive_models") or [])
    themes = document.get("themes") or []
    assert [theme.name for theme in avatar.themes] == [theme["name"] for theme in themes]
    assert [theme.key_image for theme in avatar.themes] == [theme.get("key_image") for theme in themes]
    assert [theme.live_video for theme in avatar.themes] == [theme.get("live_video") for theme in themes]


def check_avatar_body(flavor: Flavor, server: RawServer, method: str, body: Any, expected: list[Any] | None) -> None:
    wire = body if isinstance(body, bytes) else json.dumps(body).encode()
    server.reply_with(http_response(200, wire, [("Content-Type", "application/json")]))

    outcome = call_timed(flavor, server, method)

    if expected is None:
        if isinstance(outcome, MirakoError):
            assert isinstance(outcome, ResponseValidationError), repr(outcome)
            assert outcome.status_code == 200
        assert_valid_outcome(method, outcome)
        return
    assert not isinstance(outcome, MirakoError), f"a valid body was rejected: {outcome}"
    decoded = [outcome] if method == "get" else outcome
    assert isinstance(decoded, list)
    assert len(decoded) == len(expected)
    for avatar, document in zip(decoded, expected, strict=True):
        assert_valid_avatar(avatar)
        assert_matches_document(avatar, document)


@fuzz_settings(FUZZ_EXAMPLES)
@given(case=expected_bodies)
def test_avatar_bodies_async(api_server: RawServer, case: tuple[str, Any, list[Any] | None]) -> None:
    check_avatar_body(ASYNC, api_server, *case)


@fuzz_settings(SYNC_FUZZ_EXAMPLES)
@given(case=expected_bodies)
def test_avatar_bodies_sync(api_server: RawServer, case: tuple[str, Any, list[Any] | None]) -> None:
    check_avatar_body(SYNC, api_server, *case)


# Well-framed error responses with arbitrary problem bodies

content_types = st.sampled_from(
    ["application/problem+json", "application/json", "text/html", "text/plain; charset=latin-1", ""]
)


def check_error_body(
    flavor: Flavor,
    server: RawServer,
    method: str,
    status: int,
    body: bytes,
    content_type: str,
    retry_after: str | None,
) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    server.reply_with(http_response(status, body, headers))

    outcome = call_timed(flavor, server, method)

    assert isinstance(outcome, APIStatusError), repr(outcome)
    assert outcome.status_code == status
    if status == 429:
        assert isinstance(outcome, RateLimitError)
    if status >= 500:
        assert isinstance(outcome, InternalServerError)
    for text in (outcome.title, outcome.detail, outcome.type, outcome.instance, outcome.body):
        assert text is None or isinstance(text, str)
    assert isinstance(outcome.errors, tuple)
    assert all(isinstance(detail, ErrorDetail) for detail in outcome.errors)
    if outcome.retry_after is not None:
        assert math.isfinite(outcome.retry_after)
        assert outcome.retry_after >= 0
    assert_valid_error(outcome)


error_cases = st.tuples(
    st.sampled_from(["list", "get", "delete"]),
    st.one_of(st.sampled_from([400, 401, 402, 403, 404, 408, 409, 422, 429, 500, 503]), st.integers(400, 999)),
    problem_bodies,
    content_types,
    st.one_of(st.none(), retry_after_values),
)


@fuzz_settings(FUZZ_EXAMPLES)
@given(case=error_cases)
def test_error_bodies_async(api_server: RawServer, case: tuple[str, int, bytes, str, str | None]) -> None:
    check_error_body(ASYNC, api_server, *case)


@fuzz_settings(SYNC_FUZZ_EXAMPLES)
@given(case=error_cases)
def test_error_bodies_sync(api_server: RawServer, case: tuple[str, int, bytes, str, str | None]) -> None:
    check_error_body(SYNC, api_server, *case)
