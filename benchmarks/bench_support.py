"""Shared parts of the benchmarks: rounds, medians, result rows, the machine and the emulator's control endpoint."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import requests

# Environment variables that would send HTTP requests to a proxy. requests,
# aiohttp with trust_env=True and the SDK with its default trust_env=True
# honour them.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy")


def keep_traffic_on_loopback() -> None:
    """Remove proxy settings from the environment, so every request goes straight to 127.0.0.1.

    The SDK's default ``trust_env=True`` and ``requests`` would otherwise
    send the benchmark's requests to whatever proxy the environment names.
    """
    for name in _PROXY_VARIABLES:
        os.environ.pop(name, None)
        os.environ.pop(name.upper(), None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@dataclass(frozen=True)
class Machine:
    """The machine and software versions of a run, printed above the table."""

    cpu_model: str
    cores: int
    system: str
    python: str
    aiohttp: str
    sdk: str
    load_average: str

    def describe(self) -> list[str]:
        """Return the machine as lines of ``name: value`` text."""
        return [
            f"CPU: {self.cpu_model}, {self.cores} cores",
            f"System: {self.system}",
            f"Python: {self.python}; aiohttp {self.aiohttp}; mirako-async {self.sdk}",
            f"Load average at start (1, 5, 15 min): {self.load_average}",
        ]


def format_load_average() -> str:
    """Return the system's load averages over 1, 5 and 15 minutes, or ``unknown``."""
    try:
        last_minute, last_five, last_fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{last_minute:.2f}, {last_five:.2f}, {last_fifteen:.2f}"


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown CPU"
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown CPU"


def _sdk_version() -> str:
    """Return the installed SDK version, with the git commit of this checkout when there is one."""
    version = metadata.version("mirako-async")
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "mirako_async"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return version
    return f"{version} (git {commit}{', with uncommitted changes to mirako_async' if changes else ''})"


def describe_machine() -> Machine:
    """Collect the CPU model, core count, operating system and the versions that matter."""
    return Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 1,
        system=f"{platform.system()} {platform.release()} ({platform.machine()})",
        python=f"{platform.python_implementation()} {platform.python_version()}",
        aiohttp=aiohttp.__version__,
        sdk=_sdk_version(),
        load_average=format_load_average(),
    )


@dataclass
class Rounds:
    """Timings of several contenders, measured in interleaved rounds.

    ``seconds[name][i]`` is the wall time of contender ``name`` in round
    ``i``, or ``None`` for a round in which that contender did not run.
    ``cpu_seconds`` is laid out alike and contains the CPU time of this whole
    process (every thread) over the same call, set-up included, and
    ``server_cpu_seconds`` the CPU time of the emulator's process, when known.
    """

    seconds: dict[str, list[float | None]] = field(default_factory=dict)
    cpu_seconds: dict[str, list[float | None]] = field(default_factory=dict)
    server_cpu_seconds: dict[str, list[float | None]] = field(default_factory=dict)

    def values(self, name: str) -> list[float]:
        """Return the measured times of one contender, in round order."""
        return [value for value in self.seconds[name] if value is not None]

    def median(self, name: str) -> float:
        """Return the median time of one contender."""
        return statistics.median(self.values(name))

    def median_cpu(self, name: str) -> float:
        """Return the median CPU time of this process over the calls of one contender."""
        return statistics.median(value for value in self.cpu_seconds[name] if value is not None)

    def median_server_cpu(self, name: str) -> float | None:
        """Return the median CPU time of the emulator over the calls of one contender, or ``None``."""
        values = [value for value in self.server_cpu_seconds.get(name, []) if value is not None]
        return statistics.median(values) if values else None

    def paired_ratio(self, numerator: str, denominator: str, *, scale: float = 1.0) -> float:
        """Return the median over rounds of ``numerator / denominator``, using only rounds where both ran.

        Pairing the two times of one round keeps changes in machine load from
        one round to the next out of the ratio, which a ratio of two medians
        would not.
        """
        ratios = [
            scale * top / bottom
            for top, bottom in zip(self.seconds[numerator], self.seconds[denominator], strict=True)
            if top is not None and bottom is not None
        ]
        return statistics.median(ratios)


