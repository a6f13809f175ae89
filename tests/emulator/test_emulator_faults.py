"""Each fault type, applied to real requests over sockets."""

from __future__ import annotations

import asyncio
import email.utils
import errno
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from mirako_async.testing import (
    DropConnection,
    Emulator,
    HtmlError,
    InvalidJson,
    Latency,
    RawResponse,
    RetryAfter,
    Stall,
    Status,
    TruncatedBody,
)

AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def session(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    # A new connection per request, so that each test's connection counts
    # do not depend on pooling.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH, connector=connector) as client:
        yield client


async def fetch(
    session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[aiohttp.ClientResponse, bytes]:
    async with session.request(method, path, **kwargs) as response:
        return response, await response.read()


async def test_latency_delays(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(Latency(0.2), "list", times=1)

    started = time.perf_counter()
    response, body = await fetch(session, "GET", "/v1/avatar/list")
    elapsed = time.perf_counter() - started

    assert response.status == 200
    assert json.loads(body)["data"]
    assert elapsed >= 0.2


async def test_base_latency(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.latency = 0.15

    started = time.perf_counter()
    await fetch(session, "GET", "/v1/avatar/list")
    elapsed = time.perf_counter() - started

    assert elapsed >= 0.15
    assert emu.latency == 0.15


def test_latency_rejects_negative() -> None:
    with pytest.raises(ValueError, match="latency"):
        Emulator(latency=-1)
    with pytest.raises(ValueError, match="seconds"):
        Latency(float("nan"))


async def test_status_with_problem(emu: Emulator, session: aiohttp.ClientSession) -> None:
    errors = [{"location": "path.id", "message": "lookup failed", "value": 3}]
    emu.inject(Status(500, detail="Database down.", errors=errors), "list", times=1)

    response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "X-Request-Id" in response.headers
    problem = json.loads(body)
    assert problem["title"] == "Internal Server Error"
    assert problem["status"] == 500
    assert problem["detail"] == "Database down."
    assert problem["errors"] == errors
    assert problem["instance"] == "/v1/avatar/list"


async def test_status_without_problem(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(Status(503, problem=False, headers={"Retry-After": "soon"}), "list", times=1)

    response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 503
    assert body == b""
    assert response.headers["Retry-After"] == "soon"


async def test_faulted_delete_deletes_nothing(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.avatars()[0]["id"]
    emu.inject(Status(502), "delete", times=1)

    response, _ = await fetch(session, "DELETE", f"/v1/avatar/{avatar_id}")

    assert response.status == 502
    assert emu.avatar(avatar_id) is not None


async def test_retry_after_seconds(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(RetryAfter(429, seconds=7), "get", times=1)

    response, body = await fetch(session, "GET", "/v1/avatar/whatever")

    assert response.status == 429
    assert response.headers["Retry-After"] == "7"
    assert json.loads(body)["status"] == 429
    assert emu.stats.throttled == 1


async def test_retry_after_http_date(emu: Emulator, session: aiohttp.ClientSession) -> None:
    when = datetime(2030, 5, 6, 18, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    emu.inject(RetryAfter(503, http_date=when), "list", times=1)

    response, _ = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 503
    value = response.headers["Retry-After"]
    assert value == "Mon, 06 May 2030 16:30:15 GMT"
    assert email.utils.parsedate_to_datetime(value) == when.astimezone(UTC)


def test_retry_after_validation() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        RetryAfter(429)
    with pytest.raises(ValueError, match="exactly one"):
        RetryAfter(429, seconds=1, http_date=datetime.now(UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        RetryAfter(429, http_date=datetime(2030, 1, 1))
    with pytest.raises(TypeError, match="int"):
        RetryAfter(429, seconds=1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("server", "marker"), [("nginx", b"nginx"), ("cloudflare", b"Ray ID")])
async def test_html_error_page(emu: Emulator, session: aiohttp.ClientSession, server: Any, marker: bytes) -> None:
    emu.inject(HtmlError(502, server=server), "list", times=1)

    response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Server"] == server
    assert b"502 Bad Gateway" in body or b"Bad Gateway" in body
    assert marker in body


# aiohttp 3.14 resends an idempotent request once after ServerDisconnectedError
# or ClientOSError, so the connection faults below have no ``times`` limit, and
# the tests accept one or two firings.


async def test_drop_connection(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(DropConnection(), "list")

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(session, "GET", "/v1/avatar/list")
    handle.cancel()

    assert handle.fired in (1, 2)
    assert emu.stats.statuses == {}
    response, _ = await fetch(session, "GET", "/v1/avatar/list")
    assert response.status == 200


async def test_drop_connection_reset(emu: Emulator, session: aiohttp.ClientSession) -> None:
    handle = emu.inject(DropConnection(reset=True), "list")

    with pytest.raises(aiohttp.ClientOSError) as caught:
        await fetch(session, "GET", "/v1/avatar/list")
    handle.cancel()

    assert caught.value.errno == errno.ECONNRESET
    assert handle.fired in (1, 2)


async def test_drop_after_processing_deletes(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.avatars()[0]["id"]
    handle = emu.inject(DropConnection(after_processing=True), "delete")

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(session, "DELETE", f"/v1/avatar/{avatar_id}")
    handle.cancel()

    assert emu.avatar(avatar_id) is None
    response, _ = await fetch(session, "DELETE", f"/v1/avatar/{avatar_id}")
    assert response.status == 404


async def test_drop_before_processing_keeps(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.avatars()[0]["id"]
    emu.inject(DropConnection(), "delete")

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(session, "DELETE", f"/v1/avatar/{avatar_id}")

    assert emu.avatar(avatar_id) is not None


async def test_truncated_body(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(TruncatedBody(), "list", times=1)

    async with session.get("/v1/avatar/list") as response:
        assert response.status == 200
        length = int(response.headers["Content-Length"])
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()

    _, full = await fetch(session, "GET", "/v1/avatar/list")
    assert len(full) == length


async def raw_exchange(emu: Emulator, request_line: str) -> bytes:
    """Send one request over a plain socket and return every byte until the server closes."""
    host, port = emu.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"{request_line} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer test-key\r\n\r\n"
    writer.write(request.encode())
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    return raw


async def test_truncated_sent_bytes(emu: Emulator) -> None:
    emu.inject(TruncatedBody(sent_bytes=10), "list", times=1)

    raw = await raw_exchange(emu, "GET /v1/avatar/list")

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b'{"data":[{'


async def test_truncated_delete_cuts_headers(emu: Emulator) -> None:
    avatar_id = emu.avatars()[0]["id"]
    emu.inject(TruncatedBody(), "delete", times=1)

    raw = await raw_exchange(emu, f"DELETE /v1/avatar/{avatar_id}")

    assert raw.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert b"\r\n\r\n" not in raw
    assert emu.avatar(avatar_id) is None


async def test_stall_then_rest(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(Stall(after_bytes=5, seconds=0.3), "list", times=1)

    started = time.perf_counter()
    async with session.get("/v1/avatar/list") as response:
        headers_after = time.perf_counter() - started
        body = await response.read()
    elapsed = time.perf_counter() - started

    assert response.status == 200
    assert json.loads(body)["data"]
    assert headers_after < 0.25
    assert elapsed >= 0.3


async def test_stall_forever_until_timeout(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(Stall(after_bytes=3), "list", times=1)

    with pytest.raises(asyncio.TimeoutError):
        await fetch(session, "GET", "/v1/avatar/list", timeout=aiohttp.ClientTimeout(total=0.3))

    # The stalled handler notices the closed connection and finishes.
    for _ in range(40):
        if emu.stats.in_flight == 0:
            break
        await asyncio.sleep(0.025)
    assert emu.stats.in_flight == 0


async def test_invalid_json(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(InvalidJson(), "get", times=1)

    response, body = await fetch(session, "GET", "/v1/avatar/x")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        json.loads(body)


async def test_raw_response(emu: Emulator, session: aiohttp.ClientSession) -> None:
    raw = b"HTTP/1.1 299 Odd\r\nContent-Type: text/x-odd\r\nContent-Length: 4\r\n\r\nodd!"
    emu.inject(RawResponse(raw), "list", times=1)

    response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 299
    assert response.reason == "Odd"
    assert response.headers["Content-Type"] == "text/x-odd"
    assert body == b"odd!"


async def test_raw_garbage(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.inject(RawResponse(b"\x00\xffnot http\r\n\r\n"), "list", times=1)

    with pytest.raises(aiohttp.ClientResponseError):
        await fetch(session, "GET", "/v1/avatar/list")


async def test_hook_skips_faulted(emu: Emulator, session: aiohttp.ClientSession) -> None:
    seen: list[int] = []
    emu.on_response = lambda route, status, content_type, body: seen.append(status)
    emu.inject(Status(500), "list", times=1)
    emu.inject(Latency(0.01), "get", times=1)

    await fetch(session, "GET", "/v1/avatar/list")
    await fetch(session, "GET", "/v1/avatar/list")
    await fetch(session, "GET", "/v1/avatar/missing")

    assert seen == [200, 404]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Status(99), "status code"),
        (lambda: Status(600), "status code"),
        (lambda: TruncatedBody(sent_bytes=-1), "sent_bytes"),
        (lambda: Stall(after_bytes=-1), "after_bytes"),
        (lambda: HtmlError(server="apache"), "server"),  # type: ignore[arg-type]
    ],
)
def test_fault_validation(factory: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()


def test_faults_frozen() -> None:
    fault = Status(500, headers={"X-A": "1"})

    with pytest.raises(AttributeError):
        fault.code = 501  # type: ignore[misc]
    with pytest.raises(TypeError):
        fault.headers["X-B"] = "2"  # type: ignore[index]
