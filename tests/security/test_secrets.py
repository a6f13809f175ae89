"""The API key stays out of logs, reprs, tracebacks and every request to another origin."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mirako_async import (
    AsyncMirako,
    Avatar,
    AvatarTheme,
    Mirako,
    MirakoError,
    RedirectError,
    RetryPolicy,
)

from ._raw_server import RawServer, Reply, http_response, json_response, scripted
from ._support import (
    API_KEY,
    Flavor,
    assert_exception_hides_key,
    assert_records_hide_key,
    avatar_document,
    fast_retry,
)

REDIRECT_STATUSES = [301, 302, 303, 307, 308]


def client_options(server: RawServer, **overrides: Any) -> dict[str, Any]:
    """Return client arguments aimed at ``server``, with short timeouts and no retries."""
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": server.origin,
        "timeout": 2.0,
        "connect_timeout": 2.0,
        "retry": fast_retry(max_retries=0),
    }
    options.update(overrides)
    return options


def avatar_with_assets(base: str) -> Avatar:
    """Build an avatar whose presigned links point at ``base``, with a signature in the query."""
    return Avatar(
        id="av-1",
        user_id="user-1",
        name="Ada",
        status="READY",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        themes=(
            AvatarTheme(
                name="default",
                key_image=f"{base}/bucket/av-1/key.png?X-Amz-Signature=abc",
                live_video=f"{base}/bucket/av-1/live.mp4?X-Amz-Signature=def",
            ),
        ),
    )


def assert_key_absent_from(server: RawServer) -> None:
    """Fail when any request head that ``server`` received carries the key or an Authorization header."""
    for request in server.requests:
        assert request.header("Authorization") is None, f"{request.request_line!r} carries Authorization"
        assert API_KEY.encode() not in request.head, f"{request.request_line!r} carries the key"


# Logs


def test_logs_hide_key_on_success(flavor: Flavor, api_server: RawServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api_server.reply_with(json_response(200, {"data": [avatar_document()]}))

    avatars = flavor.call(client_options(api_server), "list")

    assert len(avatars) == 1
    assert any(record.name == "mirako_async" for record in caplog.records), "the SDK logged nothing at DEBUG"
    assert_records_hide_key(caplog.records)


def test_logs_hide_key_on_retries(flavor: Flavor, api_server: RawServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api_server.responder = scripted(
        [
            Reply(json_response(503, {"title": "Busy"}, [("Retry-After", "0")])),
            Reply(http_response(500, b"<html><title>Oops</title></html>")),
            Reply(b""),  # Closes the connection without a response.
            Reply(json_response(200, {"data": avatar_document()})),
        ]
    )

    avatar = flavor.call(client_options(api_server, retry=fast_retry(max_retries=3)), "get", "av-1")

    assert avatar.id == "av-1"
    assert any("Retrying" in record.getMessage() for record in caplog.records)
    assert_records_hide_key(caplog.records)


def test_logs_hide_key_on_same_origin_redirect(
    flavor: Flavor, api_server: RawServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api_server.responder = scripted(
        [
            Reply(http_response(307, headers=[("Location", "/v1/avatar/av-2")])),
            Reply(json_response(200, {"data": avatar_document("av-2")})),
        ]
    )

    avatar = flavor.call(client_options(api_server), "get", "av-1")

    assert avatar.id == "av-2"
    assert any("redirected" in record.getMessage() for record in caplog.records)
    assert_records_hide_key(caplog.records)


FAILING_REPLIES = {
    "401-problem": Reply(json_response(401, {"title": "Unauthorized", "detail": "Invalid key"})),
    "500-html": Reply(http_response(500, b"<html><title>Bad gateway</title></html>")),
    "closed": Reply(b""),
    "garbage": Reply(b"\x00\xffNOT HTTP\r\n\r\n"),
    "invalid-body": Reply(json_response(200, {"data": {"id": 1}})),
    "timeout": Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{", keep_open=True),
}


@pytest.mark.parametrize("reply", FAILING_REPLIES.values(), ids=FAILING_REPLIES.keys())
def test_errors_and_logs_hide_key(
    flavor: Flavor, api_server: RawServer, caplog: pytest.LogCaptureFixture, reply: Reply
) -> None:
    caplog.set_level(logging.DEBUG)
    api_server.responder = lambda _request: reply

    with pytest.raises(MirakoError) as info:
        flavor.call(client_options(api_server, timeout=0.5, retry=fast_retry(max_retries=1)), "get", "av-1")

    assert_exception_hides_key(info.value)
    assert_records_hide_key(caplog.records)


def test_cross_origin_redirect_logs_hide_key(
    flavor: Flavor, api_server: RawServer, other_server: RawServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api_server.reply_with(http_response(302, headers=[("Location", f"{other_server.origin}/steal")]))

    with pytest.raises(RedirectError) as info:
        flavor.call(client_options(api_server), "list")

    assert_exception_hides_key(info.value)
    assert_records_hide_key(caplog.records)


# Reprs and tracebacks


@pytest.mark.parametrize("client_class", [AsyncMirako, Mirako])
def test_client_repr_hides_key(client_class: type[AsyncMirako] | type[Mirako]) -> None:
    client = client_class(api_key=API_KEY, base_url="http://127.0.0.1:9")
    clone = client.with_options(timeout=5.0)

    try:
        for subject in (client, clone, client.avatars, clone.avatars):
            assert API_KEY not in repr(subject)
            assert API_KEY not in str(subject)
            assert API_KEY not in repr(vars(subject))
    finally:
        if isinstance(client, Mirako):
            client.close()


@pytest.mark.parametrize("client_class", [AsyncMirako, Mirako])
@pytest.mark.parametrize(
    "arguments",
    [
        {"base_url": "ftp://127.0.0.1"},
        {"base_url": "http://api.mirako.invalid"},
        {"base_url": "http://user:password@127.0.0.1"},
        {"timeout": -1.0},
        {"deadline": float("nan")},
        {"max_retries": -1},
        {"retry": "twice"},
        {"max_connections": 0},
    ],
    ids=["scheme", "insecure-host", "credentials", "timeout", "deadline", "max-retries", "retry", "connections"],
)
def test_construction_errors_hide_key(
    client_class: type[AsyncMirako] | type[Mirako], arguments: dict[str, Any]
) -> None:
    options = {"api_key": API_KEY, "base_url": "http://127.0.0.1:9", **arguments}

    with pytest.raises((ValueError, TypeError)) as info:
        client_class(**options)

    assert_exception_hides_key(info.value)


# Asset downloads


def test_asset_downloads_send_no_credentials(
    flavor: Flavor, api_server: RawServer, other_server: RawServer, tmp_path: Path
) -> None:
    other_server.reply_with(http_response(200, b"asset bytes", [("Content-Type", "application/octet-stream")]))

    paths = flavor.call(
        client_options(api_server), "download_assets", avatar_with_assets(other_server.origin), tmp_path
    )

    assert [path.read_bytes() for path in paths] == [b"asset bytes", b"asset bytes"]
    assert len(other_server.requests) == 2
    assert_key_absent_from(other_server)
    assert api_server.requests == []


def test_asset_redirect_to_api_origin_sends_no_credentials(
    flavor: Flavor, api_server: RawServer, other_server: RawServer, tmp_path: Path
) -> None:
    other_server.reply_with(http_response(302, headers=[("Location", f"{api_server.origin}/stored/file")]))
    api_server.reply_with(http_response(200, b"asset bytes"))

    paths = flavor.call(
        client_options(api_server), "download_assets", avatar_with_assets(other_server.origin), tmp_path
    )

    assert len(paths) == 2
    assert [request.target for request in api_server.requests] == ["/stored/file", "/stored/file"]
    assert_key_absent_from(other_server)
    assert_key_absent_from(api_server)


def test_asset_download_error_hides_key(
    flavor: Flavor, api_server: RawServer, other_server: RawServer, tmp_path: Path
) -> None:
    other_server.reply_with(http_response(403, b"<Error>Request has expired</Error>"))

    with pytest.raises(MirakoError) as info:
        flavor.call(client_options(api_server), "download_assets", avatar_with_assets(other_server.origin), tmp_path)

    assert "X-Amz-Signature" not in str(info.value)
    assert_exception_hides_key(info.value)
    assert_key_absent_from(other_server)


# Redirects


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize(
    ("method", "arguments"),
    [("list", ()), ("get", ("av-1",)), ("delete", ("av-1",))],
    ids=["list", "get", "delete"],
)
def test_cross_origin_redirect_is_not_followed(
    flavor: Flavor,
    api_server: RawServer,
    other_server: RawServer,
    status: int,
    method: str,
    arguments: tuple[str, ...],
) -> None:
    location = f"{other_server.origin}/v1/avatar/list"
    api_server.reply_with(http_response(status, headers=[("Location", location)]))

    with pytest.raises(RedirectError) as info:
        flavor.call(client_options(api_server), method, *arguments)

    assert info.value.status_code == status
    assert info.value.location == location
    assert len(api_server.requests) == 1
    assert other_server.connections == 0
    assert_exception_hides_key(info.value)


# Locations on another origin, some on the API server's own socket. The
# placeholders {api} and {other} stand for the ports of the two servers.
OTHER_ORIGIN_LOCATIONS = {
    "other-scheme": "https://127.0.0.1:{api}/v1/avatar/list",
    "other-host-name": "http://localhost:{api}/v1/avatar/list",
    "scheme-relative": "//127.0.0.1:{other}/v1/avatar/list",
    "with-credentials": "http://user:password@127.0.0.1:{other}/v1/avatar/list",
    "upper-case-scheme": "HTTP://127.0.0.1:{other}/v1/avatar/list",
    "no-path": "http://127.0.0.1:{other}",
}


@pytest.mark.parametrize("template", OTHER_ORIGIN_LOCATIONS.values(), ids=OTHER_ORIGIN_LOCATIONS.keys())
def test_redirect_to_other_origin_is_not_followed(
    flavor: Flavor, api_server: RawServer, other_server: RawServer, template: str
) -> None:
    location = template.format(api=api_server.port, other=other_server.port)
    api_server.reply_with(http_response(307, headers=[("Location", location)]))

    with pytest.raises(RedirectError):
        flavor.call(client_options(api_server), "list")

    assert len(api_server.requests) == 1, f"{location} was followed"
    assert other_server.connections == 0


@pytest.mark.parametrize("location", ["", " ", "http://[::1"], ids=["empty", "space", "bad-ipv6"])
def test_redirect_with_unusable_location_raises_redirect_error(
    flavor: Flavor, api_server: RawServer, location: str
) -> None:
    api_server.reply_with(http_response(302, headers=[("Location", location)]))

    with pytest.raises(RedirectError):
        flavor.call(client_options(api_server), "list")

    assert len(api_server.requests) == 1


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "mailto:admin@mirako.invalid", "data:,x", "https:", "https:///v1/avatar/list"],
)
def test_redirect_to_url_without_host_raises_redirect_error(
    flavor: Flavor, api_server: RawServer, location: str
) -> None:
    api_server.reply_with(http_response(302, headers=[("Location", location)]))

    with pytest.raises(RedirectError):
        flavor.call(client_options(api_server), "list")

    assert len(api_server.requests) == 1


def test_same_origin_redirect_with_credentials_is_refused(flavor: Flavor, api_server: RawServer) -> None:
    # Credentials in the target would replace or clash with the API key's header.
    location = f"http://user:password@127.0.0.1:{api_server.port}/v1/avatar/list"
    api_server.reply_with(http_response(302, headers=[("Location", location)]))

    with pytest.raises(RedirectError) as info:
        flavor.call(client_options(api_server), "list")

    assert len(api_server.requests) == 1
    assert_exception_hides_key(info.value)


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize(
    ("method", "http_method", "final"),
    [
        ("get", "GET", Reply(json_response(200, {"data": avatar_document("av-2")}))),
        ("delete", "DELETE", Reply(http_response(204))),
    ],
    ids=["get", "delete"],
)
def test_same_origin_redirect_keeps_method(
    flavor: Flavor, api_server: RawServer, status: int, method: str, http_method: str, final: Reply
) -> None:
    api_server.responder = scripted(
        [
            Reply(http_response(status, headers=[("Location", f"{api_server.origin}/v1/avatar/av-2")])),
            final,
        ]
    )

    flavor.call(client_options(api_server), method, "av-1")

    lines = [request.request_line for request in api_server.requests]
    assert lines == [
        f"{http_method} /v1/avatar/av-1 HTTP/1.1".encode(),
        f"{http_method} /v1/avatar/av-2 HTTP/1.1".encode(),
    ]
    # Same origin, so the key goes along, as it does to the API itself.
    assert [request.header("Authorization") for request in api_server.requests] == [f"Bearer {API_KEY}"] * 2


def redirect_chain(length: int, final: Reply) -> list[Reply]:
    """Build ``length`` same-origin redirects, each to the next hop, then ``final``."""
    hops = [Reply(http_response(302, headers=[("Location", f"/v1/avatar/hop-{n + 1}")])) for n in range(length)]
    return [*hops, final]


def test_five_redirects_are_followed(flavor: Flavor, api_server: RawServer) -> None:
    api_server.responder = scripted(redirect_chain(5, Reply(json_response(200, {"data": avatar_document("hop-5")}))))

    avatar = flavor.call(client_options(api_server), "get", "start")

    assert avatar.id == "hop-5"
    assert [request.target for request in api_server.requests] == [
        "/v1/avatar/start",
        *(f"/v1/avatar/hop-{n}" for n in range(1, 6)),
    ]


def test_sixth_redirect_raises_redirect_error(flavor: Flavor, api_server: RawServer) -> None:
    api_server.responder = scripted(redirect_chain(6, Reply(json_response(200, {"data": avatar_document()}))))

    with pytest.raises(RedirectError) as info:
        flavor.call(client_options(api_server, retry=RetryPolicy(max_retries=0)), "get", "start")

    assert len(api_server.requests) == 6
    assert info.value.location == "/v1/avatar/hop-6"
    assert_exception_hides_key(info.value)
