"""Checks on caller arguments, made before any request is sent."""

from __future__ import annotations

import math
from collections.abc import Iterable
from urllib.parse import quote

__all__ = [
    "avatar_path",
    "check_avatar_id",
    "check_avatar_ids",
    "check_bulk_arguments",
    "check_callback",
    "check_optional_seconds",
    "check_positive",
    "check_seconds",
]

# Segments that would change the route instead of naming an avatar.
_RESERVED_IDS = {".": "'.'", "..": "'..'", "list": "'list' (GET /v1/avatar/list is the list endpoint)"}


def check_seconds(name: str, value: object) -> float:
    """Check that ``value`` is a positive, finite number of seconds.

    Raises:
        TypeError: ``value`` is not a number.
        ValueError: ``value`` is zero, negative, NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}.")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive, finite number of seconds, got {value!r}.")
    return seconds


def check_optional_seconds(name: str, value: object) -> float | None:
    """Check that ``value`` is ``None`` or a positive, finite number of seconds."""
    return None if value is None else check_seconds(name, value)


def check_positive(name: str, value: object) -> int:
    """Check that ``value`` is an ``int`` of at least 1.

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: ``value`` is below 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}.")
    return value


def check_avatar_id(avatar_id: object) -> str:
    """Check that ``avatar_id`` names one avatar.

    Raises:
        TypeError: The id is not a string.
        ValueError: The id is empty, ``.``, ``..``, ``list``, or not valid Unicode.
    """
    if not isinstance(avatar_id, str):
        raise TypeError(f"An avatar id must be a string, not {type(avatar_id).__name__}.")
    if not avatar_id:
        raise ValueError("An avatar id must not be empty.")
    try:
        avatar_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("An avatar id must be valid Unicode text, but it contains a lone surrogate.") from None
    reserved = _RESERVED_IDS.get(avatar_id)
    if reserved is not None:
        raise ValueError(f"{reserved} is not a valid avatar id.")
    return avatar_id


def check_avatar_ids(avatar_ids: Iterable[str]) -> list[str]:
    """Check every id of a bulk call before any request is sent.

    Raises:
        TypeError: ``avatar_ids`` is a single string, or an id is not a string.
        ValueError: An id is empty, ``.``, ``..`` or ``list``; the message
            gives its position.
    """
    if isinstance(avatar_ids, str | bytes):
        raise TypeError("avatar_ids must be a collection of ids, not a single string.")
    ids = list(avatar_ids)
    for position, avatar_id in enumerate(ids):
        try:
            check_avatar_id(avatar_id)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"avatar_ids[{position}]: {exc}") from None
    return ids


def check_bulk_arguments(avatar_ids: Iterable[str], concurrency: object, timeout: object) -> list[str]:
    """Check the arguments that every bulk call shares, before any request is sent.

    Returns:
        The ids as a list, so a one-shot iterator can be read only once.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An id or a number is invalid.
    """
    ids = check_avatar_ids(avatar_ids)
    check_positive("concurrency", concurrency)
    check_optional_seconds("timeout", timeout)
    return ids


def check_callback(name: str, callback: object) -> None:
    """Check that ``callback`` is ``None`` or callable.

    Raises:
        TypeError: It is neither.
    """
    if callback is not None and not callable(callback):
        raise TypeError(f"{name} must be a function such as on_progress(done, total), not {type(callback).__name__}.")


def avatar_path(avatar_id: str) -> str:
    """Build the already percent-encoded path ``/v1/avatar/{id}``.

    Every character outside the unreserved set is escaped, ``/``, ``?``,
    ``#``, ``%``, spaces, CR, LF and non-ASCII included, so an id is always
    exactly one path segment and can never reach a header or change the route.
    """
    return "/v1/avatar/" + quote(check_avatar_id(avatar_id), safe="")
