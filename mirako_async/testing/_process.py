"""Running the emulator as a separate process: the command line and ``EmulatorProcess``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any, Final, Self

from ._emulator import Emulator

__all__ = ["EmulatorProcess", "main"]

logger = logging.getLogger("mirako_async.testing")

_START_TIMEOUT: Final = 30.0
_STOP_TIMEOUT: Final = 10.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mirako_async.testing",
        description=(
            "Serve the Mirako API emulator and its storage server on 127.0.0.1. When both "
            "listen, print one JSON line with base_url, storage_url and api_key to stdout. "
            "Serve until SIGTERM or SIGINT, then exit with code 0."
        ),
    )

    addresses = parser.add_argument_group("addresses (always on 127.0.0.1)")
    addresses.add_argument("--port", type=int, default=0, help="API port (default: 0, a free port).")
    addresses.add_argument(
        "--storage-port",
        type=int,
        default=0,
        help="Storage port (default: 0, a free port).",
    )

    data = parser.add_argument_group("data")
    data.add_argument("--api-key", default="test-key", help="Bearer token that the API accepts.")
    data.add_argument("--avatars", type=int, default=6, help="Number of seed avatars (default: 6).")
    data.add_argument("--seed", type=int, default=0, help="Seed of the avatars and URLs (default: 0).")
    data.add_argument(
        "--asset-size",
        type=int,
        default=4096,
        help="Size of every asset in bytes (default: 4096).",
    )

    behavior = parser.add_argument_group("behavior")
    behavior.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="Delay in seconds added to every API request.",
    )
    behavior.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="RATE",
        help="Limit the API to RATE requests per second with a token bucket (default: no limit).",
    )
    behavior.add_argument(
        "--burst",
        type=int,
        default=None,
        help="Token bucket size for --rate-limit (default: RATE rounded down, at least 1).",
    )
    behavior.add_argument(
        "--control",
        action="store_true",
        help="Serve the control endpoint under /_emulator/ on the API port.",
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        api_key=args.api_key,
        seed=args.seed,
        avatar_count=args.avatars,
        latency=args.latency,
        asset_size=args.asset_size,
        port=args.port,
        storage_port=args.storage_port,
        control=args.control,
    )
    if args.rate_limit is not None:
        emulator.rate_limit(args.rate_limit, args.burst)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Windows has no loop signal handlers; Ctrl+C then raises KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)

    async with emulator:
        ready = {
            "base_url": emulator.base_url,
            "storage_url": emulator.storage_url,
            "api_key": emulator.api_key,
        }
        print(json.dumps(ready), flush=True)
        await stop.wait()
        logger.info("emulator received a stop signal")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator from the command line and return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:
        print(f"mirako_async.testing: cannot listen on 127.0.0.1: {exc}", file=sys.stderr)
        return 1
    return 0


class EmulatorProcess:
    """Context manager that runs ``python -m mirako_async.testing`` in a subprocess.

    Entering starts the process and waits for its JSON line, and leaving
    sends SIGTERM and waits for the exit (killing it after 10 s). The
    keyword arguments become command line options, for example
    ``EmulatorProcess(avatars=1000, latency=0.02, control=True)``.

    Attributes:
        base_url: Origin of the API server.
        storage_url: Origin of the storage server.
        api_key: The bearer token that the API accepts.
        returncode: Exit code after leaving the context.
    """

    def __init__(self, **options: Any) -> None:
        self._argv = [sys.executable, "-m", "mirako_async.testing"]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                self._argv.append(flag)
            elif value is not False and value is not None:
                self._argv.extend((flag, str(value)))
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.storage_url = ""
        self.api_key = ""
        self.returncode: int | None = None

    def __enter__(self) -> Self:
        process = subprocess.Popen(self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self._process = process
        try:
            assert process.stdout is not None
            line = _read_line(process.stdout, _START_TIMEOUT)
            if line is None:
                raise RuntimeError(
                    f"The emulator process did not print its address within {_START_TIMEOUT:g} s "
                    f"(exit code {process.poll()}); see its stderr."
                )
            ready = json.loads(line)
        except BaseException:
            self._stop()
            raise
        self.base_url = ready["base_url"]
        self.storage_url = ready["storage_url"]
        self.api_key = ready["api_key"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                logger.warning("emulator process %d ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self.returncode = process.returncode


def _read_line(stream: IO[str], timeout: float) -> str | None:
    """Read one line from a pipe, or return None if none arrives within ``timeout`` seconds."""
    lines: queue.Queue[str] = queue.Queue(maxsize=1)
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        return None
    return line or None
