"""Run the mirako-async benchmarks against a local emulator and print a table of medians and targets.

Usage: ``python benchmarks/run.py [--rounds N] [--quick] [--only 1,3] [--markdown FILE]``.

The emulator runs as a separate process on 127.0.0.1 and nothing is sent
anywhere else. Every comparison is measured side by side in the same run,
the contenders interleaved within each round, and reported as the median
over rounds. A missed target is reported, never turned into an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import requests
from bench_decode import AVATAR_COUNT, bench_decode
from bench_download import bench_download
from bench_gets import bench_gets
from bench_ratelimit import bench_rate_limited
from bench_support import (
    Context,
    EmulatorControl,
    Row,
    child_pids,
    describe_machine,
    format_load_average,
    format_markdown_table,
    format_text_table,
    keep_traffic_on_loopback,
    log,
)

from mirako_async.testing import EmulatorProcess

DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 2
BENCHMARKS = ("1", "2", "3", "4", "5")


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description=(
            "Benchmark mirako-async against a local emulator and print the medians next to their targets. "
            "Always exits 0 when the benchmarks ran, whether or not the targets are met."
        ),
    )

    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        metavar="N",
        help=f"Rounds of the fast benchmarks (default: {DEFAULT_ROUNDS}, or {QUICK_ROUNDS} with --quick). "
        "The sequential requests.get loop and the rate-limited run, which take seconds each, run about half as many.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Smoke run: fewer rounds, a 64 MiB download and a sequential sample of 50 ids. "
        "Its figures are not for the record.",
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        metavar="NUMBERS",
        help="Comma-separated benchmark numbers to run, such as 1,3 (default: all). 1 and 2 always run together.",
    )
    parser.add_argument("--markdown", metavar="FILE", help="Also write the machine and the table as Markdown to FILE.")
    arguments = parser.parse_args(argv)

    if arguments.rounds is not None and arguments.rounds < 1:
        parser.error(f"--rounds must be 1 or more, got {arguments.rounds}.")

    selected = {part.strip() for part in arguments.only.split(",") if part.strip()}
    unknown = selected - set(BENCHMARKS)
    if unknown or not selected:
        parser.error(f"--only takes numbers from 1 to 5, got {arguments.only!r}.")
    arguments.only = selected
    return arguments


def _fetch_avatar_ids(base_url: str, api_key: str) -> list[str]:
    response = requests.get(f"{base_url}/v1/avatar/list", headers={"Authorization": f"Bearer {api_key}"}, timeout=60)
    response.raise_for_status()
    return [item["id"] for item in response.json()["data"]]


def _header(command: str, started: datetime) -> list[str]:
    machine = describe_machine()
    return [
        f"mirako-async benchmarks, {started:%Y-%m-%d %H:%M} UTC",
        f"Command: {command}",
        *machine.describe(),
    ]


def _notes(arguments: argparse.Namespace) -> list[str]:
    notes = [
        "Each ratio of two contenders is the median over rounds of the ratio of their times in one round.",
        "The sequential requests.get loop runs over a sample of ids and is scaled linearly to 1,000 ids.",
        "RSS growth is VmHWM after the download minus VmRSS before it, from /proc/self/status, "
        "with VmHWM reset first, in a fresh process per contender.",
    ]
    if arguments.quick:
        notes.append("Quick run: fewer rounds and smaller workloads; not comparable with a full run.")
    return notes


def main(argv: list[str] | None = None) -> int:
    """Start the emulator, run the selected benchmarks and print the table."""
    arguments = _parse_arguments(argv)
    keep_traffic_on_loopback()
    rounds = arguments.rounds or (QUICK_ROUNDS if arguments.quick else DEFAULT_ROUNDS)
    started = datetime.now(UTC)
    clock = time.monotonic()
    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    header = _header(command, started)
    print("\n".join(header), flush=True)

    rows: list[Row] = []
    log(f"Starting the emulator with {AVATAR_COUNT:,} avatars")
    children_before = child_pids()
    with EmulatorProcess(avatars=AVATAR_COUNT, control=True) as emulator, asyncio.Runner() as runner:
        # EmulatorProcess starts the emulator as a child of this process, and
        # it is the only child started here.
        new_children = child_pids() - children_before
        emulator_pid = new_children.pop() if len(new_children) == 1 else None
        control = EmulatorControl(emulator.base_url, emulator.api_key)
        context = Context(
            base_url=emulator.base_url,
            api_key=emulator.api_key,
            control=control,
            avatar_ids=_fetch_avatar_ids(emulator.base_url, emulator.api_key),
            runner=runner,
            rounds=rounds,
            slow_rounds=max(1, (rounds + 1) // 2),
            quick=arguments.quick,
            emulator_pid=emulator_pid,
        )
        sections: list[tuple[set[str], Callable[[Context], list[Row]]]] = [
            ({"1", "2"}, bench_gets),
            ({"3"}, bench_decode),
            ({"4"}, bench_download),
            ({"5"}, bench_rate_limited),
        ]
        try:
            for numbers, bench in sections:
                if numbers & arguments.only:
                    rows += bench(context)
        finally:
            control.close()

    notes = _notes(arguments)
    notes.append(f"Load average at end (1, 5, 15 min): {format_load_average()}.")
    elapsed = time.monotonic() - clock
    print()
    print(format_text_table(rows))
    print()
    print("\n".join(f"Note: {note}" for note in notes))
    print(f"Total time: {elapsed:.0f} s")
    if arguments.markdown:
        with open(arguments.markdown, "w", encoding="utf-8") as output:
            output.write("\n".join(f"- {line}" for line in header) + "\n\n")
            output.write(format_markdown_table(rows) + "\n\n")
            output.write("\n".join(f"- {note}" for note in notes) + "\n")
        log(f"Wrote the table to {arguments.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
