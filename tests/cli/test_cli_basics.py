"""Global options, usage errors and the exit codes of failures, run in-process through ``main``."""

from __future__ import annotations

import pytest

import mirako_async
from mirako_async._cli import _commands
from mirako_async.testing import Emulator

from .conftest import RunCli


def test_version_prints_name_and_version(run_cli: RunCli) -> None:
    result = run_cli("--version")

    assert result.code == 0
    assert result.out == f"mirako-async {mirako_async.__version__}\n"


def test_help_lists_commands(run_cli: RunCli) -> None:
    result = run_cli("--help")

    assert result.code == 0
    assert "avatars" in result.out
    assert "demo" in result.out
    assert "MIRAKO_API_KEY" in result.out
    assert "process list" in result.out


def test_avatars_help_lists_subcommands(run_cli: RunCli) -> None:
    result = run_cli("avatars", "--help")

    assert result.code == 0
    for command in ("list", "get", "delete", "get-many", "download", "wait"):
        assert command in result.out


def test_no_command_is_usage_error(run_cli: RunCli) -> None:
    result = run_cli()

    assert result.code == 2
    assert "required" in result.err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--timeout", "-1", "avatars", "list"], id="negative-timeout"),
        pytest.param(["--timeout", "soon", "avatars", "list"], id="text-timeout"),
        pytest.param(["avatars", "wait", "some-id", "--poll-interval", "0"], id="zero-poll-interval"),
        pytest.param(["avatars", "get-many", "--concurrency", "0", "some-id"], id="zero-concurrency"),
        pytest.param(["avatars", "download", "some-id"], id="download-without-dir"),
        pytest.param(["avatars", "frobnicate"], id="unknown-command"),
    ],
)
def test_invalid_option_is_usage_error(run_cli: RunCli, args: list[str]) -> None:
    result = run_cli(*args)

    assert result.code == 2
    assert "error:" in result.err
    assert "Traceback" not in result.err


def test_missing_key_is_usage_error(run_cli: RunCli) -> None:
    # No request is sent without a key; the URL only keeps the default host out of reach.
    result = run_cli("--base-url", "http://127.0.0.1:9", "avatars", "list")

    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("error: No Mirako API key was found.")
    assert "MIRAKO_API_KEY" in result.err
    assert "--api-key" in result.err
    assert len(result.err.splitlines()) == 1


def test_reserved_id_is_usage_error(run_cli: RunCli, api_env: Emulator) -> None:
    result = run_cli("avatars", "get", "list")

    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "not a valid avatar id" in result.err
    assert api_env.stats.requests == 0


def test_empty_id_in_bulk_is_usage_error(run_cli: RunCli, api_env: Emulator) -> None:
    result = run_cli("avatars", "get-many", "some-id", "")

    assert result.code == 2
    assert "must not be empty" in result.err
    assert api_env.stats.requests == 0


def test_unknown_id_is_one_line_error(run_cli: RunCli, api_env: Emulator) -> None:
    result = run_cli("avatars", "get", "no-such-avatar")

    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: ")
    assert "404" in result.err
    assert "no-such-avatar" in result.err
    assert len(result.err.splitlines()) == 1
    assert "Traceback" not in result.err


def test_wrong_key_is_api_error(run_cli: RunCli, mirako_emulator: Emulator) -> None:
    secret = "wrong-secret-value-123"

    result = run_cli("--api-key", secret, "--base-url", mirako_emulator.base_url, "avatars", "list")

    assert result.code == 1
    assert "401" in result.err
    assert secret not in result.err
    assert secret not in result.out


def test_key_never_printed(run_cli: RunCli, api_env: Emulator) -> None:
    results = [
        run_cli("avatars", "list"),
        run_cli("avatars", "list", "--json"),
        run_cli("avatars", "get", "no-such-avatar"),
    ]

    for result in results:
        assert api_env.api_key not in result.out
        assert api_env.api_key not in result.err


def test_connection_error_is_api_error(run_cli: RunCli) -> None:
    # Port 9 (discard) on loopback has no listener here, so the connection is refused.
    result = run_cli("--api-key", "some-key", "--base-url", "http://127.0.0.1:9", "avatars", "list")

    assert result.code == 1
    assert result.err.startswith("error: ")
    assert len(result.err.splitlines()) == 1


def test_ctrl_c_exits_130(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_commands, "open_client", interrupt)

    result = run_cli("avatars", "list")

    assert result.code == 130
    assert "Interrupted." in result.err
    assert "Traceback" not in result.err
