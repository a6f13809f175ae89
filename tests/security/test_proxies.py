"""Proxy variables are honoured with ``trust_env=True`` (the default) and ignored without it.

The API and storage hosts here are under ``.invalid``, which never resolves,
and the network guard fails their lookups without sending a query. So a
request that skips the local proxy fails with a DNS error instead of
reaching any real host.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mirako_async import APIConnectionError, AssetDownloadError, Avatar, AvatarTheme, ResponseValidationError

from ._raw_server import RawServer, http_response, json_response
from ._support import (
    API_KEY,
    Flavor,
    assert_exception_hides_key,
    assert_records_hide_key,
    avatar_document,
    fast_retry,
)

API_HOST = "api.mirako.invalid"
STORAGE_HOST = "storage.mirako.invalid"
PROXY_PASSWORD = "proxy-password-5b1f0e7d"


def client_options(base_url: str, **overrides: Any) -> dict[str, Any]:
    """Return client arguments for ``base_url`` with short timeouts and no retries."""
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": base_url,
        "allow_insecure": True,
        "timeout": 2.0,
        "connect_timeout": 2.0,
        "retry": fast_retry(max_retries=0),
    }
    options.update(overrides)
    return options


def storage_avatar() -> Avatar:
    """Build an avatar whose one asset link is on the storage host."""
    return Avatar(
        id="av-1",
        user_id="user-1",
        name="Ada",
        status="READY",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        themes=(AvatarTheme(name="default", key_image=f"http://{STORAGE_HOST}/bucket/key.png?X-Amz-Signature=abc"),),
    )


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
def test_http_proxy_is_used_by_default(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    proxy_server.reply_with(json_response(200, {"data": [avatar_document()]}))
    monkeypatch.setenv(variable, proxy_server.origin)

    avatars = flavor.call(client_options(f"http://{API_HOST}"), "list")

    assert [avatar.id for avatar in avatars] == ["av-1"]
    [request] = proxy_server.requests
    assert request.request_line == f"GET http://{API_HOST}/v1/avatar/list HTTP/1.1".encode()
    assert request.header("Host") == API_HOST


def test_https_proxy_gets_connect_without_key(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proxy refuses the tunnel, so no TLS handshake and no request follow.
    proxy_server.reply_with(http_response(403, b"tunnel refused"))
    monkeypatch.setenv("HTTPS_PROXY", proxy_server.origin)

    with pytest.raises(APIConnectionError):
        flavor.call(client_options(f"https://{API_HOST}"), "list")

    [request] = proxy_server.requests
    assert request.request_line == f"CONNECT {API_HOST}:443 HTTP/1.1".encode()
    assert request.header("Authorization") is None
    assert request.header("Proxy-Authorization") is None
    assert API_KEY.encode() not in request.head


def test_http_proxy_gets_no_key_as_proxy_credentials(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over plain HTTP the proxy receives the Authorization header of the request
    # it forwards; it must not also get the key as its own credentials.
    proxy_server.reply_with(json_response(200, {"data": []}))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)

    flavor.call(client_options(f"http://{API_HOST}"), "list")

    [request] = proxy_server.requests
    assert request.header("Proxy-Authorization") is None


def test_proxy_credentials_go_only_to_proxy(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_server.reply_with(http_response(403, b"tunnel refused"))
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:{proxy_server.port}")

    with pytest.raises(APIConnectionError) as info:
        flavor.call(client_options(f"https://{API_HOST}"), "list")

    [request] = proxy_server.requests
    expected = "Basic " + base64.b64encode(f"proxy-user:{PROXY_PASSWORD}".encode()).decode()
    assert request.header("Proxy-Authorization") == expected
    assert_exception_hides_key(info.value, PROXY_PASSWORD)


def test_http_proxy_credentials_sent_as_proxy_authorization(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_server.reply_with(json_response(200, {"data": []}))
    monkeypatch.setenv("HTTP_PROXY", f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:{proxy_server.port}")

    assert flavor.call(client_options(f"http://{API_HOST}"), "list") == []

    [request] = proxy_server.requests
    expected = "Basic " + base64.b64encode(f"proxy-user:{PROXY_PASSWORD}".encode()).decode()
    assert request.header("Proxy-Authorization") == expected
    assert request.header("Authorization") == f"Bearer {API_KEY}"


def test_ignored_proxy_logs_no_password(
    flavor: Flavor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # An https:// proxy URL is not supported, so the SDK ignores it and logs a warning.
    monkeypatch.setenv("HTTPS_PROXY", f"https://proxy-user:{PROXY_PASSWORD}@127.0.0.1:9")

    with pytest.raises(APIConnectionError) as info:
        flavor.call(client_options(f"https://{API_HOST}"), "list")

    assert caplog.records
    assert_records_hide_key(caplog.records, PROXY_PASSWORD)
    assert_exception_hides_key(info.value, PROXY_PASSWORD)


def test_refused_tunnel_error_names_proxy_status(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_server.reply_with(
        http_response(407, b"proxy authentication required", reason="Proxy Authentication Required")
    )
    monkeypatch.setenv("HTTPS_PROXY", proxy_server.origin)

    with pytest.raises(APIConnectionError) as info:
        flavor.call(client_options(f"https://{API_HOST}"), "list")

    message = str(info.value)
    assert "proxy" in message.lower()
    assert "407" in message
    assert "malformed" not in message


def test_trust_env_false_ignores_proxy(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_server.reply_with(json_response(200, {"data": []}))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)
    monkeypatch.setenv("HTTPS_PROXY", proxy_server.origin)

    with pytest.raises(APIConnectionError, match=API_HOST):
        flavor.call(client_options(f"http://{API_HOST}", trust_env=False), "list")

    assert proxy_server.connections == 0


@pytest.mark.parametrize("no_proxy", [API_HOST, ".mirako.invalid", "mirako.invalid", "*", f"other.invalid,{API_HOST}"])
def test_no_proxy_excludes_host(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    proxy_server.reply_with(json_response(200, {"data": []}))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)
    monkeypatch.setenv("NO_PROXY", no_proxy)

    with pytest.raises(APIConnectionError, match=API_HOST):
        flavor.call(client_options(f"http://{API_HOST}"), "list")

    assert proxy_server.connections == 0


def test_no_proxy_sends_loopback_api_directly(
    flavor: Flavor, api_server: RawServer, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_server.reply_with(json_response(200, {"data": []}))
    proxy_server.reply_with(json_response(500, {"title": "The proxy should not be used"}))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    assert flavor.call(client_options(api_server.origin), "list") == []

    assert len(api_server.requests) == 1
    assert proxy_server.connections == 0


def test_no_proxy_for_other_host_keeps_proxy(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_server.reply_with(json_response(200, {"data": []}))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)
    monkeypatch.setenv("NO_PROXY", "storage.mirako.invalid,localhost")

    assert flavor.call(client_options(f"http://{API_HOST}"), "list") == []

    assert len(proxy_server.requests) == 1


# Asset downloads follow the same policy as API calls.


def test_asset_download_uses_proxy(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proxy_server.reply_with(http_response(200, b"image bytes"))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)

    [path] = flavor.call(client_options(f"http://{API_HOST}"), "download_assets", storage_avatar(), tmp_path)

    assert path.read_bytes() == b"image bytes"
    [request] = proxy_server.requests
    assert request.request_line == f"GET http://{STORAGE_HOST}/bucket/key.png?X-Amz-Signature=abc HTTP/1.1".encode()
    assert request.header("Authorization") is None
    assert API_KEY.encode() not in request.head


def test_asset_download_ignores_proxy_without_trust_env(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proxy_server.reply_with(http_response(200, b"image bytes"))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)
    options = client_options(f"http://{API_HOST}", trust_env=False)

    with pytest.raises(AssetDownloadError, match=STORAGE_HOST):
        flavor.call(options, "download_assets", storage_avatar(), tmp_path)

    assert proxy_server.connections == 0
    assert list(tmp_path.iterdir()) == []


def test_asset_download_honours_no_proxy(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proxy_server.reply_with(http_response(200, b"image bytes"))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)
    monkeypatch.setenv("NO_PROXY", STORAGE_HOST)

    with pytest.raises(AssetDownloadError, match=STORAGE_HOST):
        flavor.call(client_options(f"http://{API_HOST}"), "download_assets", storage_avatar(), tmp_path)

    assert proxy_server.connections == 0


def test_proxy_answer_is_validated_like_the_api(
    flavor: Flavor, proxy_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy is a server like any other: a body that does not fit is rejected.
    proxy_server.reply_with(http_response(200, json.dumps({"data": [{"id": 5}]}).encode()))
    monkeypatch.setenv("HTTP_PROXY", proxy_server.origin)

    with pytest.raises(ResponseValidationError) as info:
        flavor.call(client_options(f"http://{API_HOST}"), "list")

    assert info.value.paths
