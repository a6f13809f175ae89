"""Every check of the project behind one command: ``nox`` (or ``nox -s NAME``).

Sessions: tests (each supported Python found), coverage, lint, typecheck,
docs, contract (Stoplight Prism), build, and bench (not run by default).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "coverage", "lint", "typecheck", "docs", "contract", "build"]

ROOT = Path(__file__).parent
SUPPORTED = ["3.11", "3.12", "3.13"]


def _runs(command: str) -> bool:
    """Tell whether an interpreter runs; a pyenv shim of an inactive version does not."""
    if shutil.which(command) is None:
        return False
    return subprocess.run([command, "-c", "pass"], capture_output=True, check=False).returncode == 0


PYTHONS = [version for version in SUPPORTED if _runs(f"python{version}")] or SUPPORTED[:1]
TEST_EXTRAS = ".[test]"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (contract tests excluded; see the contract session)."""
    session.install("-e", TEST_EXTRAS)
    session.run("pytest", "-m", "not contract", "-q", *session.posargs)


@nox.session(python=PYTHONS[0])
def coverage(session: nox.Session) -> None:
    """Measure branch coverage of the package over the whole suite."""
    session.install("-e", TEST_EXTRAS, "coverage[toml]>=7.10")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", "-m", "not contract", "-q", *session.posargs)
    session.run("coverage", "combine", success_codes=[0, 1])
    session.run("coverage", "report")


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """Check types with mypy --strict on the package and the tests."""
    session.install("-e", TEST_EXTRAS, "nox", "mypy>=1.10", "types-PyYAML", "types-jsonschema", "types-requests")
    session.run("mypy", "mirako_async", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors."""
    session.install("-e", ".", "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.25")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))


@nox.session(python=PYTHONS[0])
def contract(session: nox.Session) -> None:
    """Run the SDK against Stoplight Prism serving docs/openapi.yaml (needs Node.js)."""
    session.install("-e", TEST_EXTRAS)
    if shutil.which("npm") and not (ROOT / "node_modules" / ".bin" / "prism").exists():
        session.run("bash", ".ci/install-prism", external=True)
    session.run("pytest", "-m", "contract", "-q", *session.posargs)


@nox.session(python=PYTHONS[0])
def build(session: nox.Session) -> None:
    """Build the wheel and sdist, check them, install the wheel in a fresh venv and smoke-test it."""
    session.install("build>=1.2", "twine>=5")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))

    smoke = Path(session.create_tmp()) / "smoke-venv"
    shutil.rmtree(smoke, ignore_errors=True)
    session.run("python", "-m", "venv", str(smoke))
    wheel = next(dist.glob("*.whl"))
    session.run(str(smoke / "bin" / "pip"), "install", "--quiet", str(wheel), external=True)
    session.run(str(smoke / "bin" / "mirako-async"), "--version", external=True)
    session.run(
        str(smoke / "bin" / "python"),
        "-c",
        "import sys, mirako_async; "
        "bad = [m for m in sys.modules if m.split('.')[:2] in (['mirako_async', 'testing'], ['mirako_async', '_cli'], ['aiohttp', 'web'])]; "
        "assert not bad, bad",
        external=True,
    )


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Run the benchmarks and print the table of ratios (slow; not part of CI)."""
    session.install("-e", TEST_EXTRAS, "requests>=2.31")
    session.run("python", "benchmarks/run.py", *session.posargs)
