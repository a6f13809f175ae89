"""Response building and sending shared by the API and storage servers.

A handler describes its response as a ``Reply`` and ``send_reply`` writes
it, optionally cut short or stalled by a fault. The functions that break
the connection return an ``ABANDONED`` response, which aiohttp then leaves
alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, Protocol

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict

from ._faults import Stall, TruncatedBody

__all__ = [
    "Body",
    "BytesBody",
    "Reply",
    "abandon",
    "drop_connection",
    "encode_json",
    "json_reply",
    "new_request_id",
    "problem_reply",
    "reason_phrase",
    "send_reply",
    "sleep_unless_closing",
    "write_raw",
]

logger = logging.getLogger("mirako_async.testing")

_WRITE_CHUNK: Final = 64 * 1024
# How often a stall checks whether the client closed the connection.
_STALL_POLL_SECONDS: Final = 0.05


class Body(Protocol):
    """Response body that can be produced in pieces."""

    @property
    def length(self) -> int:
        """Body length in bytes."""
        ...

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes from offset ``start`` up to ``end`` in pieces."""
        ...


@dataclass(frozen=True, slots=True)
class BytesBody:
    """Body held in memory."""

    data: bytes

    @property
    def length(self) -> int:
        """Body length in bytes."""
        return len(self.data)

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes from offset ``start`` up to ``end`` in 64 KiB pieces."""
        view = memoryview(self.data)
        for offset in range(start, end, _WRITE_CHUNK):
            yield bytes(view[offset : min(end, offset + _WRITE_CHUNK)])


@dataclass(slots=True)
class Reply:
    """Status, headers and body of a response that is not sent yet.

    ``Content-Length`` is set from the body when the reply is sent.
    """

    status: int
    headers: CIMultiDict[str]
    body: Body
    content_type: str | None = None


def new_request_id() -> str:
    """Return a fresh random request id."""
    return str(uuid.uuid4())


# Phrases that Python's http module renamed after RFC 9110 (422 became
# "Unprocessable Content" in Python 3.13) but Go's http.StatusText, which
# the real server uses, still returns in their older form.
_GO_PHRASES = {
    413: "Request Entity Too Large",
    414: "Request URI Too Long",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
}


def reason_phrase(status: int) -> str:
    """Return the reason phrase the real server (written in Go) sends, or ``Unknown`` for an unassigned code."""
    if status in _GO_PHRASES:
        return _GO_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def encode_json(payload: Any) -> bytes:
    """Encode JSON as Go's ``encoding/json`` encoder does.

    The output is compact UTF-8 with a trailing newline, and ``<``, ``>``,
    ``&``, U+2028 and U+2029 are written as ``\\u`` escapes. These
    characters occur only inside strings, so the plain text replacement
    is safe.
    """
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return text.encode() + b"\n"


def json_reply(
    status: int,
    payload: Any,
    request_id: str,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Reply:
    """Build a JSON reply with an ``X-Request-Id`` header.

    ``payload`` is encoded with ``encode_json``, unless it is ``bytes``
    that were encoded before.
    """
    all_headers = CIMultiDict[str]({"X-Request-Id": request_id})
    if headers:
        all_headers.extend(headers)
    body = payload if isinstance(payload, bytes) else encode_json(payload)
    return Reply(status, all_headers, BytesBody(body), content_type)


def problem_reply(
    status: int,
    detail: str,
    *,
    instance: str,
    request_id: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Build an RFC 9457 ``application/problem+json`` reply."""
    payload = {
        "title": reason_phrase(status),
        "status": status,
        "detail": detail,
        "type": "about:blank",
        "instance": instance,
        "errors": errors,
    }
    return json_reply(
        status,
        payload,
        request_id,
        content_type="application/problem+json",
        headers=headers,
    )


class _Abandoned(web.StreamResponse):
    """Response placeholder for a connection that the handler already closed.

    aiohttp calls ``prepare`` and ``write_eof`` on whatever a handler
    returns. Both do nothing here, so aiohttp writes nothing, and its
    ``keep_alive`` stays unset, so aiohttp closes the connection.
    """

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def abandon() -> web.StreamResponse:
    """Return the placeholder that a handler returns after closing the connection."""
    return _Abandoned()