def run_rounds(
    contenders: dict[str, Callable[[], float]],
    rounds: int,
    *,
    limited: dict[str, int] | None = None,
    progress: str = "",
    server_pid: int | None = None,
) -> Rounds:
    """Run every contender once per round and collect the times they return.

    Each contender returns the seconds of its own timed part, so that set-up
    such as resetting the emulator's counters stays out of the figure. The
    order of the contenders rotates from round to round, so none of them
    always runs first or last. ``limited`` maps a slow contender to the
    number of rounds it runs in (the first ones). With ``server_pid``, the
    CPU time of that process over each call is recorded too.
    """
    limited = limited or {}
    names = list(contenders)
    result = Rounds(
        seconds={name: [None] * rounds for name in names},
        cpu_seconds={name: [None] * rounds for name in names},
        server_cpu_seconds={name: [None] * rounds for name in names},
    )
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            if index >= limited.get(name, rounds):
                continue
            gc.collect()
            server_started = process_cpu_seconds(server_pid)
            cpu_started = time.process_time()
            result.seconds[name][index] = contenders[name]()
            result.cpu_seconds[name][index] = time.process_time() - cpu_started
            server_ended = process_cpu_seconds(server_pid)
            if server_started is not None and server_ended is not None:
                result.server_cpu_seconds[name][index] = server_ended - server_started
        if progress:
            log(f"{progress}: round {index + 1} of {rounds} done")
    return result


def child_pids() -> set[int]:
    """Return the ids of the child processes of this process, or an empty set where Linux's /proc lacks them."""
    pids: set[int] = set()
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids.update(int(pid) for pid in children.read_text(encoding="ascii").split())
        except OSError:
            continue
    return pids


