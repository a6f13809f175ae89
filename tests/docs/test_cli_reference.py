"""docs/cli.md must match the ``--help`` output of the command lines.

Set ``MIRAKO_UPDATE_DOCS=1`` to rewrite the page instead of comparing it.
"""

from __future__ import annotations

import difflib
import os

from .cli_reference import PAGE, render_page, write_page


def test_cli_page_matches_parsers() -> None:
    if os.environ.get("MIRAKO_UPDATE_DOCS") == "1":
        write_page()
    expected = render_page()
    committed = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""

    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile="docs/cli.md (committed)",
            tofile="docs/cli.md (from the parsers)",
        )
    )
    assert not diff, (
        "docs/cli.md is out of date. Regenerate it with `python -m tests.docs.cli_reference` "
        f"or MIRAKO_UPDATE_DOCS=1:\n{diff}"
    )


def test_cli_page_covers_every_command() -> None:
    page = render_page()

    for command in ("list", "get", "delete", "get-many", "download", "wait"):
        assert f"## mirako-async avatars {command}\n" in page
    assert "## mirako-async demo\n" in page
    assert "usage: python -m mirako_async.testing" in page
