"""Faults that the emulator can inject into its responses.

Each fault is a small frozen dataclass. Pass one to ``Emulator.inject`` to
choose which requests get it. Faults fall into three groups:

* ``Latency`` delays the request and then serves it normally.
* ``Status``, ``RetryAfter``, ``HtmlError`` and ``InvalidJson`` replace the
  response. The request is not processed, so a faulted DELETE deletes nothing.
* ``DropConnection``, ``TruncatedBody``, ``Stall`` and ``RawResponse`` break
  the connection or write bytes to the socket directly. ``TruncatedBody`` and
  ``Stall`` process the request first, and ``DropConnection`` does so only
  with ``after_processing=True``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

__all__ = [
    "DropConnection",
    "Fault",
    "HtmlError",
    "InvalidJson",
    "Latency",
    "RawResponse",
    "RetryAfter",
    "Stall",
    "Status",
    "TruncatedBody",
    "fault_from_dict",
]


def _check_status_code(code: int) -> None:
    if isinstance(code, bool) or not isinstance(code, int) or not 200 <= code <= 599:
        raise ValueError(f"Invalid status code {code!r}: expected an integer from 200 to 599.")


def _check_seconds(name: str, seconds: float) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}.")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"Invalid {name} {seconds!r}: expected a finite number >= 0.")


@dataclass(frozen=True, slots=True)
class Latency:
    """Extra delay before the request is served normally.

    Attributes:
        seconds: Delay in seconds, added to the emulator's base latency.
    """

    seconds: float

    def __post_init__(self) -> None:
        _check_seconds("seconds", self.seconds)


@dataclass(frozen=True, slots=True)
class Status:
    """Response with the given status code in place of the normal one.

    Attributes:
        code: HTTP status code, from 200 to 599.
        problem: If True, the body is RFC 9457 problem JSON. If False, the
            body is empty.
        headers: Extra response headers, such as ``Retry-After``. They are
            sent as given, so they can also carry invalid values.
        detail: The problem's ``detail`` member. A generic sentence is used
            when it is None.
        errors: The problem's ``errors`` member, a list of objects with
            ``location``, ``message`` and ``value``. None sends ``null``.
    """

    code: int
    problem: bool = True
    headers: Mapping[str, str] | None = None
    detail: str | None = None
    errors: Sequence[Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        _check_status_code(self.code)
        if self.headers is not None:
            object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        if self.errors is not None:
            frozen_errors = tuple(MappingProxyType(dict(error)) for error in self.errors)
            object.__setattr__(self, "errors", frozen_errors)


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Problem response with a ``Retry-After`` header.

    Give exactly one of ``seconds`` (sent in delay-seconds form) and
    ``http_date`` (sent as an IMF-fixdate, such as
    ``Sun, 06 Nov 1994 08:49:37 GMT``).

    Attributes:
        code: HTTP status code, usually 429 or 503.
        seconds: Whole seconds to wait.
        http_date: Timezone-aware time after which to retry.
    """

    code: int = 503
    seconds: int | None = None
    http_date: datetime | None = None

    def __post_init__(self) -> None:
        _check_status_code(self.code)
        if (self.seconds is None) == (self.http_date is None):
            raise ValueError("RetryAfter needs exactly one of seconds and http_date.")
        if self.seconds is not None:
            if isinstance(self.seconds, bool) or not isinstance(self.seconds, int):
                raise TypeError(
                    f"RetryAfter seconds must be an int, because delay-seconds is an integer; got {self.seconds!r}."
                )
            if self.seconds < 0:
                raise ValueError(f"Invalid RetryAfter seconds {self.seconds}: expected >= 0.")
        if self.http_date is not None and self.http_date.utcoffset() is None:
            raise ValueError("RetryAfter http_date must be timezone-aware.")

    @property
    def header_value(self) -> str:
        """The ``Retry-After`` header value."""
        if self.http_date is not None:
            return email.utils.format_datetime(self.http_date.astimezone(UTC), usegmt=True)
        return str(self.seconds)


@dataclass(frozen=True, slots=True)
class HtmlError:
    """HTML error page such as a reverse proxy sends when the backend fails.

    Attributes:
        code: HTTP status code, usually 502, 503 or 504.
        server: Which proxy to imitate, in the page and the ``Server`` header.
    """

    code: int = 502
    server: Literal["nginx", "cloudflare"] = "nginx"

    def __post_init__(self) -> None:
        _check_status_code(self.code)
        if self.server not in ("nginx", "cloudflare"):
            raise ValueError(f"Invalid server {self.server!r}: expected 'nginx' or 'cloudflare'.")


