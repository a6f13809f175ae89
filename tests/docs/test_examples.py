"""Run every fenced ``python`` block of README.md and docs/**/*.md against the emulator.

Each Markdown file is one test, and its Python blocks (info string
``python``, ``py`` or ``python3``) follow these rules:

* The blocks of one file run in order in one namespace, so a block may use
  the names that an earlier block of the same file defined. The namespace
  starts with only ``__name__ == "__main__"``.
* A block with a top-level ``await``, ``async for`` or ``async with`` runs
  on an event loop that lasts for the whole file, as in a Jupyter cell or
  ``python -m asyncio``. Other blocks run as plain scripts outside any
  event loop, so they may call ``asyncio.run``.
* Before the first block, an emulator starts on 127.0.0.1, and
  ``MIRAKO_API_KEY`` and ``MIRAKO_BASE_URL`` are set to its key and URL, so
  ``AsyncMirako()`` and ``Mirako()`` without arguments reach it. The other
  ``MIRAKO_*`` variables and the proxy variables are removed, ``NO_PROXY``
  covers 127.0.0.1, ``NETRC`` names an empty file so that no ``~/.netrc``
  entry is sent, and the working directory is a new temporary directory.
  The emulator has its six curated seed avatars (``seed=0``).
* A block is a file for pytest instead when its fence has a title that
  names a Python file (```` ```python title="test_app.py" ````), such as a
  ``conftest.py``, a test module or a module that the tests import. So is
  an untitled block that defines a top-level ``test_*`` function or
  ``Test*`` class or assigns ``pytest_plugins``. The files of one Markdown
  file are written to one temporary directory, untitled ones as
  ``test_<file>_block<n>.py``. After the file's other blocks, pytest runs
  that directory in a subprocess with warnings as errors, and every test
  must pass. The tests must bring their own emulator, for example with the
  plugin's fixtures, because the subprocess gets no ``MIRAKO_*`` or proxy
  variables. It does get ``NO_PROXY`` and ``NETRC`` as described above.
* ``<!-- skip-example: reason -->`` on the last non-blank line before the
  opening fence skips the block. The reason is required.
* ``EXPECTED_FAILURES`` lists the blocks known to fail. Such a block must
  raise, the file's test then reports xfail with the errors, and a listed
  block that passes fails the test until it is removed from the list.
* A warning that an example causes, such as a ResourceWarning, fails the
  test, because the suite turns warnings into errors. A client left open
  causes none: the loop's shutdown at the end of the file closes an
  ``AsyncMirako``, and a ``Mirako`` closes itself when it is collected.

Blocks are numbered from 1 among the Python blocks of their file.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import gc
import inspect
import logging
import os
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirako_async.testing import Emulator

from ._markdown import CodeBlock, read_blocks

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# Python blocks that fail today, as (path relative to the repository root,
# 1-based number among that file's Python blocks). Empty this list as the
# blocks are fixed.
EXPECTED_FAILURES: frozenset[tuple[str, int]] = frozenset()

# Variables that could send an example's requests anywhere but the emulator.
_CLEARED_VARIABLES = (
    "MIRAKO_API_KEY",
    "MIRAKO_API_TOKEN",
    "MIRAKO_BASE_URL",
    "MIRAKO_API_URL",
    "MIRAKO_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "WS_PROXY",
    "WSS_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "ws_proxy",
    "wss_proxy",
    "NETRC",
)
# Variables that would change how the pytest subprocess runs.
_PYTEST_VARIABLES = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_CURRENT_TEST")
_LOOPBACK_HOSTS = "127.0.0.1,localhost"
_PYTEST_TIMEOUT = 300.0


def relative_name(path: Path) -> str:
    """Return a Markdown path relative to the repository root, with forward slashes."""
    return path.relative_to(ROOT).as_posix()


def python_blocks(path: Path) -> list[CodeBlock]:
    """Return the Python blocks of a Markdown file, in order."""
    return [block for block in read_blocks(path) if block.is_python]


def is_pytest_file(block: CodeBlock) -> bool:
    """Tell whether a block is a file for pytest rather than an example to run in the namespace."""
    if block.title is not None:
        return re.fullmatch(r"\w+\.py", block.title) is not None
    tree = ast.parse(block.source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            return True
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytest_plugins" for target in node.targets
        ):
            return True
    return False


def pytest_file_name(block: CodeBlock, number: int) -> str:
    """Return the file name under which a pytest block is written."""
    if block.title is not None:
        return block.title
    stem = re.sub(r"\W+", "_", block.path.stem).strip("_").lower()
    return f"test_{stem}_block{number}.py"


def run_block(block: CodeBlock, namespace: dict[str, object], runner: asyncio.Runner) -> None:
    """Run one block in ``namespace``, on ``runner``'s loop if it has a top-level ``await``.

    The source is padded with blank lines so that tracebacks give line
    numbers of the Markdown file.
    """
    padded = "\n" * block.line + block.source
    code = compile(padded, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    # Calling module code as a function stores its names in `namespace`, and
    # returns a coroutine when the code has a top-level await. The asyncio
    # REPL runs its input the same way.
    result = types.FunctionType(code, namespace)()
    if inspect.iscoroutine(result):
        runner.run(result)


def run_pytest_files(files: dict[str, str], directory: Path, netrc: Path) -> str:
    """Write the pytest files into ``directory``, run pytest there and return its output.

    A ``pytest.ini`` with only the setting that docs/testing.md shows keeps
    the repository's pytest settings out, as a user's project would not
    have them.
    """
    directory.mkdir()
    for name, source in files.items():
        (directory / name).write_text(source, encoding="utf-8")
    if "pytest.ini" not in files:
        (directory / "pytest.ini").write_text(
            "[pytest]\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8"
        )

    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in _CLEARED_VARIABLES and name not in _PYTEST_VARIABLES
    }
    environment["NO_PROXY"] = environment["no_proxy"] = _LOOPBACK_HOSTS
    environment["NETRC"] = str(netrc)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", str(directory)]
    completed = subprocess.run(
        command,
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=_PYTEST_TIMEOUT,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"pytest failed on the examples {sorted(files)}:\n{output}"
    return output


@pytest.fixture
def saved_logging() -> Iterator[None]:
    """Restore the root and ``mirako_async`` loggers after examples that configure logging."""
    loggers = [logging.getLogger(), logging.getLogger("mirako_async")]
    saved = [(logger, logger.level, list(logger.handlers), logger.propagate) for logger in loggers]
    yield
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


@pytest.fixture
def empty_netrc(tmp_path: Path) -> Path:
    """Return an empty netrc file, which aiohttp reads in place of ``~/.netrc`` when ``NETRC`` names it."""
    path = tmp_path / "netrc"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture
def example_emulator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_netrc: Path, saved_logging: None
) -> Iterator[Emulator]:
    """Start an emulator and point the environment and the working directory at it."""
    for name in _CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", _LOOPBACK_HOSTS)
    monkeypatch.setenv("no_proxy", _LOOPBACK_HOSTS)
    monkeypatch.setenv("NETRC", str(empty_netrc))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    with Emulator.in_thread() as emulator:
        monkeypatch.setenv("MIRAKO_API_KEY", emulator.api_key)
        monkeypatch.setenv("MIRAKO_BASE_URL", emulator.base_url)
        yield emulator


DOCUMENTS_WITH_EXAMPLES = [path for path in DOCUMENTS if python_blocks(path)]


@pytest.mark.parametrize("document", DOCUMENTS_WITH_EXAMPLES, ids=relative_name)
def test_examples_run(document: Path, example_emulator: Emulator, empty_netrc: Path, tmp_path: Path) -> None:
    name = relative_name(document)
    namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": builtins}
    pytest_files: dict[str, str] = {}
    expected_errors: list[str] = []
    unexpected_passes: list[str] = []

    with asyncio.Runner() as runner:
        for number, block in enumerate(python_blocks(document), start=1):
            label = f"{name} block {number} (line {block.line})"
            expected_to_fail = (name, number) in EXPECTED_FAILURES
            if block.skip_reason is not None:
                continue
            if is_pytest_file(block):
                assert not expected_to_fail, f"{label} is a pytest file, which EXPECTED_FAILURES cannot list."
                pytest_files[pytest_file_name(block, number)] = block.source
                continue

            try:
                run_block(block, namespace, runner)
            except Exception as exc:
                if not expected_to_fail:
                    exc.add_note(f"Raised by the Python example in {label}.")
                    raise
                expected_errors.append(f"{label}: {type(exc).__name__}: {exc}")
            else:
                if expected_to_fail:
                    unexpected_passes.append(label)

    # Collect what the examples left behind now, so that a warning from a
    # finaliser fails this test and not a later one.
    namespace.clear()
    gc.collect()

    if pytest_files:
        run_pytest_files(pytest_files, tmp_path / "pytest-files", empty_netrc)
    assert not unexpected_passes, f"These examples pass now; remove them from EXPECTED_FAILURES: {unexpected_passes}"
    if expected_errors:
        pytest.xfail("Known broken examples: " + "; ".join(expected_errors))


def test_expected_failures_name_examples() -> None:
    known = {
        (relative_name(path), number)
        for path in DOCUMENTS
        for number, block in enumerate(python_blocks(path), start=1)
        if block.skip_reason is None
    }

    stale = sorted(EXPECTED_FAILURES - known)

    assert not stale, f"EXPECTED_FAILURES names blocks that do not exist or are skipped: {stale}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative_name)
def test_code_fences_name_language(document: Path) -> None:
    # A fence without a language could hide a Python example from this suite.
    unnamed = [block.line for block in read_blocks(document) if not block.language]

    assert not unnamed, f"{relative_name(document)}: code fences without a language at lines {unnamed}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative_name)
def test_skip_markers_precede_python(document: Path) -> None:
    misplaced = [block.line for block in read_blocks(document) if block.skip_reason and not block.is_python]

    assert not misplaced, (
        f"{relative_name(document)}: skip-example markers before non-Python blocks at lines {misplaced}"
    )
