"""Find the fenced code blocks of a Markdown file, with their skip markers and titles.

Fences may be indented, as inside Material's content tabs. The block's
source is then dedented by the fence's indentation. Only backtick and tilde
fences are recognised, not indented code blocks, which the docs do not use.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PYTHON_LANGUAGES", "SKIP_MARKER", "CodeBlock", "MarkdownError", "read_blocks"]

# Info-string languages whose blocks are Python source and therefore run.
PYTHON_LANGUAGES = frozenset({"python", "py", "python3"})
SKIP_MARKER = re.compile(r"<!--\s*skip-example:(?P<reason>.*?)-->")

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


class MarkdownError(ValueError):
    """A Markdown file breaks a convention that the example runner relies on."""


@dataclass(frozen=True)
class CodeBlock:
    """One fenced code block.

    Attributes:
        path: The Markdown file.
        line: 1-based line number of the opening fence.
        language: First word of the info string, lower-cased, or empty if there is none.
        title: Value of a ``title="..."`` attribute in the info string, or None.
        source: The block's text, dedented, ending with a newline.
        skip_reason: Reason of a ``<!-- skip-example: ... -->`` marker on the
            last non-blank line before the fence, or None.
    """

    path: Path
    line: int
    language: str
    title: str | None
    source: str
    skip_reason: str | None

    @property
    def is_python(self) -> bool:
        """Whether the block is Python source that the example runner executes."""
        return self.language in PYTHON_LANGUAGES


def _parse_info(info: str, path: Path, line: int) -> tuple[str, str | None]:
    """Split a fence's info string into its language and ``title`` attribute."""
    try:
        words = shlex.split(info.replace("{", " ").replace("}", " "))
    except ValueError as exc:
        raise MarkdownError(f"{path}:{line}: invalid info string {info!r} on a code fence: {exc}.") from None
    language = words[0].lower().lstrip(".") if words else ""
    title = None
    for word in words[1:]:
        name, separator, value = word.partition("=")
        if separator and name == "title":
            title = value
    return language, title


def _skip_reason(lines: list[str], fence_index: int, path: Path) -> str | None:
    """Return the reason of a skip marker on the last non-blank line before a fence."""
    index = fence_index - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    if index < 0:
        return None
    match = SKIP_MARKER.fullmatch(lines[index].strip())
    if match is None:
        return None
    reason = match.group("reason").strip()
    if not reason:
        raise MarkdownError(f"{path}:{index + 1}: the skip-example marker needs a reason after the colon.")
    return reason


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")


def read_blocks(path: Path) -> list[CodeBlock]:
    """Return every fenced code block of a Markdown file, in order.

    Raises:
        MarkdownError: A fence is never closed, or a skip marker has no reason.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue

        indent, fence, info = opening.group("indent", "fence", "info")
        language, title = _parse_info(info.strip(), path, index + 1)
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and closing.match(lines[end]) is None:
            end += 1
        if end == len(lines):
            raise MarkdownError(f"{path}:{index + 1}: the code fence is never closed.")

        body = [_dedent(line, indent) for line in lines[index + 1 : end]]
        blocks.append(
            CodeBlock(
                path=path,
                line=index + 1,
                language=language,
                title=title,
                source="\n".join(body) + "\n",
                skip_reason=_skip_reason(lines, index, path),
            )
        )
        index = end + 1
    return blocks
