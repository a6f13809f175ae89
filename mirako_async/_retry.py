"""The retry policy: what is retried, and how long to wait before the next attempt."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime

from attrs import field, frozen, validators

__all__ = ["RetryPolicy", "parse_retry_after"]

# Statuses worth another attempt: the request timed out at the server (408),
# was rate limited (429), or the server or a proxy in front of it failed.
_RETRYABLE_4XX = frozenset({408, 429})
# Statuses whose Retry-After header is a promise about when to come back.
_RETRY_AFTER_STATUSES = frozenset({429, 503})

_non_negative_int = validators.ge(0)
_non_negative_float = validators.ge(0.0)


def _finite(_instance: object, attribute: object, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be a finite number, got {value!r}.")


@frozen
class RetryPolicy:
    """How an API call is retried.

    Connection failures, timeouts, 408, 429 and every status of 500 and above
    are retried; other 4xx responses are not. Waits grow exponentially with
    full jitter: before retry *n* (counting from 0) the client sleeps a
    uniformly random time between 0 and ``min(max_backoff, initial_backoff
    * 2**n)``. A ``Retry-After`` header on a 429 or 503 replaces that wait,
    unless it asks for more than ``max_retry_after`` seconds: then the error
    is raised at once, carrying ``retry_after``, so the caller can decide.

    Attributes:
        max_retries: Retries after the first attempt; 0 turns retrying off.
        initial_backoff: Upper bound of the first wait, in seconds.
        max_backoff: Cap on the upper bound of any jittered wait, in seconds.
        max_retry_after: Longest ``Retry-After`` the client sleeps, in seconds.
    """

    max_retries: int = field(default=2, validator=[validators.instance_of(int), _non_negative_int])
    initial_backoff: float = field(default=0.5, converter=float, validator=[_finite, _non_negative_float])
    max_backoff: float = field(default=8.0, converter=float, validator=[_finite, _non_negative_float])
    max_retry_after: float = field(default=60.0, converter=float, validator=[_non_negative_float])

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_retries, bool):
            raise TypeError("max_retries must be an int, not a bool.")

    def is_retryable_status(self, status: int) -> bool:
        """Tell whether a response with this status is worth another attempt."""
        return status in _RETRYABLE_4XX or status >= 500

    def backoff(self, retry_index: int, unit: float) -> float:
        """Compute the jittered wait before retry ``retry_index`` (0 for the first retry).

        Args:
            retry_index: How many retries were made before this one.
            unit: A random number in [0, 1), so tests can pass a fixed one.
        """
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0 ** min(retry_index, 62))
        return ceiling * unit

    @staticmethod
    def honours_retry_after(status: int) -> bool:
        """Tell whether a ``Retry-After`` header on this status sets the wait."""
        return status in _RETRY_AFTER_STATUSES


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header as seconds to wait.

    Both forms of RFC 9110 are read: delay-seconds (``"120"``) and an
    HTTP-date. A date in the past means no wait. Anything unreadable gives
    ``None``, so the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None

    if text.isascii() and text.isdigit():
        return float(int(text[:12]))  # More than 12 digits is centuries anyway.
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # Not the standard form, but some servers send "1.5".
        return seconds if math.isfinite(seconds) and seconds >= 0 else None

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
