"""Serving one request with an optional injected fault."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from multidict import CIMultiDict

from ._faults import (
    DropConnection,
    Fault,
    HtmlError,
    InvalidJson,
    Latency,
    RawResponse,
    RetryAfter,
    Stall,
    Status,
    TruncatedBody,
)
from ._http import (
    BytesBody,
    Reply,
    drop_connection,
    problem_reply,
    reason_phrase,
    send_reply,
    sleep_unless_closing,
    write_raw,
)

__all__ = ["fault_reply", "respond"]

_NGINX_PAGE: Final = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_CLOUDFLARE_PAGE: Final = (
    '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8" />\n'
    "<title>127.0.0.1 | {code}: {reason}</title>\n</head>\n<body>\n"
    '<div id="cf-error-details">\n<h1>{reason}</h1>\n<span>Error code {code}</span>\n'
    "<p>The web server reported an error. Please try again in a few minutes.</p>\n"
    "<p>Cloudflare Ray ID: <strong>{ray_id}</strong></p>\n</div>\n</body>\n</html>\n"
)


def fault_reply(fault: Status | RetryAfter | HtmlError | InvalidJson, request_id: str, instance: str) -> Reply:
    """Build the reply that replaces the normal response for a fault."""
    if isinstance(fault, Status):
        extra_headers = dict(fault.headers or {})
        if not fault.problem:
            all_headers = CIMultiDict[str]({"X-Request-Id": request_id})
            all_headers.extend(extra_headers)
            return Reply(fault.code, all_headers, BytesBody(b""))
        detail = fault.detail or f"Injected fault: {fault.code} {reason_phrase(fault.code)}."
        errors = None if fault.errors is None else [dict(error) for error in fault.errors]
        return problem_reply(
            fault.code,
            detail,
            instance=instance,
            request_id=request_id,
            errors=errors,
            headers=extra_headers,
        )

    if isinstance(fault, RetryAfter):
        return problem_reply(
            fault.code,
            f"Injected fault: {reason_phrase(fault.code)}. Retry after {fault.header_value}.",
            instance=instance,
            request_id=request_id,
            headers={"Retry-After": fault.header_value},
        )

    if isinstance(fault, HtmlError):
        reason = reason_phrase(fault.code)
        ray_id = request_id.replace("-", "")[:16]
        html_headers = CIMultiDict[str]({"X-Request-Id": request_id})
        if fault.server == "nginx":
            page = _NGINX_PAGE.format(code=fault.code, reason=reason)
            html_headers["Server"] = "nginx"
        else:
            page = _CLOUDFLARE_PAGE.format(code=fault.code, reason=reason, ray_id=ray_id)
            html_headers["Server"] = "cloudflare"
            html_headers["CF-RAY"] = f"{ray_id}-NRT"
        body = BytesBody(page.encode())
        return Reply(fault.code, html_headers, body, "text/html; charset=UTF-8")

    json_headers = CIMultiDict[str]({"X-Request-Id": request_id})
    return Reply(200, json_headers, BytesBody(fault.body), "application/json")


async def respond(
    request: web.BaseRequest,
    fault: Fault | None,
    *,
    closing: asyncio.Event,
    request_id: str,
    process: Callable[[], Awaitable[Reply]],
    on_normal_reply: Callable[[Reply], None] | None = None,
) -> tuple[web.StreamResponse, int | None]:
    """Serve one request, with ``fault`` applied if it is not None.

    ``process`` does the request's work and builds the normal reply. Faults
    that replace the response skip it. ``on_normal_reply`` receives each reply
    that goes out unchanged, which includes replies delayed by ``Latency``.

    Returns:
        The response for aiohttp and the status code sent, or None for a
        ``RawResponse`` or a dropped connection.
    """
    if isinstance(fault, Latency):
        if not await sleep_unless_closing(closing, fault.seconds):
            return drop_connection(request, reset=False), None
        fault = None

    instance = request.raw_path.partition("?")[0]
    if isinstance(fault, Status | RetryAfter | HtmlError | InvalidJson):
        reply = fault_reply(fault, request_id, instance)
        return await send_reply(request, reply, closing), reply.status
    if isinstance(fault, RawResponse):
        return write_raw(request, fault.data), None
    if isinstance(fault, DropConnection) and not fault.after_processing:
        return drop_connection(request, reset=fault.reset), None

    reply = await process()
    if isinstance(fault, DropConnection):
        return drop_connection(request, reset=fault.reset), None
    if fault is None and on_normal_reply is not None:
        on_normal_reply(reply)
    stream_fault = fault if isinstance(fault, TruncatedBody | Stall) else None
    return await send_reply(request, reply, closing, stream_fault), reply.status
