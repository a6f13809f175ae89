"""Checks on the API key and the base URL, made when a client is constructed."""

from __future__ import annotations

import pytest

from mirako_async import AsyncMirako, Mirako

from ._raw_server import RawServer, json_response
from ._support import API_KEY, Flavor, assert_exception_hides_key, fast_retry

CLIENT_CLASSES = [AsyncMirako, Mirako]
# Each half is long enough that finding it in a message means the key leaked.
KEY_HEAD, KEY_TAIL = API_KEY[:20], API_KEY[20:]

FORBIDDEN_CHARACTERS = {
    "CR": "\r",
    "LF": "\n",
    "CRLF-header": "\r\nX-Injected: 1\r\n",
    "NUL": "\x00",
    "tab": "\t",
    "space": " ",
    "DEL": "\x7f",
    "unit-separator": "\x1f",
    "non-ASCII": "é",
    "line-separator": "\u2028",
}

INSECURE_BASE_URLS = [
    "http://api.mirako.invalid",
    "http://api.mirako.invalid:8080/prefix",
    "http://192.0.2.10",
    "http://[2001:db8::1]",
    "http://127.0.0.1.mirako.invalid",
    "http://localhost.mirako.invalid",
    "http://2130706433",  # 127.0.0.1 as one decimal number, which the SDK does not read as loopback.
    "http://127.1",
]


def close_if_blocking(client: AsyncMirako | Mirako) -> None:
    """Close a blocking client; an unused ``AsyncMirako`` holds no resources yet."""
    if isinstance(client, Mirako):
        client.close()


@pytest.mark.parametrize("client_class", CLIENT_CLASSES)
@pytest.mark.parametrize("character", FORBIDDEN_CHARACTERS.values(), ids=FORBIDDEN_CHARACTERS.keys())
def test_key_with_forbidden_character_is_rejected(
    client_class: type[AsyncMirako] | type[Mirako], character: str
) -> None:
    key = KEY_HEAD + character + KEY_TAIL

    with pytest.raises(ValueError, match="invalid character") as info:
        client_class(api_key=key, base_url="http://127.0.0.1:9")

    message = str(info.value)
    assert KEY_HEAD not in message
    assert KEY_TAIL not in message
    assert_exception_hides_key(info.value, KEY_HEAD)
    assert_exception_hides_key(info.value, KEY_TAIL)


@pytest.mark.parametrize("client_class", CLIENT_CLASSES)
@pytest.mark.parametrize("variable", ["MIRAKO_API_KEY", "MIRAKO_API_TOKEN"])
def test_key_from_environment_with_crlf_is_rejected(
    client_class: type[AsyncMirako] | type[Mirako], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, KEY_HEAD + "\r\nX-Injected: 1" + KEY_TAIL)

    with pytest.raises(ValueError, match="invalid character") as info:
        client_class(base_url="http://127.0.0.1:9")

    assert_exception_hides_key(info.value, KEY_HEAD)
    assert_exception_hides_key(info.value, KEY_TAIL)


def test_key_whitespace_is_stripped_on_the_wire(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(json_response(200, {"data": []}))
    options = {"api_key": f" \t{API_KEY}\r\n ", "base_url": api_server.origin, "retry": fast_retry(0)}

    assert flavor.call(options, "list") == []

    [request] = api_server.requests
    assert request.header("Authorization") == f"Bearer {API_KEY}"
    assert [name for name, _ in request.headers].count("authorization") == 1


@pytest.mark.parametrize("client_class", CLIENT_CLASSES)
@pytest.mark.parametrize("base_url", INSECURE_BASE_URLS)
def test_plain_http_on_other_host_is_refused(client_class: type[AsyncMirako] | type[Mirako], base_url: str) -> None:
    with pytest.raises(ValueError, match="allow_insecure=True") as info:
        client_class(api_key=API_KEY, base_url=base_url)

    assert_exception_hides_key(info.value)


@pytest.mark.parametrize("client_class", CLIENT_CLASSES)
def test_plain_http_from_environment_is_refused(
    client_class: type[AsyncMirako] | type[Mirako], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRAKO_BASE_URL", "http://api.mirako.invalid")

    with pytest.raises(ValueError, match="allow_insecure=True"):
        client_class(api_key=API_KEY)


@pytest.mark.parametrize("client_class", CLIENT_CLASSES)
@pytest.mark.parametrize("base_url", INSECURE_BASE_URLS)
def test_allow_insecure_permits_plain_http(client_class: type[AsyncMirako] | type[Mirako], base_url: str) -> None:
    # Construction only: no request ever goes to these hosts.
    client = client_class(api_key=API_KEY, base_url=base_url, allow_insecure=True)

    try:
        assert client.base_url == base_url
    finally:
        close_if_blocking(client)


@pytest.mark.parametrize("client_class", CLIENT_CLASSES)
@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9",
        "http://127.8.9.10:9",
        "http://localhost:9",
        "http://LOCALHOST:9",
        "http://mirako.localhost:9",
        "http://[::1]:9",
        "https://api.mirako.invalid",
    ],
)
def test_loopback_or_https_needs_no_opt_in(client_class: type[AsyncMirako] | type[Mirako], base_url: str) -> None:
    client = client_class(api_key=API_KEY, base_url=base_url)

    try:
        assert client.base_url.lower() == base_url.lower()
    finally:
        close_if_blocking(client)
