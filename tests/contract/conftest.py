"""Session fixtures that run Prism in static and dynamic mode, each behind a ``PreferProxy``.

When Prism is not installed, the tests that use these fixtures skip, or fail
when the ``CI`` environment variable is set (to anything but empty, ``0`` or
``false``), so that CI cannot pass without running them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ._prism import PreferProxy, PrismServer, missing_prism_reason

_HOW_TO_RUN = "Run `npm ci` at the repository root, then `pytest -m contract`."


def _require_prism() -> None:
    reason = missing_prism_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} The CI environment variable is set, so the contract tests must run. {_HOW_TO_RUN}")
    pytest.skip(f"{reason} {_HOW_TO_RUN}")


def _serve(tmp_path_factory: pytest.TempPathFactory, *, dynamic: bool) -> Iterator[PreferProxy]:
    _require_prism()
    mode = "dynamic" if dynamic else "static"
    prism = PrismServer(tmp_path_factory.mktemp("prism") / f"prism-{mode}.log", dynamic=dynamic)
    prism.start()
    proxy = PreferProxy(prism.url)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        prism.stop()


@pytest.fixture(scope="session")
def static_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreferProxy]:
    """Prism returning the document's examples, reached through a ``PreferProxy``."""
    yield from _serve(tmp_path_factory, dynamic=False)


@pytest.fixture(scope="session")
def dynamic_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreferProxy]:
    """Prism generating random schema-valid bodies (``--dynamic``), reached through a ``PreferProxy``."""
    yield from _serve(tmp_path_factory, dynamic=True)
