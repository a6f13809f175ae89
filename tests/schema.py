"""Validate API response bodies against the project's OpenAPI document, docs/openapi.yaml.

The emulator tests call ``validate_response`` on every response the emulator
sends, and the contract tests call it on what Prism sends, so both are held
to the same document as the SDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["OPENAPI_PATH", "ROUTES", "is_rfc3339_date_time", "validate_response"]

OPENAPI_PATH: Final = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"

# Base URI under which the document is registered, so that its internal
# references such as "#/components/schemas/AvatarResponse" resolve.
_DOCUMENT_URI: Final = "urn:mirako-async:docs:openapi.yaml"

ROUTES: Final[Mapping[str, tuple[str, str]]] = {
    "list": ("/v1/avatar/list", "get"),
    "get": ("/v1/avatar/{id}", "get"),
    "delete": ("/v1/avatar/{id}", "delete"),
}

# Maximum errors listed in one assertion message. The message counts the rest.
_MAX_LISTED_ERRORS: Final = 20
_BODY_EXCERPT_CHARS: Final = 600

# RFC 3339, section 5.6. The fraction has no digit limit, so the nine digits
# of Go's time.RFC3339Nano are valid. Ranges are checked after the match.
_RFC3339_DATE_TIME: Final = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.\d+)?"
    r"(?:[Zz]|[+-](?P<offset_hour>\d{2}):(?P<offset_minute>\d{2}))",
    re.ASCII,
)


def is_rfc3339_date_time(value: object) -> bool:
    """Return whether ``value`` matches the JSON Schema ``date-time`` format, an RFC 3339 date-time.

    Non-strings match, because JSON Schema formats only constrain strings. A leap
    second (``:60``) is accepted on any date, because RFC 3339 allows it and
    the leap second table is out of scope.
    """
    if not isinstance(value, str):
        return True
    match = _RFC3339_DATE_TIME.fullmatch(value)
    if match is None:
        return False
    try:
        date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return False
    if int(match["hour"]) > 23 or int(match["minute"]) > 59 or int(match["second"]) > 60:
        return False
    if match["offset_hour"] is not None:
        return int(match["offset_hour"]) <= 23 and int(match["offset_minute"]) <= 59
    return True


@cache
def _format_checker() -> FormatChecker:
    """Build jsonschema's checker with this module's ``date-time`` check in place of its own.

    jsonschema checks ``date-time`` only when the optional rfc3339-validator
    package is installed and skips it silently otherwise, so the check here
    keeps the result the same on every machine.
    """
    checker = FormatChecker()
    # NOTE: jsonschema checks the "uri" format of ErrorModel.type and
    # ErrorModel.instance only when its optional rfc3987 package is installed.
    checker.checks("date-time")(is_rfc3339_date_time)
    return checker


@cache
def _load_document() -> tuple[dict[str, Any], Registry[Any]]:
    """Read docs/openapi.yaml once and register it for resolving ``$ref``."""
    with OPENAPI_PATH.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
    return document, registry


@cache
def _validator(schema_ref: str) -> Draft202012Validator:
    """Build a Draft 2020-12 validator for one schema of the document, such as ``#/components/schemas/X``."""
    _, registry = _load_document()
    return Draft202012Validator(
        {"$ref": _DOCUMENT_URI + schema_ref},
        registry=registry,
        format_checker=_format_checker(),
    )


def _resolve(node: Mapping[str, Any], registry: Registry[Any]) -> Mapping[str, Any]:
    """Follow a Response Object's ``$ref`` within the document, if it has one."""
    reference = node.get("$ref")
    if reference is None:
        return node
    resolved: Mapping[str, Any] = registry.resolver(_DOCUMENT_URI).lookup(reference).contents
    return resolved


def _response_object(route: str, status: int) -> tuple[str, Mapping[str, Any]]:
    """Find the Response Object that documents ``status`` on ``route``, with its key."""
    if route not in ROUTES:
        raise ValueError(f"Unknown route {route!r}; expected one of {', '.join(sorted(ROUTES))}.")
    path, method = ROUTES[route]
    document, registry = _load_document()
    responses: Mapping[str, Any] = document["paths"][path][method]["responses"]

    key = str(status)
    if key not in responses:
        # "default" documents the error statuses that have no entry of their
        # own. A success status without an entry is a contract violation.
        if status < 400 or "default" not in responses:
            documented = ", ".join(sorted(responses))
            raise AssertionError(
                f"{method.upper()} {path} ({route}) returned status {status}, which "
                f"docs/openapi.yaml does not document. Documented: {documented}."
            )
        key = "default"
    return key, _resolve(responses[key], registry)


def _decode_body(body: bytes | object, where: str) -> object:
    if not isinstance(body, bytes | bytearray):
        return body
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise AssertionError(f"{where}: the body is not valid UTF-8 ({exc}).") from None
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"{where}: the body is not valid JSON ({exc.msg} at position {exc.pos}): {_excerpt(body)}"
        ) from None


def _excerpt(body: bytes | object) -> str:
    if isinstance(body, bytes | bytearray):
        text = bytes(body).decode("utf-8", errors="replace")
    else:
        text = json.dumps(body, ensure_ascii=False, default=repr)
    if len(text) <= _BODY_EXCERPT_CHARS:
        return text
    return text[:_BODY_EXCERPT_CHARS] + f"... ({len(text)} characters)"


def _describe(error: ValidationError) -> str:
    return f"{error.json_path}: {error.message}"


def validate_response(route: str, status: int, body: bytes | object) -> None:
    """Assert that a response body matches docs/openapi.yaml for its route and status.

    Args:
        route: ``"list"``, ``"get"`` or ``"delete"``.
        status: HTTP status of the response. An error status without an
            entry of its own is checked against the ``default`` response
            (``ErrorModel``).
        body: The raw body as bytes, or an already decoded JSON value. A
            response without content, such as 204, needs ``b""`` or ``None``.

    Raises:
        AssertionError: The status is not documented for the route, or the
            body is not JSON or does not match the schema. The message lists
            each failing location as a JSON path.
        ValueError: ``route`` is not one of the three routes.
    """
    key, response = _response_object(route, status)
    path, method = ROUTES[route]
    where = f"{method.upper()} {path} ({route}) with status {status}"

    content: Mapping[str, Any] | None = response.get("content")
    if not content:
        if body is None or body == b"":
            return
        raise AssertionError(f"{where}: expected no body, got {_excerpt(body)}")
    if len(content) != 1:
        raise AssertionError(f"{where}: response {key!r} has {len(content)} media types; expected one.")
    (media_type, media) = next(iter(content.items()))

    schema_ref: str = media["schema"]["$ref"]
    schema_name = schema_ref.rpartition("/")[2]
    validator = _validator(schema_ref)

    instance = _decode_body(body, where)
    errors = sorted(validator.iter_errors(instance), key=lambda error: error.json_path)
    if not errors:
        return

    lines = [_describe(error) for error in errors[:_MAX_LISTED_ERRORS]]
    if len(errors) > _MAX_LISTED_ERRORS:
        lines.append(f"and {len(errors) - _MAX_LISTED_ERRORS} more errors")
    raise AssertionError(
        f"{where}: the {media_type} body does not match {schema_name} in docs/openapi.yaml:\n  "
        + "\n  ".join(lines)
        + f"\nBody: {_excerpt(body)}"
    )
