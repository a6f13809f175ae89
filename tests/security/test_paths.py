"""Every avatar id becomes exactly one percent-encoded path segment, and nothing else reaches the wire."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mirako_async import MirakoError, NotFoundError

from ._raw_server import RawServer, json_response
from ._support import API_KEY, Flavor, fast_retry

RESERVED_IDS = ["", ".", "..", "list"]
# The header fields the client sends besides the request line, with
# "Content-Length: 0" added for DELETE. Any other line would be a header
# injected through the id.
EXPECTED_HEADERS = ["host", "authorization", "accept", "user-agent", "accept-encoding"]
# Characters that urllib.parse.quote(safe="") leaves alone: RFC 3986 unreserved.
ENCODED_SEGMENT = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+")
HTTP_METHODS = {"get": "GET", "delete": "DELETE", "get_many": "GET", "delete_many": "DELETE"}

tricky_pieces = st.sampled_from(
    [*"/?#%&=+;:@[]\\ \"'<>{}|^`~.", "\r", "\n", "\r\n", "\t", "\x00", "\x7f", "%2e", "%0d%0a", "list", ".."]
)
avatar_ids = st.lists(st.one_of(tricky_pieces, st.characters()), max_size=24).map("".join)


def client_options(server: RawServer) -> dict[str, Any]:
    return {"api_key": API_KEY, "base_url": server.origin, "timeout": 2.0, "retry": fast_retry(max_retries=0)}


def call_with_id(flavor: Flavor, server: RawServer, method: str, avatar_id: str) -> object:
    """Call ``method`` for one id, passing a one-item list to the bulk methods."""
    argument: object = [avatar_id] if method.endswith("_many") else avatar_id
    return flavor.call(client_options(server), method, argument)


def assert_head_is_clean(head: bytes, http_method: str) -> None:
    """Fail unless the head contains exactly the expected header lines, none with a stray CR or LF."""
    lines = head.split(b"\r\n")
    for line in lines:
        assert b"\r" not in line, f"bare CR in {line!r}"
        assert b"\n" not in line, f"bare LF in {line!r}"
    names = [line.partition(b":")[0].decode("latin-1").lower() for line in lines[1:]]
    expected = EXPECTED_HEADERS + (["content-length"] if http_method == "DELETE" else [])
    assert sorted(names) == sorted(expected)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(avatar_id=avatar_ids, method=st.sampled_from(sorted(HTTP_METHODS)))
@example(avatar_id="%2e%2e", method="get")
@example(avatar_id=".%2e", method="delete")
@example(avatar_id="...", method="get")
@example(avatar_id="List", method="get")
@example(avatar_id="list/", method="get")
@example(avatar_id="../list", method="delete")
@example(avatar_id="a\r\nX-Injected: 1", method="get")
@example(avatar_id="a HTTP/1.1\r\nHost: evil", method="delete")
@example(avatar_id="a?b#c%d/e", method="get_many")
@example(avatar_id="\u2028\u0085", method="get")
def test_avatar_id_is_one_encoded_segment(flavor: Flavor, api_server: RawServer, avatar_id: str, method: str) -> None:
    api_server.requests.clear()
    api_server.reply_with(json_response(404, {"title": "Not Found"}))

    if avatar_id in RESERVED_IDS:
        with pytest.raises(ValueError):
            call_with_id(flavor, api_server, method, avatar_id)
        assert api_server.requests == []
        return

    try:
        outcome = call_with_id(flavor, api_server, method, avatar_id)
    except NotFoundError:
        outcome = None
    if method.endswith("_many"):
        assert isinstance(outcome, list)
        assert len(outcome) == 1
        assert isinstance(outcome[0], MirakoError)

    [request] = api_server.requests
    http_method, target, version = request.request_line.decode("latin-1").split(" ")
    assert http_method == HTTP_METHODS[method]
    assert version == "HTTP/1.1"
    prefix, _, segment = target.partition("/v1/avatar/")
    assert prefix == ""
    assert ENCODED_SEGMENT.fullmatch(segment), f"{segment!r} is not one percent-encoded segment"
    assert unquote(segment, errors="strict") == avatar_id
    assert_head_is_clean(request.head, http_method)


@pytest.mark.parametrize("avatar_id", RESERVED_IDS)
@pytest.mark.parametrize("method", ["get", "delete", "wait_until_ready"])
def test_reserved_id_sends_nothing(flavor: Flavor, api_server: RawServer, avatar_id: str, method: str) -> None:
    with pytest.raises(ValueError):
        flavor.call(client_options(api_server), method, avatar_id)

    assert api_server.connections == 0


def test_list_id_does_not_reach_list_endpoint(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(json_response(200, {"data": []}))

    with pytest.raises(ValueError, match="list"):
        flavor.call(client_options(api_server), "get", "list")

    assert api_server.connections == 0


@pytest.mark.parametrize("method", ["get", "delete"])
def test_lone_surrogate_id_sends_nothing(flavor: Flavor, api_server: RawServer, method: str) -> None:
    with pytest.raises(ValueError):
        flavor.call(client_options(api_server), method, "av-\ud800")

    assert api_server.connections == 0


@pytest.mark.parametrize("method", ["get_many", "delete_many", "iter_many"])
@pytest.mark.parametrize(
    "avatar_ids",
    [["ok", ""], ["ok", "list"], ["ok", ".."], ["ok", "."], ["ok", "x\ud800"]],
    ids=["empty", "list", "dot-dot", "dot", "surrogate"],
)
def test_bulk_with_invalid_id_sends_nothing(
    flavor: Flavor, api_server: RawServer, method: str, avatar_ids: list[str]
) -> None:
    with pytest.raises(ValueError, match=r"avatar_ids\[1\]"):
        flavor.call(client_options(api_server), method, avatar_ids)

    assert api_server.connections == 0


@pytest.mark.parametrize("method", ["get_many", "delete_many", "iter_many"])
@pytest.mark.parametrize("avatar_ids", ["ok", ["ok", 5], ["ok", None]], ids=["one-string", "int", "none"])
def test_bulk_with_wrong_type_sends_nothing(
    flavor: Flavor, api_server: RawServer, method: str, avatar_ids: object
) -> None:
    with pytest.raises(TypeError):
        flavor.call(client_options(api_server), method, avatar_ids)

    assert api_server.connections == 0
