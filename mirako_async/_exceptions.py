"""Exceptions raised by mirako-async.

Every error that comes from the API, the network or a response body derives
from one root, so ``except MirakoError`` catches all of them::

    MirakoError
    ├── APIError
    │   ├── APIStatusError                 any non-2xx response
    │   │   ├── BadRequestError            400
    │   │   ├── AuthenticationError        401
    │   │   ├── InsufficientCreditsError   402
    │   │   ├── PermissionDeniedError      403
    │   │   ├── NotFoundError              404
    │   │   ├── ConflictError              409
    │   │   ├── UnprocessableEntityError   422
    │   │   ├── RateLimitError             429
    │   │   └── InternalServerError        500 and above
    │   ├── APIConnectionError             no usable response arrived
    │   │   └── APITimeoutError            an attempt or the deadline ran out
    │   ├── ResponseValidationError        a 2xx body that does not fit the schema
    │   └── RedirectError                  a redirect the client does not follow
    ├── AssetExpiredError                  storage refused a presigned link
    ├── AssetDownloadError                 an asset download failed otherwise
    ├── AvatarBuildError                   a build ended in the ERROR status
    └── WaitTimeoutError                   wait_until_ready ran out of time

Misuse of the SDK itself (a closed client, an invalid argument) raises the
usual built-in exceptions instead: ``ValueError``, ``TypeError`` and
``RuntimeError``. A missing API key raises ``MissingAPIKeyError``, a
``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Avatar, ErrorDetail

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssetDownloadError",
    "AssetExpiredError",
    "AuthenticationError",
    "AvatarBuildError",
    "BadRequestError",
    "ConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "MirakoError",
    "MissingAPIKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
]


class MirakoError(Exception):
    """Root of every error raised by the API, the network or a response."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class MissingAPIKeyError(ValueError):
    """No API key was passed and none was found in the environment."""


class APIError(MirakoError):
    """An API call failed.

    Attributes:
        method: HTTP method of the call, such as ``"GET"``.
        url: URL of the last attempt, without credentials.
        attempts: How many attempts were made, retries included.
    """

    method: str
    url: str
    attempts: int

    def __init__(self, message: str, *, method: str, url: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class APIStatusError(APIError):
    """The API returned a status outside 2xx.

    The problem fields come from an RFC 9457 ``application/problem+json``
    body; each is ``None`` (or an empty tuple for ``errors``) when the body
    did not carry it.

    Attributes:
        status_code: HTTP status of the response. It wins over a ``status``
            field in the body.
        title: Short summary of the problem type.
        detail: Explanation of this occurrence of the problem.
        type: URI reference that identifies the problem type.
        instance: URI reference that identifies this occurrence.
        errors: Individual validation errors, each an ``ErrorDetail``.
        headers: Response headers.
        request_id: Value of the ``X-Request-Id`` response header, if any.
        body: The raw response text when it was not problem JSON, else ``None``.
        retry_after: Seconds the server asked to wait, from the ``Retry-After``
            header, or ``None`` when it sent none or an unreadable one.
    """

    status_code: int
    title: str | None
    detail: str | None
    type: str | None
    instance: str | None
    errors: tuple[ErrorDetail, ...]
    headers: Mapping[str, str]
    request_id: str | None
    body: str | None
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        headers: Mapping[str, str],
        title: str | None = None,
        detail: str | None = None,
        type: str | None = None,  # noqa: A002 - the RFC 9457 field name
        instance: str | None = None,
        errors: tuple[ErrorDetail, ...] = (),
        body: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, method=method, url=url, attempts=attempts)
        self.status_code = status_code
        self.retry_after = retry_after
        self.headers = headers
        self.title = title
        self.detail = detail
        self.type = type
        self.instance = instance
        self.errors = errors
        self.body = body
        self.request_id = headers.get("X-Request-Id")


class BadRequestError(APIStatusError):
    """The API rejected the request as malformed (400)."""


class AuthenticationError(APIStatusError):
    """The API key is missing, invalid or revoked (401)."""


class InsufficientCreditsError(APIStatusError):
    """The account has too few credits for the call (402)."""


class PermissionDeniedError(APIStatusError):
    """The API key may not access this resource (403)."""


class NotFoundError(APIStatusError):
    """The resource does not exist or was deleted (404)."""


class ConflictError(APIStatusError):
    """The request conflicts with the resource's current state (409)."""


class UnprocessableEntityError(APIStatusError):
    """The request was well formed but failed validation (422)."""


class RateLimitError(APIStatusError):
    """Too many requests (429); ``retry_after`` is how long the server asked to wait."""


class InternalServerError(APIStatusError):
    """The server failed (any status of 500 and above, 520 included)."""


class APIConnectionError(APIError):
    """No usable response arrived: the connection failed, dropped or broke."""


class APITimeoutError(APIConnectionError):
    """An attempt exceeded its timeout, or the whole call its deadline."""


class ResponseValidationError(APIError):
    """A successful response carried a body that does not fit the API schema.

    Attributes:
        status_code: HTTP status of the response.
        paths: Every failing location in the body, such as ``data[1].created_at``.
    """

    status_code: int
    paths: tuple[str, ...]

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        paths: tuple[str, ...] = (),
        attempts: int = 1,
    ) -> None:
        super().__init__(message, method=method, url=url, attempts=attempts)
        self.status_code = status_code
        self.paths = paths


class RedirectError(APIError):
    """The API returned a redirect that the client does not follow.

    Attributes:
        status_code: HTTP status of the redirect.
        location: Value of its ``Location`` header, if any.
    """

    status_code: int
    location: str | None

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        location: str | None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, method=method, url=url, attempts=attempts)
        self.status_code = status_code
        self.location = location


class AssetExpiredError(MirakoError):
    """Storage refused a presigned asset link, most often because it expired.

    Attributes:
        url: The presigned link, with its query string removed.
        status_code: HTTP status that storage returned.
    """

    url: str
    status_code: int

    def __init__(self, message: str, *, url: str, status_code: int) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class AssetDownloadError(MirakoError):
    """An asset download failed for a reason other than an expired link.

    Attributes:
        url: The presigned link, with its query string removed.
        status_code: HTTP status that storage returned, or ``None`` when the
            transfer itself failed.
    """

    url: str
    status_code: int | None

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class AvatarBuildError(MirakoError):
    """An avatar build ended in the ``ERROR`` status.

    Attributes:
        avatar: The avatar as last fetched.
    """

    avatar: Avatar

    def __init__(self, message: str, *, avatar: Avatar) -> None:
        super().__init__(message)
        self.avatar = avatar


class WaitTimeoutError(MirakoError):
    """An avatar was not ready before ``wait_until_ready`` ran out of time.

    Attributes:
        avatar: The avatar as last fetched, or ``None`` if no poll succeeded.
        timeout: The time allowed, in seconds.
    """

    avatar: Avatar | None
    timeout: float

    def __init__(self, message: str, *, avatar: Avatar | None, timeout: float) -> None:
        super().__init__(message)
        self.avatar = avatar
        self.timeout = timeout
