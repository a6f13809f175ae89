"""Turn an error response into the matching exception; this is the one place that does."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from ._config import API_KEY_VARIABLES
from ._converter import structure_error_details
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

__all__ = ["exception_for_response"]

_EXCEPTION_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_REMEDY_BY_STATUS: dict[int, str] = {
    401: f"Check the API key passed as api_key or set in {' or '.join(API_KEY_VARIABLES)}.",
    402: "Add credits to the Mirako account, then try again.",
    403: "Check that this API key may access the resource.",
    404: "Check the id; the avatar may have been deleted. List avatars to see the ids that exist.",
    429: "Slow down, or wait for the time the server asked before trying again.",
}

_EXCERPT_CHARS = 200
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]+>")
_WHITESPACE = re.compile(r"\s+")


def _exception_class(status: int) -> type[APIStatusError]:
    if status >= 500:
        return InternalServerError
    return _EXCEPTION_BY_STATUS.get(status, APIStatusError)


def _reason(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _read_problem(body: bytes, content_type: str) -> dict[str, Any] | None:
    """Decode a problem or plain JSON error body into a dict, or return ``None``."""
    if "json" not in content_type and not body.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _text_field(problem: Mapping[str, Any], name: str) -> str | None:
    value = problem.get(name)
    return value if isinstance(value, str) and value else None


def _excerpt(text: str) -> str:
    """Return a short, single-line excerpt of a non-JSON body (the title of an HTML page)."""
    match = _HTML_TITLE.search(text)
    if match:
        text = match.group(1)
    elif "<" in text:
        text = _HTML_TAG.sub(" ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 3] + "..."


def exception_for_response(
    *,
    method: str,
    url: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    retry_after: float | None = None,
    attempts: int = 1,
) -> APIStatusError:
    """Build the exception for a response whose status is not 2xx.

    Problem JSON (``application/problem+json``) and plain JSON error bodies
    are both read. Any other body, such as a proxy's HTML page, is kept whole
    in ``body`` and shortened into the message. The HTTP status always wins
    over a ``status`` field in the body.
    """
    content_type = headers.get("Content-Type", "").lower()
    problem = _read_problem(body, content_type)
    text = None if problem is not None else body.decode("utf-8", errors="replace")

    if problem is not None:
        title = _text_field(problem, "title")
        detail = _text_field(problem, "detail")
        explanation = detail or title or ""
    else:
        title = detail = None
        explanation = _excerpt(text or "")

    message = f"{method} {path} failed with {_reason(status)}"
    message += f": {explanation.rstrip('.')}." if explanation else "."
    remedy = _REMEDY_BY_STATUS.get(status)
    if remedy is None and status >= 500:
        remedy = "The server or a proxy failed; this is often temporary, so try again later."
    if status == 429 and retry_after is not None:
        remedy = f"The server asked to wait {retry_after:g} s before trying again."
    if remedy:
        message += f" {remedy}"
    request_id = headers.get("X-Request-Id")
    if request_id:
        message += f" (request id {request_id[:100]})"

    cls = _exception_class(status)
    return cls(
        message,
        method=method,
        url=url,
        status_code=status,
        headers=headers,
        title=title,
        detail=detail,
        type=_text_field(problem, "type") if problem else None,
        instance=_text_field(problem, "instance") if problem else None,
        errors=structure_error_details(problem.get("errors")) if problem else (),
        body=text,
        retry_after=retry_after,
        attempts=attempts,
    )
