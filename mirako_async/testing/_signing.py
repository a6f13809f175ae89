"""Presigned asset URLs: issuing them and checking the ones that come back.

The URLs imitate S3 query-string authentication (signature version 4):
the query carries ``X-Amz-*`` parameters, and the credential and session
token contain ``/``, ``+`` and ``=`` sent as ``%2F``, ``%2B`` and ``%3D``.
A client that decodes and encodes the URL again changes the bytes of the
request target, and the storage server then rejects it as not issued.

Each URL belongs to a generation. ``expire_all`` starts a new generation,
and URLs of older generations are then expired. The signature is an
HMAC-SHA256 of the generation and the path, so the server does not need to
remember each URL that it issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from ._store import AssetKind

__all__ = ["AssetRef", "AssetSigner", "SignatureCheck"]

EXPIRES_SECONDS: Final = 3600
_FILE_NAMES: Final[dict[AssetKind, str]] = {
    "key_image": "key_image.png",
    "live_video": "live_video.mp4",
}
_KINDS_BY_FILE: Final[dict[str, AssetKind]] = {name: kind for kind, name in _FILE_NAMES.items()}
_REQUIRED_PARAMS: Final = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_AMZ_DATE: Final = re.compile(r"\d{8}T\d{6}Z")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def quote_segment(text: str) -> str:
    """Percent-encode a path segment or query value, ``/`` included."""
    return urllib.parse.quote(text, safe="")


def unquote_segment(segment: str) -> str:
    """Decode a percent-encoded path segment.

    Raises:
        ValueError: The segment has a malformed escape such as ``%zz`` or
            decodes to invalid UTF-8.
    """
    if _BAD_ESCAPE.search(segment):
        raise ValueError(f"malformed percent escape in {segment!r}")
    return urllib.parse.unquote(segment, errors="strict")


@dataclass(frozen=True, slots=True)
class AssetRef:
    """The asset that a presigned URL names."""

    avatar_id: str
    theme: str
    kind: AssetKind

    @property
    def content_type(self) -> str:
        """MIME type of the asset."""
        return "image/png" if self.kind == "key_image" else "video/mp4"

    @property
    def key(self) -> str:
        """Object key, which also seeds the asset's bytes."""
        return f"{self.avatar_id}/{self.theme}/{self.kind}"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """Result of checking a request target.

    Attributes:
        outcome: ``valid``, ``expired`` (issued, but in an older generation),
            ``denied`` (never issued) or ``malformed`` (the query lacks a
            required parameter or has an invalid one).
        asset: The asset named, for ``valid`` and ``expired``.
        message: Why the target is not valid.
    """

    outcome: Literal["valid", "expired", "denied", "malformed"]
    asset: AssetRef | None = None
    message: str = ""


class AssetSigner:
    """Issues and checks presigned asset URLs. Every method is thread-safe."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._origin = ""
        # X-Amz-Date of each generation. The index is the generation.
        self._dates: list[str] = [self._now_amz_date()]
        self._generations = {self._dates[0]: 0}
        self._cache: dict[tuple[str, str, AssetKind], str] = {}

    @staticmethod
    def _now_amz_date() -> str:
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    def set_origin(self, origin: str) -> None:
        """Set the storage server's origin, such as ``http://127.0.0.1:8001``."""
        with self._lock:
            self._origin = origin
            self._cache.clear()

    def expire_all(self) -> None:
        """Start a new generation, so that every URL issued so far is expired."""
        with self._lock:
            date = self._now_amz_date()
            last = datetime.strptime(self._dates[-1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if date <= self._dates[-1]:
                # Two generations in the same second still need distinct dates.
                date = (last + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
            self._generations[date] = len(self._dates)
            self._dates.append(date)
            self._cache.clear()

    @property
    def generation(self) -> int:
        """Number of times that ``expire_all`` was called."""
        with self._lock:
            return len(self._dates) - 1

    def url(self, avatar_id: str, theme: str, kind: AssetKind) -> str:
        """Return the current presigned URL of an asset."""
        cache_key = (avatar_id, theme, kind)
        with self._lock:
            url = self._cache.get(cache_key)
            if url is None:
                target = self._target(avatar_id, theme, kind, len(self._dates) - 1)
                url = self._origin + target
                self._cache[cache_key] = url
            return url

    def _target(self, avatar_id: str, theme: str, kind: AssetKind, generation: int) -> str:
        path = f"/assets/{quote_segment(avatar_id)}/{quote_segment(theme)}/{_FILE_NAMES[kind]}"
        date = self._dates[generation]
        message = f"{generation}\n{path}".encode()
        signature = hmac.digest(self._secret, message, hashlib.sha256).hex()
        token_digest = hmac.digest(self._secret, b"token\n" + message, hashlib.sha256)
        token = base64.b64encode(token_digest[:18]).decode() + "/emulator+session=="
        credential = f"EMULATORACCESSKEY/{date[:8]}/us-east-1/s3/aws4_request"
        query = "&".join(
            (
                "X-Amz-Algorithm=AWS4-HMAC-SHA256",
                f"X-Amz-Credential={quote_segment(credential)}",
                f"X-Amz-Date={date}",
                f"X-Amz-Expires={EXPIRES_SECONDS}",
                "X-Amz-SignedHeaders=host",
                f"X-Amz-Security-Token={quote_segment(token)}",
                f"X-Amz-Signature={signature}",
            )
        )
        return f"{path}?{query}"

    def check(self, target: str) -> SignatureCheck:
        """Check a raw request target (path and query) byte for byte against the issued URLs."""
        path, _, query = target.partition("?")
        params: dict[str, str] = {}
        try:
            for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True, errors="strict"):
                params.setdefault(name, value)
        except (ValueError, UnicodeDecodeError) as exc:
            return SignatureCheck("malformed", message=f"The query string is not valid: {exc}.")

        present = [name for name in _REQUIRED_PARAMS if name in params]
        if not present:
            return SignatureCheck("denied", message="The request has no presigned signature.")
        missing = [name for name in _REQUIRED_PARAMS if name not in params]
        if missing:
            return SignatureCheck(
                "malformed",
                message=f"The presigned URL is missing required parameters: {', '.join(missing)}.",
            )
        problem = _check_param_values(params)
        if problem:
            return SignatureCheck("malformed", message=problem)

        asset = _parse_asset_path(path)
        with self._lock:
            generation = self._generations.get(params["X-Amz-Date"])
            if asset is None or generation is None:
                return SignatureCheck("denied", message="The URL was not issued by this server.")
            if target != self._target(asset.avatar_id, asset.theme, asset.kind, generation):
                return SignatureCheck(
                    "denied",
                    message="The request target does not match the URL that was issued.",
                )
            if generation < len(self._dates) - 1:
                return SignatureCheck("expired", asset, "Request has expired")
        return SignatureCheck("valid", asset)


def _check_param_values(params: dict[str, str]) -> str | None:
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        return "X-Amz-Algorithm only supports AWS4-HMAC-SHA256."
    if not _AMZ_DATE.fullmatch(params["X-Amz-Date"]):
        return "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'."
    expires = params["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= 604800:
        return "X-Amz-Expires must be a whole number of seconds from 1 to 604800."
    return None


def _parse_asset_path(path: str) -> AssetRef | None:
    segments = path.split("/")
    if len(segments) != 5 or segments[0] != "" or segments[1] != "assets":
        return None
    kind = _KINDS_BY_FILE.get(segments[4])
    if kind is None:
        return None
    try:
        avatar_id = unquote_segment(segments[2])
        theme = unquote_segment(segments[3])
    except ValueError:
        return None
    return AssetRef(avatar_id, theme, kind)
