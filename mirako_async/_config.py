"""Client settings read from arguments and the environment, checked before any I/O."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Final

from yarl import URL

from ._exceptions import MissingAPIKeyError

__all__ = [
    "API_KEY_VARIABLES",
    "BASE_URL_VARIABLES",
    "DEFAULT_BASE_URL",
    "MaskedHeaderValue",
    "Secret",
    "resolve_api_key",
    "resolve_base_url",
]

DEFAULT_BASE_URL: Final = "https://mirako.co"
API_KEY_VARIABLES: Final = ("MIRAKO_API_KEY", "MIRAKO_API_TOKEN")
BASE_URL_VARIABLES: Final = ("MIRAKO_BASE_URL", "MIRAKO_API_URL")


class Secret:
    """A string that never shows itself in a ``repr``, ``str`` or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the one header that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str:
        raise TypeError("An API key cannot be pickled.")


class MaskedHeaderValue(str):
    """A header value whose ``repr`` hides it, for reprs of header mappings in tracebacks.

    ``str()`` and formatting still give the real value, which is what
    aiohttp writes on the wire.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"

    def __reduce__(self) -> str:
        raise TypeError("A header that carries the API key cannot be pickled.")


def _first_set(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = environ.get(name)
        if value is not None and value.strip():
            return value
    return None


def resolve_api_key(api_key: str | Secret | None, environ: Mapping[str, str] | None = None) -> Secret:
    """Pick the API key from the argument, then ``MIRAKO_API_KEY``, then ``MIRAKO_API_TOKEN``.

    Surrounding whitespace, as read from a file, is stripped.

    Raises:
        MissingAPIKeyError: No key was passed and neither variable is set.
        TypeError: ``api_key`` is not a string.
        ValueError: The key contains characters that cannot go in an HTTP
            header (control characters such as CR, LF or NUL, or non-ASCII).
    """
    if isinstance(api_key, Secret):
        return api_key
    if environ is None:
        environ = os.environ
    if api_key is not None and not isinstance(api_key, str):
        raise TypeError(f"api_key must be a string, not {type(api_key).__name__}.")

    value = api_key if api_key is not None else _first_set(environ, API_KEY_VARIABLES)
    value = (value or "").strip()
    if not value:
        raise MissingAPIKeyError(
            "No Mirako API key was found. Pass api_key=... or set the MIRAKO_API_KEY "
            "(or MIRAKO_API_TOKEN) environment variable."
        )
    # The message never repeats the key itself, only where the fault is.
    for position, char in enumerate(value):
        if not 0x21 <= ord(char) <= 0x7E:
            api_key = value = ""  # Out of the locals that a traceback may show.
            raise ValueError(
                f"The API key contains an invalid character (code {ord(char)} at position "
                f"{position}); an API key is printable ASCII without spaces. Check how the key was read or pasted."
            )
    return Secret(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(
    base_url: str | None,
    *,
    allow_insecure: bool = False,
    environ: Mapping[str, str] | None = None,
) -> URL:
    """Pick and check the API's base URL.

    The argument wins, then ``MIRAKO_BASE_URL``, then ``MIRAKO_API_URL``,
    then ``https://mirako.co``. A trailing slash is dropped, so a path prefix
    such as ``https://gateway.example/mirako`` keeps working.

    Raises:
        TypeError: ``base_url`` is not a string.
        ValueError: The URL is not absolute http(s), carries credentials, a
            query or a fragment, or uses plain ``http://`` on a host that is
            not loopback while ``allow_insecure`` is false.
    """
    if environ is None:
        environ = os.environ
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(f"base_url must be a string, not {type(base_url).__name__}.")

    text = (base_url if base_url is not None else _first_set(environ, BASE_URL_VARIABLES)) or DEFAULT_BASE_URL
    text = text.strip()
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in text):
        raise ValueError("The base URL contains whitespace or control characters.")
    try:
        url = URL(text)
    except ValueError as exc:
        raise ValueError(f"The base URL {text!r} is not a valid URL: {exc}") from None

    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"The base URL must be an absolute http:// or https:// URL, got {text!r}.")
    if url.user is not None or url.password is not None:
        raise ValueError("The base URL must not contain a user name or password; pass the key as api_key.")
    if url.query_string or url.fragment:
        raise ValueError(f"The base URL must not contain a query or fragment, got {text!r}.")
    if url.scheme == "http" and not allow_insecure and not _is_loopback(url.host):
        raise ValueError(
            f"Refusing to send the API key over plain HTTP to {url.host}. Use https://, "
            "or pass allow_insecure=True if the connection is protected another way."
        )

    return url.with_path(url.path.rstrip("/"))
