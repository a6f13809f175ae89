"""``python -m mirako_async`` in a real subprocess, pointed at an emulator in this process's thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mirako_async.testing import Emulator

from .conftest import API_KEY

# Generous, because a loaded CI machine may start Python slowly.
_TIMEOUT = 60


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mirako_async", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=_TIMEOUT,
        check=False,
    )


@pytest.fixture
def child_env(mirako_emulator: Emulator) -> dict[str, str]:
    """The test's environment (already without keys, URLs and proxies) plus the emulator's key and URL."""
    env = dict(os.environ)
    env["MIRAKO_API_KEY"] = mirako_emulator.api_key
    env["MIRAKO_BASE_URL"] = mirako_emulator.base_url
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def test_subprocess_list_json(child_env: dict[str, str], mirako_emulator: Emulator) -> None:
    completed = _run("avatars", "list", "--json", env=child_env)

    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    assert [entry["id"] for entry in data] == [avatar["id"] for avatar in mirako_emulator.avatars()]
    assert API_KEY not in completed.stdout + completed.stderr


def test_subprocess_unknown_id_has_no_traceback(child_env: dict[str, str]) -> None:
    completed = _run("avatars", "get", "no-such-avatar", env=child_env)

    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.startswith("error: GET /v1/avatar/no-such-avatar failed with 404")
    assert len(completed.stderr.splitlines()) == 1
    assert "Traceback" not in completed.stderr


def test_subprocess_delete_rejected_without_terminal(child_env: dict[str, str], mirako_emulator: Emulator) -> None:
    target = mirako_emulator.avatars()[0]["id"]

    completed = _run("avatars", "delete", target, env=child_env)

    assert completed.returncode == 2
    assert "--yes" in completed.stderr
    assert mirako_emulator.avatar(target) is not None


def test_subprocess_missing_key(child_env: dict[str, str]) -> None:
    del child_env["MIRAKO_API_KEY"]

    completed = _run("avatars", "list", env=child_env)

    assert completed.returncode == 2
    assert "MIRAKO_API_KEY" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_subprocess_version(child_env: dict[str, str]) -> None:
    completed = _run("--version", env=child_env)

    assert completed.returncode == 0
    assert completed.stdout.startswith("mirako-async ")
