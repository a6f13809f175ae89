"""``avatars get-many`` and ``download`` against the emulator, failures included."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mirako_async.testing import Emulator, Status

from .conftest import FakeTerminal, RunCli


def _ids(emulator: Emulator) -> list[str]:
    return [avatar["id"] for avatar in emulator.avatars()]


def test_get_many_json_with_failing_id(run_cli: RunCli, api_env: Emulator) -> None:
    first, second = _ids(api_env)[:2]

    result = run_cli("avatars", "get-many", "--json", first, "no-such-avatar", second)

    assert result.code == 1
    data = json.loads(result.out)
    assert [entry["id"] for entry in data] == [first, "no-such-avatar", second]
    assert data[0]["name"] == api_env.avatars()[0]["name"]
    assert "themes" in data[2]
    assert set(data[1]) == {"id", "error"}
    assert data[1]["error"]["type"] == "NotFoundError"
    assert "404" in data[1]["error"]["message"]
    assert result.err.splitlines()[-1] == "error: 1 of 3 avatars could not be fetched."


def test_get_many_table_and_failures(run_cli: RunCli, api_env: Emulator) -> None:
    first = _ids(api_env)[0]

    result = run_cli("avatars", "get-many", first, "no-such-avatar")

    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("ID")
    assert len(lines) == 2
    assert lines[1].startswith(first)
    assert result.err.splitlines()[0].startswith("error: no-such-avatar: GET")


def test_get_many_all(run_cli: RunCli, api_env: Emulator) -> None:
    result = run_cli("avatars", "get-many", "--all", "--json")

    assert result.code == 0
    assert result.err == ""
    assert [entry["id"] for entry in json.loads(result.out)] == _ids(api_env)


def test_get_many_keeps_repeated_ids(run_cli: RunCli, api_env: Emulator) -> None:
    first = _ids(api_env)[0]

    result = run_cli("avatars", "get-many", "--json", first, first)

    assert result.code == 0
    assert [entry["id"] for entry in json.loads(result.out)] == [first, first]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([], "Pass at least one avatar id", id="neither"),
        pytest.param(["--all", "some-id"], "not both", id="both"),
    ],
)
def test_get_many_ids_or_all(run_cli: RunCli, api_env: Emulator, args: list[str], message: str) -> None:
    result = run_cli("avatars", "get-many", *args)

    assert result.code == 2
    assert message in result.err
    assert api_env.stats.requests == 0


def test_get_many_server_errors(run_cli: RunCli, api_env: Emulator) -> None:
    api_env.inject(Status(500), "get")

    result = run_cli("--timeout", "5", "avatars", "get-many", "--json", *_ids(api_env)[:2])

    assert result.code == 1
    data = json.loads(result.out)
    assert [entry["error"]["type"] for entry in data] == ["InternalServerError", "InternalServerError"]
    assert result.err.splitlines()[-1] == "error: 2 of 2 avatars could not be fetched."


def test_get_many_progress_on_terminal(run_cli: RunCli, api_env: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    result = run_cli("avatars", "get-many", "--all")

    assert result.code == 0
    drawn = terminal.getvalue()
    assert drawn.startswith("\rFetching [")
    assert "] 6/6" in drawn
    assert drawn.endswith("\n")


def test_get_many_no_progress_without_terminal(run_cli: RunCli, api_env: Emulator) -> None:
    result = run_cli("avatars", "get-many", "--all")

    assert result.code == 0
    assert result.err == ""


def test_download_writes_assets(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    avatar = api_env.avatars()[0]
    expected_files = sum(bool(theme.get("key_image")) + bool(theme.get("live_video")) for theme in avatar["themes"])

    result = run_cli("avatars", "download", avatar["id"], "--dir", str(tmp_path))

    assert result.code == 0
    printed = [Path(line) for line in result.out.splitlines()]
    assert len(printed) == expected_files
    assert sorted(printed) == sorted(tmp_path.iterdir())
    for path in printed:
        assert path.name.startswith(avatar["id"])
        assert path.stat().st_size == 4096


def test_download_creates_directory(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder"

    result = run_cli("avatars", "download", _ids(api_env)[0], "--dir", str(target))

    assert result.code == 0
    assert target.is_dir()
    assert len(list(target.iterdir())) == len(result.out.splitlines())


def test_download_reports_failing_id(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    first = _ids(api_env)[0]

    result = run_cli("avatars", "download", first, "no-such-avatar", "--dir", str(tmp_path))

    assert result.code == 1
    assert len(result.out.splitlines()) == len(list(tmp_path.iterdir()))
    assert result.err.splitlines()[0].startswith("error: no-such-avatar: GET")
    assert result.err.splitlines()[-1] == "error: 1 of 2 avatars could not be downloaded."


def test_download_dir_is_file(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("not a directory")

    result = run_cli("avatars", "download", _ids(api_env)[0], "--dir", str(occupied))

    assert result.code == 1
    assert result.err.startswith("error: ")
    assert str(occupied) in result.err
    assert len(result.err.splitlines()) == 1


def test_download_all(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    assets = sum(
        bool(theme.get("key_image")) + bool(theme.get("live_video"))
        for avatar in api_env.avatars()
        for theme in avatar["themes"] or []
    )

    result = run_cli("avatars", "download", "--all", "--dir", str(tmp_path))

    assert result.code == 0
    assert len(list(tmp_path.iterdir())) == assets
    assert len(result.out.splitlines()) == assets


def test_download_avatar_without_assets(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    # The fourth seed avatar is PENDING and has no themes.
    pending = api_env.avatars()[3]

    result = run_cli("avatars", "download", pending["id"], "--dir", str(tmp_path))

    assert result.code == 0
    assert result.out == ""
    assert "no assets" in result.err


def test_download_storage_failure_exits_1(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    api_env.inject(Status(500), "storage")

    result = run_cli("--timeout", "5", "avatars", "download", _ids(api_env)[0], "--dir", str(tmp_path))

    assert result.code == 1
    assert "could not be downloaded" in result.err
    assert list(tmp_path.iterdir()) == []


def test_download_refetches_expired_link(run_cli: RunCli, api_env: Emulator, tmp_path: Path) -> None:
    # Storage answers 403 to an expired presigned link; the CLI fetches the avatar again once.
    api_env.inject(Status(403), "storage", times=1)

    result = run_cli("avatars", "download", _ids(api_env)[0], "--dir", str(tmp_path))

    assert result.code == 0
    assert len(result.out.splitlines()) == len(list(tmp_path.iterdir()))
    assert api_env.stats.by_route["get"] == 2
