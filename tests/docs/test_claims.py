"""Checks of statements in the docs that their runnable examples cannot show."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mirako_async
import mirako_async.testing
from mirako_async import Mirako, MirakoError, RetryPolicy
from mirako_async.testing import DropConnection, Emulator

from ._markdown import read_blocks

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_TREE_LINE = re.compile(r"^(?P<prefix>(?:│   |    )*)(?:├── |└── )?(?P<name>\w+)")


def documented_tree() -> dict[str, str | None]:
    """Map each class in the exception tree of docs/errors.md to its parent (None for the root)."""
    block = next(block for block in read_blocks(DOCS / "errors.md") if block.source.startswith("MirakoError\n"))
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in block.source.splitlines():
        match = _TREE_LINE.match(line)
        assert match is not None, f"Unexpected line in the exception tree: {line!r}"
        depth = len(match.group("prefix")) // 4 + (0 if line.startswith("MirakoError") else 1)
        del stack[depth:]
        parents[match.group("name")] = stack[-1] if stack else None
        stack.append(match.group("name"))
    return parents


def public_error_tree() -> dict[str, str | None]:
    """Map each public subclass of MirakoError to its base class (None for MirakoError)."""
    tree: dict[str, str | None] = {}
    for name in mirako_async.__all__:
        value = getattr(mirako_async, name)
        if isinstance(value, type) and issubclass(value, MirakoError):
            tree[name] = None if value is MirakoError else value.__bases__[0].__name__
    return tree


def test_exception_tree_matches_classes() -> None:
    assert documented_tree() == public_error_tree()


def reference_targets() -> set[str]:
    """Return every ``::: name`` target of the API reference pages."""
    targets: set[str] = set()
    for page in (DOCS / "reference").glob("*.md"):
        targets.update(re.findall(r"^::: ([\w.]+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE))
    return targets


def test_reference_covers_public_names() -> None:
    public = {f"mirako_async.{name}" for name in mirako_async.__all__ if name != "__version__"}
    public |= {f"mirako_async.testing.{name}" for name in mirako_async.testing.__all__}

    missing = sorted(public - reference_targets())

    assert not missing, f"docs/reference leaves out these public names: {missing}"


async def test_blocking_client_inside_running_loop(mirako_emulator: Emulator) -> None:
    # docs/sync-client.md: Mirako works where a loop is running, as in a Jupyter cell.
    asyncio.get_running_loop()

    with Mirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False) as client:
        avatars = client.avatars.list()

    assert len(avatars) == 6


_FORK_SCRIPT = textwrap.dedent(
    """
    import asyncio
    import os
    import sys
    import traceback

    from mirako_async import AsyncMirako, Mirako
    from mirako_async.testing import EmulatorProcess

    with EmulatorProcess() as emulator:
        options = {"base_url": emulator.base_url, "trust_env": False}
        client = Mirako(emulator.api_key, **options)
        async_client = AsyncMirako(emulator.api_key, **options)
        runner = asyncio.Runner()
        expected = len(client.avatars.list())
        runner.run(async_client.avatars.list())

        pid = os.fork()
        if pid == 0:
            try:
                assert len(client.avatars.list()) == expected
                assert len(asyncio.run(async_client.avatars.list())) == expected
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)

        _, status = os.waitpid(pid, 0)
        assert len(client.avatars.list()) == expected, "the parent's client broke"
        client.close()
        runner.run(async_client.close())
        runner.close()
        sys.exit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available on this platform")
def test_forked_child_gets_own_pool() -> None:
    # docs/sync-client.md: an inherited client starts a new loop and pool in the
    # child. A separate process forks, because this one runs emulator threads.
    environment = {name: value for name, value in os.environ.items() if name not in _PROXY_VARIABLES}

    completed = subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_lost_delete_response_counts_as_deleted(mirako_client: Mirako, mirako_emulator: Emulator) -> None:
    # docs/getting-started.md and docs/bulk.md: a retried DELETE that ends in 404 succeeds.
    avatar_id = mirako_emulator.avatars()[0]["id"]
    mirako_emulator.inject(DropConnection(after_processing=True), route="delete", times=1)
    client = mirako_client.with_options(retry=RetryPolicy(initial_backoff=0.01))

    client.avatars.delete(avatar_id)

    assert mirako_emulator.avatar(avatar_id) is None


@pytest.fixture
def netrc_with_default_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point NETRC at a file whose ``default`` entry matches every host, and keep proxies out."""
    path = tmp_path / "netrc"
    path.write_text("default login someone password not-the-api-key\n", encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return path


@pytest.mark.usefixtures("netrc_with_default_entry")
def test_netrc_entry_keeps_api_calls_working(mirako_emulator: Emulator) -> None:
    # docs/security.md, note under Proxies.
    with Mirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=True) as client:
        avatars = client.avatars.list()

    assert len(avatars) == 6


@pytest.mark.usefixtures("netrc_with_default_entry")
def test_netrc_entry_stays_off_storage(mirako_client: Mirako, mirako_emulator: Emulator, tmp_path: Path) -> None:
    # docs/security.md, note under Proxies.
    avatar = mirako_client.avatars.get(mirako_emulator.avatars()[0]["id"])

    with Mirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=True) as client:
        client.avatars.download_assets(avatar, tmp_path)

    sent = [request.headers.get("Authorization") for request in mirako_emulator.stats.storage_log]
    assert sent
    assert sent == [None] * len(sent)
