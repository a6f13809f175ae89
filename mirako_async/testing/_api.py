"""The API server's request handling: routing, auth, rate limit and the avatar endpoints."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from ._http import (
    BytesBody,
    Reply,
    drop_connection,
    json_reply,
    new_request_id,
    problem_reply,
    sleep_unless_closing,
)
from ._ratelimit import TokenBucket
from ._respond import respond
from ._signing import unquote_segment
from ._state import EmulatorState

__all__ = ["RouteMatch", "handle_api", "match_route"]


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The route of a request.

    Attributes:
        route: ``list``, ``get``, ``delete``, or ``other`` for any request
            that no endpoint serves.
        avatar_id: The decoded id for ``get`` and ``delete``.
        status: Status code of the problem reply for ``other``.
        detail: Detail of the problem reply for ``other``.
        errors: ``errors`` member of the problem reply for ``other``.
        allow: ``Allow`` header of a 405 reply.
    """

    route: str
    avatar_id: str | None = None
    status: int = 200
    detail: str = ""
    errors: list[dict[str, Any]] | None = None
    allow: str | None = None


def match_route(method: str, target: str) -> RouteMatch:
    """Find the route of a request from its method and raw target.

    The path is split on ``/`` before percent escapes are decoded, so an id
    sent with ``%2F`` stays one segment. ``GET /v1/avatar/list`` with the
    segment written exactly as ``list`` is the list endpoint, and any other
    single segment after ``/v1/avatar/`` is an avatar id.
    """
    path = target.partition("?")[0]
    segments = path.split("/")
    if len(segments) != 4 or segments[:3] != ["", "v1", "avatar"] or not segments[3]:
        return RouteMatch("other", status=404, detail=f"No endpoint matches the path {path}.")

    raw_id = segments[3]
    if method == "GET" and raw_id == "list":
        return RouteMatch("list")
    if method not in ("GET", "DELETE"):
        return RouteMatch(
            "other",
            status=405,
            detail=f"The method {method} is not allowed on {path}.",
            allow="GET, DELETE",
        )
    try:
        avatar_id = unquote_segment(raw_id)
    except ValueError:
        return RouteMatch(
            "other",
            status=400,
            detail="The avatar id in the path is not valid percent-encoded UTF-8.",
            errors=[
                {
                    "location": "path.id",
                    "message": "invalid percent-encoding",
                    "value": raw_id,
                }
            ],
        )
    return RouteMatch("get" if method == "GET" else "delete", avatar_id)


def _check_bearer(state: EmulatorState, header: str | None) -> str | None:
    """Return why the Authorization header is rejected, or None if it carries the API key."""
    if header is None:
        return "The Authorization header is missing. Send 'Authorization: Bearer <API key>'."
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "The Authorization header must have the form 'Bearer <API key>'."
    if not hmac.compare_digest(token.strip().encode(), state.api_key.encode()):
        return "The API key is invalid."
    return None


def _process(state: EmulatorState, request: web.BaseRequest, match: RouteMatch, request_id: str) -> Reply:
    """Build the normal reply: routing errors, then rate limit, then auth, then the endpoint."""
    instance = request.raw_path.partition("?")[0]

    if match.route == "other":
        headers = {"Allow": match.allow} if match.allow else None
        return problem_reply(
            match.status,
            match.detail,
            instance=instance,
            request_id=request_id,
            errors=match.errors,
            headers=headers,
        )

    bucket = state.bucket
    if bucket is not None:
        wait = bucket.acquire()
        if wait > 0:
            retry_after = TokenBucket.retry_after_header(wait)
            return problem_reply(
                429,
                f"Rate limit of {bucket.rate:g} requests per second exceeded. Retry after {retry_after} seconds.",
                instance=instance,
                request_id=request_id,
                headers={"Retry-After": retry_after},
            )

    auth_problem = _check_bearer(state, request.headers.get("Authorization"))
    if auth_problem is not None:
        return problem_reply(
            401,
            auth_problem,
            instance=instance,
            request_id=request_id,
            headers={"WWW-Authenticate": 'Bearer realm="mirako"'},
        )

    if match.route == "list":
        return json_reply(200, state.list_body(), request_id)

    assert match.avatar_id is not None
    not_found = f"Avatar {match.avatar_id} was not found."
    if match.route == "get":
        avatar = state.store.render_one(match.avatar_id, state.signer.url)
        if avatar is None:
            return problem_reply(404, not_found, instance=instance, request_id=request_id)
        return json_reply(200, {"data": avatar}, request_id)

    if not state.store.delete(match.avatar_id):
        return problem_reply(404, not_found, instance=instance, request_id=request_id)
    return Reply(204, CIMultiDict[str]({"X-Request-Id": request_id}), BytesBody(b""))


async def handle_api(state: EmulatorState, request: web.BaseRequest) -> web.StreamResponse:
    """Serve one request on the API port and count it in the stats."""
    target = request.raw_path
    match = match_route(request.method, target)
    request_id = new_request_id()

    with state.stats.track_api_request(request.method, target, request.headers, match.route):
        latency = state.latency
        if latency > 0 and not await sleep_unless_closing(state.closing, latency):
            return drop_connection(request, reset=False)

        async def process() -> Reply:
            return _process(state, request, match, request_id)

        def on_normal_reply(reply: Reply) -> None:
            body = b"".join(reply.body.chunks(0, reply.body.length))
            state.call_response_hook(match.route, reply.status, reply.content_type, body)

        response, status = await respond(
            request,
            state.faults.pick(match.route),
            closing=state.closing,
            request_id=request_id,
            process=process,
            on_normal_reply=on_normal_reply,
        )
        if status is not None:
            state.stats.record_api_status(status)
        return response