@dataclass(frozen=True, slots=True)
class DropConnection:
    """Connection closed before any byte of the response.

    Attributes:
        reset: If True, the server resets the connection (TCP RST) instead
            of closing it cleanly (FIN).
        after_processing: If True, the request is processed first, so a
            DELETE takes effect although the client gets no response.
    """

    reset: bool = False
    after_processing: bool = False


@dataclass(frozen=True, slots=True)
class TruncatedBody:
    """Normal response whose body stops early, then the connection closes.

    The ``Content-Length`` header announces the full body. When the body is
    empty, as for a 204, the connection closes in the middle of the header
    block instead.

    Attributes:
        sent_bytes: Number of body bytes sent before the close. None sends
            half of the body. The value is capped at the body length minus one.
    """

    sent_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.sent_bytes is not None and (
            isinstance(self.sent_bytes, bool) or not isinstance(self.sent_bytes, int) or self.sent_bytes < 0
        ):
            raise ValueError(f"Invalid sent_bytes {self.sent_bytes!r}: expected an int >= 0.")


@dataclass(frozen=True, slots=True)
class Stall:
    """Normal response that pauses after the headers and part of the body.

    Attributes:
        after_bytes: Number of body bytes sent before the pause.
        seconds: Length of the pause. None pauses until the client closes
            the connection or the emulator stops.
    """

    after_bytes: int = 0
    seconds: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.after_bytes, bool) or not isinstance(self.after_bytes, int):
            raise TypeError(f"after_bytes must be an int, not {type(self.after_bytes).__name__}.")
        if self.after_bytes < 0:
            raise ValueError(f"Invalid after_bytes {self.after_bytes}: expected >= 0.")
        if self.seconds is not None:
            _check_seconds("seconds", self.seconds)


@dataclass(frozen=True, slots=True)
class InvalidJson:
    """Status 200 response labelled ``application/json`` whose body is not JSON.

    Attributes:
        body: The body to send.
    """

    body: bytes = b'{"data": [{"id": "'


@dataclass(frozen=True, slots=True)
class RawResponse:
    """Bytes written to the socket as the whole response, then a close.

    Nothing is added: the bytes must contain the status line, the headers
    and the body, valid or not.

    Attributes:
        data: The bytes to write.
    """

    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes | bytearray | memoryview):
            raise TypeError(f"RawResponse data must be bytes, not {type(self.data).__name__}.")
        object.__setattr__(self, "data", bytes(self.data))


Fault: TypeAlias = (
    Latency | Status | RetryAfter | HtmlError | DropConnection | TruncatedBody | Stall | InvalidJson | RawResponse
)

_FAULT_TYPES: Mapping[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Latency,
        Status,
        RetryAfter,
        HtmlError,
        DropConnection,
        TruncatedBody,
        Stall,
        InvalidJson,
        RawResponse,
    )
}


def _decode_base64(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a base64 string.")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{name} is not valid base64: {exc}") from exc


def fault_from_dict(spec: Mapping[str, Any]) -> Fault:
    """Build a fault from its JSON form, as the control endpoint receives it.

    The form is ``{"type": "Status", "code": 503, ...}``: the class name and
    its constructor arguments. Bytes fields (``InvalidJson.body``,
    ``RawResponse.data``) are base64 strings, and ``RetryAfter.http_date`` is
    an ISO 8601 string with an offset.

    Raises:
        ValueError: The type is unknown or an argument is invalid.
        TypeError: A bytes field is not a base64 string.
    """
    kwargs = dict(spec)
    type_name = kwargs.pop("type", None)
    cls = _FAULT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        known = ", ".join(sorted(_FAULT_TYPES))
        raise ValueError(f"Unknown fault type {type_name!r}: expected one of {known}.")

    if cls is InvalidJson and "body" in kwargs:
        kwargs["body"] = _decode_base64("body", kwargs["body"])
    if cls is RawResponse and "data" in kwargs:
        kwargs["data"] = _decode_base64("data", kwargs["data"])
    if cls is RetryAfter and isinstance(kwargs.get("http_date"), str):
        kwargs["http_date"] = datetime.fromisoformat(kwargs["http_date"])

    try:
        fault: Fault = cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"Invalid arguments for {type_name}: {exc}") from exc
    return fault
