"""Typed, immutable models of the API's response bodies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import frozen

__all__ = ["Avatar", "AvatarStatus", "AvatarTheme", "ErrorDetail"]


class AvatarStatus(StrEnum):
    """Build status of an avatar.

    A status that this version of the SDK does not know comes through as a
    plain ``str``, so compare with ``==`` rather than ``is``.
    """

    PENDING = "PENDING"
    BUILDING = "BUILDING"
    READY = "READY"
    ERROR = "ERROR"


@frozen
class AvatarTheme:
    """One appearance of an avatar, with presigned links to its assets.

    The links point at object storage on another host and expire; fetch the
    avatar again for fresh ones.
    """

    name: str
    key_image: str | None = None
    live_video: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the theme as JSON-ready data in the API's field names."""
        from ._converter import unstructure

        return unstructure(self)


@frozen
class Avatar:
    """An avatar of the current user.

    Attributes:
        id: Unique identifier.
        user_id: Identifier of the owner.
        name: Display name.
        status: An ``AvatarStatus``, or the plain string of a status that
            this version of the SDK does not know.
        created_at: Creation time, always timezone-aware.
        supported_interactive_models: Interactive models the avatar supports;
            empty when the API sent ``null`` or nothing.
        themes: Appearances of the avatar; empty when the API sent ``null``
            or nothing.
    """

    id: str
    user_id: str
    name: str
    status: AvatarStatus | str
    created_at: datetime
    supported_interactive_models: tuple[str, ...] = ()
    themes: tuple[AvatarTheme, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the avatar as JSON-ready data in the API's field names.

        ``created_at`` becomes an RFC 3339 string and the tuples become lists.
        """
        from ._converter import unstructure

        return unstructure(self)


@frozen
class ErrorDetail:
    """One entry of the ``errors`` list of an RFC 9457 problem body.

    Attributes:
        location: Where the error occurred, such as ``body.items[3].tags``.
        message: What is wrong there.
        value: The offending value, as the server sent it.
    """

    location: str | None = None
    message: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-ready data in the API's field names."""
        from ._converter import unstructure

        return unstructure(self)