def process_cpu_seconds(pid: int | None) -> float | None:
    """Return the user plus system CPU time of a process, from /proc/PID/stat, or ``None``.

    The kernel counts it in clock ticks, 10 ms on most systems, so short
    calls get a coarse figure.
    """
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The fields after the command name, which is in parentheses and may
    # contain spaces: utime and stime are the 14th and 15th fields of the line.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    """Print a progress line to stderr, keeping stdout for the results."""
    print(message, file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> float:
    """Call ``action`` and return the seconds it took on the wall clock."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def best_thread_time(action: Callable[[], Any], repeats: int) -> float:
    """Call ``action`` ``repeats`` times and return the least CPU time of this thread that one call took.

    For code that only computes, CPU time leaves out the time the scheduler
    gives to other processes, and the minimum leaves out most of the rest
    of the noise, as ``timeit`` does.
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        action()
        best = min(best, time.thread_time() - started)
    return best


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    Attributes:
        benchmark: The benchmark's number and name, such as ``1. Bulk get``.
        comparison: What is compared, such as ``get_many / ideal``.
        result: The measured figure, formatted with its unit.
        target: The target, formatted, or ``-`` for a row shown for context.
        met: Whether the target is met, or ``None`` for a row without target.
        detail: The medians (or other numbers) behind the figure.
    """

    benchmark: str
    comparison: str
    result: str
    target: str = "-"
    met: bool | None = None
    detail: str = ""

    @property
    def verdict(self) -> str:
        """``met``, ``not met``, or ``-`` for a row without target."""
        if self.met is None:
            return "-"
        return "met" if self.met else "not met"


_HEADINGS = ("Benchmark", "Comparison", "Result", "Target", "Met?", "Medians and notes")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.benchmark, row.comparison, row.result, row.target, row.verdict, row.detail)


def _grouped_cells(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    """Return the cells of each row, leaving the benchmark blank where it repeats the row above."""
    lines = []
    previous = None
    for row in rows:
        cells = _cells(row)
        if row.benchmark == previous:
            cells = ("", *cells[1:])
        previous = row.benchmark
        lines.append(cells)
    return lines


def format_text_table(rows: Sequence[Row]) -> str:
    """Format the rows as a plain-text table with aligned columns."""
    table = [_HEADINGS, *_grouped_cells(rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(_HEADINGS))]
    lines = []
    for number, line in enumerate(table):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_markdown_table(rows: Sequence[Row]) -> str:
    """Format the rows as a Markdown table."""

    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [
        "| " + " | ".join(_HEADINGS) + " |",
        "|" + "|".join(" --- " for _ in _HEADINGS) + "|",
    ]
    lines.extend("| " + " | ".join(escape(cell) for cell in cells) + " |" for cells in _grouped_cells(rows))
    return "\n".join(lines)


def ratio(value: float) -> str:
    """Format a ratio such as ``1.27x``."""
    return f"{value:.2f}x"


def count_rounds(rounds: int) -> str:
    """Format a number of rounds, such as ``1 round`` or ``5 rounds``."""
    return f"{rounds} round" if rounds == 1 else f"{rounds} rounds"


def mib(nbytes: float) -> str:
    """Format a byte count in MiB."""
    return f"{nbytes / 2**20:.1f} MiB"


class EmulatorControl:
    """Client of the emulator's control endpoint under ``/_emulator/``.

    It uses its own ``requests`` session that ignores proxy settings, so
    the control requests always go to the emulator on 127.0.0.1.
    """

    def __init__(self, base_url: str, api_key: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.headers["Authorization"] = f"Bearer {api_key}"

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    def _post(self, action: str, body: dict[str, Any] | None = None) -> None:
        response = self._session.post(f"{self._base_url}/_emulator/{action}", json=body, timeout=30)
        response.raise_for_status()

    def set_latency(self, seconds: float) -> None:
        """Set the delay that the emulator adds to every API request."""
        self._post("latency", {"seconds": seconds})

    def set_rate_limit(self, rate: float | None, burst: int | None = None) -> None:
        """Install a full token bucket of ``burst`` tokens refilled at ``rate`` per second; ``None`` removes it."""
        self._post("rate_limit", {"rate": rate, "burst": burst})

    def set_asset_size(self, avatar_id: str | None, nbytes: int) -> None:
        """Set the size of the assets of one avatar, or of every avatar when ``avatar_id`` is ``None``."""
        self._post("asset_size", {"avatar_id": avatar_id, "nbytes": nbytes})

    def reset_stats(self) -> None:
        """Set the emulator's request counters to zero."""
        self._post("stats/reset")

    def stats(self) -> dict[str, Any]:
        """Return the emulator's request counters."""
        response = self._session.get(f"{self._base_url}/_emulator/stats", timeout=30)
        response.raise_for_status()
        counters: dict[str, Any] = response.json()
        return counters


@dataclass
class Context:
    """Shared state of one run: the emulator, its avatars, the event loop and the round counts.

    Attributes:
        base_url: Origin of the emulator's API server.
        api_key: The bearer token that the emulator accepts.
        control: Client of the emulator's control endpoint.
        avatar_ids: Ids of every avatar the emulator serves, in its order.
        runner: The event loop that every asynchronous contender runs on,
            kept for the whole run so that connection pools stay warm.
        rounds: Rounds of the fast benchmarks.
        slow_rounds: Rounds of the contenders that take seconds per round:
            the sequential loop and the rate-limited run.
        emulator_pid: Process id of the emulator, or ``None`` if unknown.
        quick: Whether the run is a quick check with smaller workloads.
    """

    base_url: str
    api_key: str
    control: EmulatorControl
    avatar_ids: list[str]
    runner: asyncio.Runner
    rounds: int
    slow_rounds: int
    quick: bool
    emulator_pid: int | None

    @property
    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header that plain HTTP clients send to the emulator."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def avatar_url(self, avatar_id: str) -> str:
        """Return the URL of ``GET /v1/avatar/{id}`` for one avatar."""
        return f"{self.base_url}/v1/avatar/{avatar_id}"


def time_async(context: Context, call: Callable[[], Awaitable[object]]) -> float:
    """Run ``call()`` on the context's event loop and return the seconds its await took."""

    async def measure() -> float:
        started = time.perf_counter()
        await call()
        return time.perf_counter() - started

    return context.runner.run(measure())
