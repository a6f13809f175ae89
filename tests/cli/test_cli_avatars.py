"""``avatars list``, ``get`` and ``wait`` against the emulator, run in-process through ``main``."""

from __future__ import annotations

import json

from mirako_async.testing import Emulator

from .conftest import RunCli

AVATAR_FIELDS = {"id", "user_id", "name", "status", "created_at", "supported_interactive_models", "themes"}
THEME_FIELDS = {"name", "key_image", "live_video"}


def test_list_prints_table(run_cli: RunCli, api_env: Emulator) -> None:
    seeded = api_env.avatars()

    result = run_cli("avatars", "list")

    assert result.code == 0
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATUS", "CREATED", "(UTC)", "THEMES"]
    assert len(lines) == 1 + len(seeded)
    for line, avatar in zip(lines[1:], seeded, strict=True):
        assert line.startswith(avatar["id"] + "  ")
        assert avatar["name"] in line
        assert avatar["status"] in line
        assert line.endswith(f"  {len(avatar['themes'] or [])}")


def test_list_table_aligns_wide_names(run_cli: RunCli, api_env: Emulator) -> None:
    # The seed name "Li Wei 李伟" has two wide characters that fill two terminal columns each.
    result = run_cli("avatars", "list")

    lines = result.out.splitlines()
    status_column = lines[0].index("STATUS")
    wide_line = next(line for line in lines if "李伟" in line)
    narrow_line = next(line for line in lines[1:] if "READY" in line and "李伟" not in line)
    assert narrow_line.index("READY") == status_column
    assert wide_line.index("READY") == status_column - 2


def test_list_json_is_array_of_avatars(run_cli: RunCli, api_env: Emulator) -> None:
    seeded = api_env.avatars()

    result = run_cli("avatars", "list", "--json")

    assert result.code == 0
    data = json.loads(result.out)
    assert isinstance(data, list)
    assert [entry["id"] for entry in data] == [avatar["id"] for avatar in seeded]
    for entry in data:
        assert set(entry) == AVATAR_FIELDS
        assert isinstance(entry["themes"], list)
        for theme in entry["themes"]:
            assert set(theme) == THEME_FIELDS


def test_list_empty_account(run_cli: RunCli, api_env: Emulator) -> None:
    api_env.clear_avatars()

    table = run_cli("avatars", "list")
    as_json = run_cli("avatars", "list", "--json")

    assert table.code == 0
    assert table.out == "No avatars found.\n"
    assert as_json.code == 0
    assert json.loads(as_json.out) == []


def test_list_escapes_control_characters(run_cli: RunCli, api_env: Emulator) -> None:
    api_env.add_avatar(name="Evil\x1b[2J\nName")

    result = run_cli("avatars", "list")

    assert result.code == 0
    assert "\x1b" not in result.out
    assert "Evil\\x1b[2J\\nName" in result.out


def test_get_shows_themes_and_links(run_cli: RunCli, api_env: Emulator) -> None:
    avatar = api_env.avatars()[0]
    themes = avatar["themes"]

    result = run_cli("avatars", "get", avatar["id"])

    assert result.code == 0
    assert f"ID:                 {avatar['id']}" in result.out
    assert f"Name:               {avatar['name']}" in result.out
    assert f"Themes:             {len(themes)}" in result.out
    for number, theme in enumerate(themes, start=1):
        assert f"  {number}. {theme['name']}" in result.out
    key_image_lines = [line for line in result.out.splitlines() if "Key image:" in line]
    assert len(key_image_lines) == len(themes)
    for line in key_image_lines:
        assert api_env.storage_url in line
    # The seed's third theme has no live video.
    assert "Live video: none" in result.out


def test_get_json_is_object(run_cli: RunCli, api_env: Emulator) -> None:
    avatar = api_env.avatars()[0]

    result = run_cli("avatars", "get", avatar["id"], "--json")

    assert result.code == 0
    data = json.loads(result.out)
    assert set(data) == AVATAR_FIELDS
    assert data["id"] == avatar["id"]
    assert [theme["name"] for theme in data["themes"]] == [theme["name"] for theme in avatar["themes"]]


def test_get_id_with_slash_stays_one_segment(run_cli: RunCli, api_env: Emulator) -> None:
    api_env.add_avatar(name="Odd id", avatar_id="a/b?c")

    result = run_cli("avatars", "get", "a/b?c", "--json")

    assert result.code == 0
    assert json.loads(result.out)["id"] == "a/b?c"


def test_wait_returns_ready_avatar(run_cli: RunCli, api_env: Emulator) -> None:
    added = api_env.add_avatar(name="Fresh", status="PENDING")
    api_env.schedule_build(added["id"], [("PENDING", 0.1), ("BUILDING", 0.1), ("READY", None)])

    result = run_cli("avatars", "wait", added["id"], "--poll-interval", "0.05", "--timeout", "10")

    assert result.code == 0
    assert f"Avatar {added['id']} is ready." in result.out
    assert "Status:             READY" in result.out


def test_wait_json_prints_object(run_cli: RunCli, api_env: Emulator) -> None:
    ready = api_env.avatars()[0]

    result = run_cli("avatars", "wait", ready["id"], "--json")

    assert result.code == 0
    assert json.loads(result.out)["status"] == "READY"


def test_wait_build_error_exits_1(run_cli: RunCli, api_env: Emulator) -> None:
    added = api_env.add_avatar(name="Broken", status="BUILDING")
    api_env.schedule_build(added["id"], [("BUILDING", 0.1), ("ERROR", None)])

    result = run_cli("avatars", "wait", added["id"], "--poll-interval", "0.05", "--timeout", "10")

    assert result.code == 1
    assert result.err.startswith("error: ")
    assert "ERROR" in result.err
    assert len(result.err.splitlines()) == 1


def test_wait_timeout_exits_1(run_cli: RunCli, api_env: Emulator) -> None:
    added = api_env.add_avatar(name="Slow", status="BUILDING")

    result = run_cli("avatars", "wait", added["id"], "--poll-interval", "0.05", "--timeout", "0.3")

    assert result.code == 1
    assert "not ready within 0.3 s" in result.err
