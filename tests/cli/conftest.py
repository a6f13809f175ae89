"""Fixtures for the command-line tests: a clean environment and the CLI's view of the emulator.

The emulator itself is ``mirako_emulator`` from ``mirako_async.testing.pytest_plugin``,
which runs in a background thread. Every test that sends a request points the
CLI at it on 127.0.0.1, and the autouse fixture removes the variables that
could send it elsewhere (a key, a base URL or a proxy from the developer's shell).
"""

from __future__ import annotations

import io
from typing import Any

import attrs
import pytest

from mirako_async._cli import main
from mirako_async.testing import Emulator

API_KEY = "cli-test-key"

_CLEARED_VARIABLES = (
    "MIRAKO_API_KEY",
    "MIRAKO_API_TOKEN",
    "MIRAKO_BASE_URL",
    "MIRAKO_API_URL",
    "MIRAKO_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@attrs.frozen
class Result:
    """Exit code and captured output of one in-process CLI run."""

    code: int
    out: str
    err: str


class FakeTerminal(io.StringIO):
    """A text stream that claims to be a terminal, with optional input to read."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mirako_emulator_options() -> dict[str, Any]:
    """Give the plugin's ``mirako_emulator`` (six curated seed avatars) a key of its own."""
    return {"api_key": API_KEY}


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch, mirako_emulator: Emulator) -> Emulator:
    """Point the CLI at the emulator through MIRAKO_API_KEY and MIRAKO_BASE_URL."""
    monkeypatch.setenv("MIRAKO_API_KEY", mirako_emulator.api_key)
    monkeypatch.setenv("MIRAKO_BASE_URL", mirako_emulator.base_url)
    return mirako_emulator


class RunCli:
    """Call ``main`` with arguments and return its exit code and captured output."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str) -> Result:
        self._capsys.readouterr()
        code = main(list(args))
        captured = self._capsys.readouterr()
        return Result(code=code, out=captured.out, err=captured.err)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    return RunCli(capsys)
