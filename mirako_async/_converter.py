"""The one cattrs converter that turns response bodies into models and back.

Structuring is strict about types (a number is never turned into a string)
and lenient about shape: unknown fields are ignored, because the server may
add fields at any time, and ``null`` or missing lists become empty tuples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import cattrs
from attrs import frozen

from ._models import Avatar, AvatarStatus, AvatarTheme, ErrorDetail

__all__ = ["BodyDecodeError", "converter", "decode_avatar", "decode_avatar_list", "unstructure"]

T = TypeVar("T")

# RFC 3339 date-time. Go's time.RFC3339Nano sends up to nine fractional
# digits; Python keeps six, so the rest are truncated.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


class BodyDecodeError(Exception):
    """A response body that is not JSON or does not fit its model.

    Attributes:
        reason: One sentence on what is wrong.
        paths: Every failing location in the body, such as ``data[1].created_at``.
    """

    def __init__(self, reason: str, paths: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.paths = paths


@frozen
class _AvatarBody:
    data: Avatar


@frozen
class _AvatarListBody:
    data: tuple[Avatar, ...] | None


def _json_type(value: object) -> str:
    """Name the JSON type of a decoded value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 date-time into a timezone-aware ``datetime``.

    Fractional seconds beyond six digits are truncated.

    Raises:
        ValueError: The string is not an RFC 3339 date-time with an offset.
    """
    if _RFC3339.fullmatch(value) is None:
        raise ValueError(f"expected an RFC 3339 date-time with a time zone, got {value[:64]!r}")
    # The pattern admits only forms that fromisoformat reads the RFC 3339
    # way (Python 3.11 and later), and it is several times faster than
    # building the datetime by hand. It rejects a lower-case "t" or "z".
    return datetime.fromisoformat(value.upper())


def format_rfc3339(value: datetime) -> str:
    """Format an aware ``datetime`` as RFC 3339, with ``Z`` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_json_type(value)}")
    return value


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 3339 string, got {_json_type(value)}")
    return parse_rfc3339(value)


def _structure_status(value: Any, _: type) -> AvatarStatus | str:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string, got {_json_type(value)}")
    try:
        return AvatarStatus(value)
    except ValueError:
        return value  # A status added to the API after this release.


def _structure_object(value: Any, cls: type[T], hook: Callable[[Any, type], T]) -> T:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {_json_type(value)}")
    return hook(value, cls)


def _is_type(expected: Any) -> Callable[[Any], bool]:
    """Build a hook predicate that matches one type, generic aliases included."""

    def matches(candidate: Any) -> bool:
        return bool(candidate == expected)

    return matches


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook_func(_is_type(AvatarStatus | str), _structure_status)

    # Lists may be null or missing; a string or an object is not a list.
    for seq_type in (tuple[str, ...], tuple[AvatarTheme, ...], tuple[Avatar, ...]):
        base_seq = conv.get_structure_hook(seq_type)

        def structure_sequence(value: Any, t: type, base_seq: Any = base_seq) -> Any:
            if value is None:
                return ()
            if not isinstance(value, list):
                raise TypeError(f"expected an array or null, got {_json_type(value)}")
            return base_seq(value, t)

        conv.register_structure_hook_func(_is_type(seq_type), structure_sequence)

    # Attrs classes only accept JSON objects: cattrs alone would read a
    # list of pairs or a string as a mapping and report a confusing error.
    # Wrap the inner classes first: a generated hook binds the hooks of its fields.
    for cls in (ErrorDetail, AvatarTheme, Avatar, _AvatarBody, _AvatarListBody):
        base = conv.get_structure_hook(cls)
        conv.register_structure_hook(cls, lambda v, t, base=base: _structure_object(v, t, base))

    conv.register_unstructure_hook(datetime, format_rfc3339)
    conv.register_unstructure_hook(tuple, list)
    conv.register_unstructure_hook_func(_is_type(AvatarStatus | str), str)
    return conv


converter = _make_converter()


def unstructure(obj: Avatar | AvatarTheme | ErrorDetail) -> dict[str, Any]:
    """Turn a model into JSON-ready data in the API's field names."""
    result: dict[str, Any] = converter.unstructure(obj)
    return result


def _load_json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except UnicodeDecodeError as exc:
        raise BodyDecodeError("The response body is not valid UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise BodyDecodeError(f"The response body is not valid JSON ({exc.msg} at position {exc.pos}).") from exc
    except (ValueError, RecursionError) as exc:
        # Python refuses integers of more than 4300 digits and stops at its
        # recursion limit on very deep nesting.
        raise BodyDecodeError(f"The response body could not be decoded as JSON ({exc}).") from exc


def _structure_body(payload: bytes, body_type: type[T]) -> T:
    data = _load_json(payload)
    if not isinstance(data, dict):
        raise BodyDecodeError(f"The response body is {_json_type(data)}, but a JSON object was expected.")
    try:
        return converter.structure(data, body_type)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise BodyDecodeError("The response body does not fit the API schema.", _failing_paths(exc)) from exc
    except RecursionError as exc:
        raise BodyDecodeError("The response body is nested too deeply to decode.") from exc


def _describe_failure(exc: BaseException, expected: type | None) -> str:
    """Prefer the messages of this module's hooks over cattrs' generic wording."""
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, TypeError | ValueError) and exc.args and "expected" in str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, expected)


def _failing_paths(exc: Exception) -> tuple[str, ...]:
    """Describe each failure in a cattrs error as ``path: reason``."""
    if not isinstance(exc, cattrs.BaseValidationError):
        return (f"body: {exc}",)
    lines = cattrs.transform_error(exc, path="$", format_exception=_describe_failure)
    described = []
    for line in lines:
        reason, _, path = line.rpartition(" @ ")
        described.append(f"{path.removeprefix('$').removeprefix('.')}: {reason}")
    return tuple(described)


def decode_avatar(payload: bytes) -> Avatar:
    """Decode the body of ``GET /v1/avatar/{id}``.

    Raises:
        BodyDecodeError: The body is not JSON or does not fit the schema.
    """
    return _structure_body(payload, _AvatarBody).data


def decode_avatar_list(payload: bytes) -> list[Avatar]:
    """Decode the body of ``GET /v1/avatar/list``; ``"data": null`` is an empty list.

    Raises:
        BodyDecodeError: The body is not JSON or does not fit the schema.
    """
    return list(_structure_body(payload, _AvatarListBody).data or ())


def structure_error_details(value: Any) -> tuple[ErrorDetail, ...]:
    """Read the ``errors`` list of a problem body, skipping entries that do not fit."""
    if not isinstance(value, list):
        return ()
    details = []
    for item in value:
        try:
            details.append(converter.structure(item, ErrorDetail))
        except (cattrs.BaseValidationError, ValueError, TypeError):
            continue
    return tuple(details)