def write_raw(request: web.BaseRequest, data: bytes) -> web.StreamResponse:
    """Write bytes to the socket, close the connection and return the placeholder."""
    transport = request.transport
    if transport is not None and not transport.is_closing():
        transport.write(data)
        transport.close()
    return abandon()


def drop_connection(request: web.BaseRequest, *, reset: bool) -> web.StreamResponse:
    """Close the connection, with a TCP RST if ``reset``, and return the placeholder."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return abandon()
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout makes close() send RST.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    return abandon()


async def sleep_unless_closing(closing: asyncio.Event, seconds: float) -> bool:
    """Sleep for ``seconds`` and return True, or return False early if ``closing`` is set."""
    if closing.is_set():
        return False
    if seconds <= 0:
        return True
    try:
        async with asyncio.timeout(seconds):
            await closing.wait()
    except TimeoutError:
        return True
    return False


async def _stall(request: web.BaseRequest, closing: asyncio.Event, seconds: float | None) -> bool:
    """Pause a response. Return False if the client left or the emulator is closing."""
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        step = _STALL_POLL_SECONDS
        if deadline is not None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            step = min(step, remaining)
        if not await sleep_unless_closing(closing, step):
            return False


def _header_block(reply: Reply) -> bytes:
    lines = [f"HTTP/1.1 {reply.status} {reason_phrase(reply.status)}"]
    if reply.content_type is not None:
        lines.append(f"Content-Type: {reply.content_type}")
    lines.extend(f"{name}: {value}" for name, value in reply.headers.items())
    if reply.status not in (204, 304):
        lines.append(f"Content-Length: {reply.body.length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _write_range(
    response: web.StreamResponse,
    body: Body,
    start: int,
    end: int,
    closing: asyncio.Event,
) -> bool:
    """Write part of a body. Return False if the emulator started closing meanwhile."""
    for chunk in body.chunks(start, end):
        if closing.is_set():
            return False
        await response.write(chunk)
    return True


async def send_reply(
    request: web.BaseRequest,
    reply: Reply,
    closing: asyncio.Event,
    fault: TruncatedBody | Stall | None = None,
) -> web.StreamResponse:
    """Send a reply, cut short by ``TruncatedBody`` or paused by ``Stall``.

    A client that disconnects during the body ends the send quietly.
    """
    body = reply.body
    no_body = request.method == "HEAD" or reply.status in (204, 304)
    if fault is None and isinstance(body, BytesBody):
        whole = web.Response(status=reply.status, headers=reply.headers, body=body.data)
        if reply.content_type is not None:
            whole.content_type = reply.content_type
        return whole

    if isinstance(fault, TruncatedBody) and (no_body or body.length == 0):
        # There is no body to cut, so cut the header block instead.
        head = _header_block(reply)
        return write_raw(request, head[: len(head) // 2])

    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    if reply.content_type is not None:
        response.content_type = reply.content_type
    if reply.status not in (204, 304):
        response.content_length = body.length
    try:
        await response.prepare(request)
        if no_body:
            await response.write_eof()
            return response

        split = body.length
        if isinstance(fault, TruncatedBody):
            requested = body.length // 2 if fault.sent_bytes is None else fault.sent_bytes
            split = min(requested, body.length - 1)
        elif isinstance(fault, Stall):
            split = min(fault.after_bytes, body.length)

        if not await _write_range(response, body, 0, split, closing):
            return drop_connection(request, reset=False)
        if isinstance(fault, TruncatedBody):
            # close() sends what is buffered before the FIN.
            return write_raw(request, b"")
        if isinstance(fault, Stall) and not await _stall(request, closing, fault.seconds):
            return drop_connection(request, reset=False)

        if not await _write_range(response, body, split, body.length, closing):
            return drop_connection(request, reset=False)
        await response.write_eof()
    except ConnectionError as exc:
        # The client closed the connection, and aiohttp closes this side.
        logger.debug("client left during %s %s: %s", request.method, request.raw_path, exc)
        return abandon()
    return response
