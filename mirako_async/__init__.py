"""Async-first Python SDK for the Mirako avatar API, with a blocking twin.

>>> from mirako_async import AsyncMirako, Mirako  # doctest: +SKIP
"""

from ._client import AsyncMirako
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AssetDownloadError,
    AssetExpiredError,
    AuthenticationError,
    AvatarBuildError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    MirakoError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from ._models import Avatar, AvatarStatus, AvatarTheme, ErrorDetail
from ._resources import AsyncAvatars
from ._retry import RetryPolicy
from ._sync import Avatars, Mirako
from ._transport import ClientClosedError
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssetDownloadError",
    "AssetExpiredError",
    "AsyncAvatars",
    "AsyncMirako",
    "AuthenticationError",
    "Avatar",
    "AvatarBuildError",
    "AvatarStatus",
    "AvatarTheme",
    "Avatars",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "ErrorDetail",
    "InsufficientCreditsError",
    "InternalServerError",
    "Mirako",
    "MirakoError",
    "MissingAPIKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseValidationError",
    "RetryPolicy",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "__version__",
]
