"""``avatars delete``: confirmation, its refusal without a terminal, and bulk deletion."""

from __future__ import annotations

import io
import sys

import pytest

from mirako_async.testing import Emulator

from .conftest import FakeTerminal, RunCli


def _ids(emulator: Emulator) -> list[str]:
    return [avatar["id"] for avatar in emulator.avatars()]


def test_delete_with_yes(run_cli: RunCli, api_env: Emulator) -> None:
    target = _ids(api_env)[0]

    result = run_cli("avatars", "delete", target, "--yes")

    assert result.code == 0
    assert result.out == f"Deleted avatar {target}.\n"
    assert api_env.avatar(target) is None
    assert len(api_env.avatars()) == 5


def test_delete_without_terminal_rejected(run_cli: RunCli, api_env: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _ids(api_env)[0]
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))

    result = run_cli("avatars", "delete", target)

    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "--yes" in result.err
    assert api_env.avatar(target) is not None
    assert api_env.stats.by_route["delete"] == 0


def test_delete_confirmed_on_terminal(run_cli: RunCli, api_env: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _ids(api_env)[0]
    monkeypatch.setattr(sys, "stdin", FakeTerminal("yes\n"))

    result = run_cli("avatars", "delete", target)

    assert result.code == 0
    assert f"Delete avatar {target} for good? [y/N]" in result.err
    assert api_env.avatar(target) is None


@pytest.mark.parametrize("reply", ["n\n", "\n", ""], ids=["no", "empty-line", "end-of-file"])
def test_delete_declined_on_terminal(
    run_cli: RunCli, api_env: Emulator, monkeypatch: pytest.MonkeyPatch, reply: str
) -> None:
    target = _ids(api_env)[0]
    monkeypatch.setattr(sys, "stdin", FakeTerminal(reply))

    result = run_cli("avatars", "delete", target)

    assert result.code == 1
    assert "no avatar was deleted" in result.err
    assert api_env.avatar(target) is not None


def test_delete_many_confirmation_lists_ids(
    run_cli: RunCli, api_env: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = _ids(api_env)[:3]
    monkeypatch.setattr(sys, "stdin", FakeTerminal("y\n"))

    result = run_cli("avatars", "delete", *targets)

    assert result.code == 0
    assert "These 3 avatars will be deleted for good:" in result.err
    for target in targets:
        assert f"  {target}\n" in result.err
        assert api_env.avatar(target) is None


def test_delete_many_reports_failures(run_cli: RunCli, api_env: Emulator) -> None:
    first, second = _ids(api_env)[:2]

    result = run_cli("avatars", "delete", "--yes", first, "no-such-avatar", second)

    assert result.code == 1
    assert result.out == f"Deleted avatar {first}.\nDeleted avatar {second}.\n"
    error_lines = result.err.splitlines()
    assert error_lines[0].startswith("error: no-such-avatar: DELETE")
    assert "404" in error_lines[0]
    assert error_lines[-1] == "error: 1 of 3 avatars could not be deleted."
    assert api_env.avatar(first) is None
    assert api_env.avatar(second) is None


def test_delete_repeated_id_once(run_cli: RunCli, api_env: Emulator) -> None:
    target = _ids(api_env)[0]

    result = run_cli("avatars", "delete", "--yes", target, target)

    assert result.code == 0
    assert result.out == f"Deleted avatar {target}.\n"
    assert api_env.stats.by_route["delete"] == 1


def test_delete_invalid_id_sends_nothing(run_cli: RunCli, api_env: Emulator) -> None:
    result = run_cli("avatars", "delete", "--yes", _ids(api_env)[0], "..")

    assert result.code == 2
    assert "not a valid avatar id" in result.err
    assert api_env.stats.requests == 0
