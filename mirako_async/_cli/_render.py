"""Text and JSON output of avatars and errors.

Every string that comes from the server passes through ``printable`` before
it reaches a terminal, so that a name or an error detail cannot carry escape
sequences that move the cursor, change colours or retitle the window.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from .._models import Avatar

__all__ = [
    "error_entry",
    "error_message",
    "format_avatar",
    "format_table",
    "printable",
    "to_json",
]

_TABLE_COLUMNS = ("ID", "NAME", "STATUS", "CREATED (UTC)", "THEMES")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def printable(text: str) -> str:
    """Return ``text`` with every control or other non-printable character escaped, as in ``\\x1b``."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def _display_width(text: str) -> int:
    """Count the terminal columns that ``text`` fills: wide East Asian characters take two."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _format_created(avatar: Avatar) -> str:
    return avatar.created_at.astimezone(UTC).strftime(_TIME_FORMAT)


def format_table(avatars: Sequence[Avatar]) -> str:
    """Format avatars as a table with one row each, under a header row."""
    rows = [_TABLE_COLUMNS]
    for avatar in avatars:
        rows.append(
            (
                printable(avatar.id),
                printable(avatar.name),
                printable(str(avatar.status)),
                _format_created(avatar),
                str(len(avatar.themes)),
            )
        )

    widths = [max(_display_width(row[column]) for row in rows) for column in range(len(_TABLE_COLUMNS))]
    lines = []
    for row in rows:
        cells = [cell + " " * (width - _display_width(cell)) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_avatar(avatar: Avatar) -> str:
    """Format one avatar with its fields, then each theme with its asset links."""
    models = ", ".join(printable(model) for model in avatar.supported_interactive_models) or "none"
    lines = [
        f"ID:                 {printable(avatar.id)}",
        f"Name:               {printable(avatar.name)}",
        f"Status:             {printable(str(avatar.status))}",
        f"Created (UTC):      {_format_created(avatar)}",
        f"User ID:            {printable(avatar.user_id)}",
        f"Interactive models: {models}",
        f"Themes:             {len(avatar.themes)}",
    ]
    for number, theme in enumerate(avatar.themes, start=1):
        lines.append(f"  {number}. {printable(theme.name)}")
        lines.append(f"     Key image:  {printable(theme.key_image) if theme.key_image else 'none'}")
        lines.append(f"     Live video: {printable(theme.live_video) if theme.live_video else 'none'}")
    return "\n".join(lines)


def error_message(error: BaseException) -> str:
    """Return an error's message on one printable line."""
    text = " ".join(str(error).split())
    return printable(text) or type(error).__name__


def error_entry(avatar_id: str, error: BaseException) -> dict[str, Any]:
    """Build the JSON entry that replaces an avatar that could not be fetched."""
    return {"id": avatar_id, "error": {"type": type(error).__name__, "message": str(error)}}


def to_json(data: Any) -> str:
    """Serialize JSON-ready data with two-space indentation.

    Non-ASCII characters are written as ``\\u`` escapes, so that the output
    encodes on any console and any JSON reader still reads the same text.
    """
    return json.dumps(data, indent=2)
