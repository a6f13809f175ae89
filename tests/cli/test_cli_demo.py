"""``demo``: the whole session against its own emulator, with no key or URL in the environment."""

from __future__ import annotations

import re

from .conftest import RunCli


def _section(output: str, start: str, end: str | None) -> str:
    begin = output.index(start)
    return output[begin : output.index(end, begin) if end else None]


def test_demo_runs_all_steps(run_cli: RunCli) -> None:
    result = run_cli("demo")

    assert result.code == 0
    assert result.err == ""
    for number in range(1, 5):
        assert f"Step {number} of 4:" in result.out


def test_demo_lists_shows_deletes_and_lists(run_cli: RunCli) -> None:
    result = run_cli("demo")
    first_list = _section(result.out, "Step 1 of 4", "Step 2 of 4")
    detail = _section(result.out, "Step 2 of 4", "Step 3 of 4")
    deletion = _section(result.out, "Step 3 of 4", "Step 4 of 4")
    second_list = _section(result.out, "Step 4 of 4", None)

    deleted = re.search(r"Deleted avatar (\S+)\.", deletion)
    assert deleted is not None
    deleted_id = deleted.group(1)

    first_rows = [line for line in first_list.splitlines() if re.match(r"[0-9a-f]{8}-", line)]
    second_rows = [line for line in second_list.splitlines() if re.match(r"[0-9a-f]{8}-", line)]
    assert "6 avatars." in first_list
    assert len(first_rows) == 6
    assert "5 avatars, one fewer than in step 1" in second_list
    assert len(second_rows) == 5
    assert any(row.startswith(deleted_id) for row in first_rows)
    assert not any(row.startswith(deleted_id) for row in second_rows)

    assert f"ID:                 {deleted_id}" in detail
    assert "Themes:             3" in detail
    assert "  1. Default" in detail
    assert "Key image:  http://127.0.0.1:" in detail


def test_demo_ignores_key_and_url_options(run_cli: RunCli) -> None:
    # Both would fail if used: the key is wrong and nothing listens on port 9.
    result = run_cli("--api-key", "not-the-emulator-key", "--base-url", "http://127.0.0.1:9", "demo")

    assert result.code == 0
    assert "not-the-emulator-key" not in result.out
