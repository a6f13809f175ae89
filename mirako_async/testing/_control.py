"""Control endpoint for an emulator in another process, served under ``/_emulator/``.

It exists only when the emulator is started with ``control=True`` (the
``--control`` option) and takes the same bearer token as the API. Its
requests are not counted in the stats and get no faults. Endpoints:

* ``GET /_emulator/stats``: the counters as JSON.
* ``POST /_emulator/stats/reset``: reset the counters.
* ``POST /_emulator/latency`` with ``{"seconds": 0.02}``: set the base latency.
* ``POST /_emulator/rate_limit`` with ``{"rate": 100, "burst": 100}``; a
  ``null`` rate removes the limit.
* ``POST /_emulator/asset_size`` with ``{"avatar_id": null, "nbytes": 4096}``.
* ``POST /_emulator/expire_assets``: expire every issued asset URL.
* ``POST /_emulator/faults`` with ``{"fault": {"type": "Status", "code": 503},
  "route": "*", "times": 3}``; ``probability`` and ``duration`` work as in
  ``Emulator.inject``.
* ``DELETE /_emulator/faults``: remove every fault.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web
from multidict import CIMultiDict

from ._faults import fault_from_dict
from ._http import (
    BytesBody,
    Reply,
    json_reply,
    new_request_id,
    problem_reply,
    send_reply,
)
from ._state import EmulatorState, check_asset_size

__all__ = ["CONTROL_PREFIX", "handle_control"]

CONTROL_PREFIX: Final = "/_emulator/"


class _BadRequest(Exception):
    """Invalid control request. The message is the problem's detail."""


def _number(body: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = body.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadRequest(f"{name} must be a number.")
    return value


async def _read_object(request: web.BaseRequest) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _BadRequest(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise _BadRequest("The body must be a JSON object.")
    return body


async def _dispatch(state: EmulatorState, request: web.BaseRequest, request_id: str) -> Reply:
    no_content = Reply(204, CIMultiDict[str]({"X-Request-Id": request_id}), BytesBody(b""))
    action = (request.method, request.raw_path.partition("?")[0][len(CONTROL_PREFIX) :])

    if action == ("GET", "stats"):
        return json_reply(200, state.stats.as_dict(), request_id)
    if action == ("POST", "stats/reset"):
        state.stats.reset()
        return no_content
    if action == ("POST", "expire_assets"):
        state.signer.expire_all()
        return no_content
    if action == ("DELETE", "faults"):
        state.faults.clear()
        return no_content

    body = await _read_object(request)
    try:
        if action == ("POST", "latency"):
            state.latency = _number(body, "seconds")
        elif action == ("POST", "rate_limit"):
            burst = body.get("burst")
            if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)):
                raise _BadRequest("burst must be an integer.")
            state.set_rate_limit(_number(body, "rate", optional=True), burst)
        elif action == ("POST", "asset_size"):
            avatar_id = body.get("avatar_id")
            if avatar_id is not None and not isinstance(avatar_id, str):
                raise _BadRequest("avatar_id must be a string or null.")
            state.store.set_asset_size(avatar_id, check_asset_size(body.get("nbytes")))
        elif action == ("POST", "faults"):
            spec = body.get("fault")
            if not isinstance(spec, dict):
                raise _BadRequest('fault must be an object such as {"type": "Status", "code": 503}.')
            state.faults.add(
                fault_from_dict(spec),
                body.get("route", "*"),
                times=body.get("times"),
                probability=body.get("probability"),
                duration=body.get("duration"),
            )
        else:
            return problem_reply(
                404,
                f"No control endpoint {action[0]} {CONTROL_PREFIX}{action[1]}.",
                instance=request.raw_path,
                request_id=request_id,
            )
    except (ValueError, TypeError, KeyError) as exc:
        raise _BadRequest(str(exc)) from exc
    return no_content


async def handle_control(state: EmulatorState, request: web.BaseRequest) -> web.StreamResponse:
    """Serve one control request."""
    request_id = new_request_id()
    instance = request.raw_path.partition("?")[0]
    header = request.headers.get("Authorization", "")
    if header != f"Bearer {state.api_key}":
        reply = problem_reply(
            401,
            "The control endpoint takes the API key as a bearer token.",
            instance=instance,
            request_id=request_id,
        )
    else:
        try:
            reply = await _dispatch(state, request, request_id)
        except _BadRequest as exc:
            reply = problem_reply(400, str(exc), instance=instance, request_id=request_id)
    return await send_reply(request, reply, state.closing)
