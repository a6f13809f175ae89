"""Benchmark 4: downloading one large asset, SDK against a plain aiohttp chunked copy.

Run as a script, this file is the child process that measures the RSS
growth of one download in a fresh interpreter (see ``measure_rss``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import aiohttp
from bench_support import Context, Row, count_rounds, keep_traffic_on_loopback, log, mib, ratio, run_rounds, timed
from yarl import URL

from mirako_async import AsyncMirako, Avatar

ASSET_SIZE = 512 * 2**20
ASSET_SIZE_QUICK = 64 * 2**20
DEFAULT_ASSET_SIZE = 4096
# The SDK reads assets in chunks of 256 KiB, and the plain copy uses the same size.
CHUNK_BYTES = 256 * 1024
MEMORY_TARGET = 32 * 2**20
THROUGHPUT_TARGET = 0.8


def asset_links(avatar: Avatar) -> list[str]:
    """Return every asset link of an avatar, in theme order."""
    return [link for theme in avatar.themes for link in (theme.key_image, theme.live_video) if link]


async def copy_with_aiohttp(session: aiohttp.ClientSession, url: str, handle: IO[bytes]) -> None:
    """Stream one asset to an open file in chunks, with nothing but aiohttp.

    The link goes in as an already-encoded ``yarl.URL``. Given the string,
    aiohttp parses it with yarl, which decodes ``%2F`` in the query to ``/``,
    so the signature no longer matches and storage rejects the link with 403.
    """
    async with session.get(URL(url, encoded=True)) as response:
        if response.status != 200:
            raise RuntimeError(f"plain aiohttp: the asset download returned {response.status}.")
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            handle.write(chunk)


def download_with_aiohttp(runner: asyncio.Runner, session: aiohttp.ClientSession, url: str, path: Path) -> None:
    """Download one asset to ``path`` with plain aiohttp, opening the file here rather than on the event loop."""
    with path.open("wb") as handle:
        runner.run(copy_with_aiohttp(session, url, handle))


def _check_and_remove(path: Path, size: int) -> None:
    actual = path.stat().st_size
    path.unlink()
    if actual != size:
        raise RuntimeError(f"The download wrote {actual} bytes to {path}, expected {size}.")


# RSS measurement. VmHWM in /proc/self/status is the peak resident set size
# of the process. Writing "5" to /proc/self/clear_refs resets it to the
# current RSS, on Linux 4.0 and later (see proc_pid_clear_refs(5)).


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text(encoding="utf-8")
    match = re.search(rf"^{field}:\s+(\d+) kB$", text, re.MULTILINE)
    if match is None:
        raise OSError(f"/proc/self/status has no {field} line.")
    return int(match.group(1))


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
        return True
    except OSError:
        return False


def _child(contender: str, base_url: str, avatar_id: str, directory: str) -> dict[str, Any]:
    """Download the asset once in this fresh process and return its RSS growth in bytes, or ``None``."""
    keep_traffic_on_loopback()
    # The API key comes from MIRAKO_API_KEY, which the parent sets.
    client = AsyncMirako(base_url=base_url)
    target = Path(directory)
    with asyncio.Runner() as runner:
        avatar = runner.run(client.avatars.get(avatar_id))
        url = asset_links(avatar)[0]
        session = runner.run(_open_storage_session())
        before = _status_kib("VmRSS")
        if not _reset_peak_rss():
            return {"rss_growth": None}
        if contender == "sdk":
            paths = runner.run(client.avatars.download_assets(avatar, target))
        else:
            paths = [target / "plain.bin"]
            download_with_aiohttp(runner, session, url, paths[0])
        peak = _status_kib("VmHWM")
        size = paths[0].stat().st_size
        paths[0].unlink()
        runner.run(session.close())
        runner.run(client.close())
    return {"rss_growth": (peak - before) * 1024, "size": size}


async def _open_storage_session() -> aiohttp.ClientSession:
    # No Authorization header: storage rejects presigned links that carry one.
    return aiohttp.ClientSession()


def measure_rss(context: Context, contender: str, avatar_id: str, directory: Path) -> int | None:
    """Run one download in a fresh interpreter and return its RSS growth in bytes.

    A fresh process keeps the heap left by the other benchmarks, whose
    freed memory a download could reuse without growing RSS, out of the
    figure. Returns ``None`` when the peak RSS cannot be reset.
    """
    environment = {**os.environ, "MIRAKO_API_KEY": context.api_key}
    command = [sys.executable, __file__, contender, context.base_url, avatar_id, str(directory)]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False, timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(
            f"The RSS measurement of {contender} failed with exit code {completed.returncode}: {completed.stderr}"
        )
    growth: int | None = json.loads(completed.stdout)["rss_growth"]
    return growth


def measure_tracemalloc(download: Callable[[], object]) -> int:
    """Run one download with tracemalloc on and return the peak of traced memory above the start, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        download()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


class _Contenders:
    """The SDK client and the plain session, bound to the context's event loop."""

    def __init__(self, context: Context, directory: Path, size: int) -> None:
        self.context = context
        self.directory = directory
        self.size = size
        self.client = AsyncMirako(context.api_key, base_url=context.base_url)
        self.session = context.runner.run(_open_storage_session())
        self.avatar = self._pick_avatar()
        context.control.set_asset_size(self.avatar.id, size)

    def _pick_avatar(self) -> Avatar:
        avatars = self.context.runner.run(self.client.avatars.list())
        for avatar in avatars:
            if len(asset_links(avatar)) == 1:
                return avatar
        raise RuntimeError("No emulator avatar has exactly one asset; the benchmark needs one.")

    def refresh_links(self) -> None:
        """Fetch the avatar again, so its presigned links are fresh."""
        self.avatar = self.context.runner.run(self.client.avatars.get(self.avatar.id))

    def download_sdk(self) -> None:
        """Download the asset with ``download_assets`` and delete the file."""
        paths = self.context.runner.run(self.client.avatars.download_assets(self.avatar, self.directory))
        _check_and_remove(paths[0], self.size)

    def download_plain(self) -> None:
        """Download the asset with plain aiohttp and delete the file."""
        path = self.directory / "plain.bin"
        download_with_aiohttp(self.context.runner, self.session, asset_links(self.avatar)[0], path)
        _check_and_remove(path, self.size)

    def close(self) -> None:
        """Set the asset size back and close both clients."""
        self.context.control.set_asset_size(self.avatar.id, DEFAULT_ASSET_SIZE)
        self.context.runner.run(self.session.close())
        self.context.runner.run(self.client.close())


def bench_download(context: Context) -> list[Row]:
    """Benchmark 4: memory and throughput of one large download."""
    size = ASSET_SIZE_QUICK if context.quick else ASSET_SIZE
    with tempfile.TemporaryDirectory(prefix="mirako-bench-") as temporary:
        directory = Path(temporary)
        contenders = _Contenders(context, directory, size)
        try:
            contenders.refresh_links()
            rounds = run_rounds(
                {
                    "sdk": lambda: timed(contenders.download_sdk),
                    "plain": lambda: timed(contenders.download_plain),
                },
                context.rounds,
                progress="4. download",
            )
            traced = {
                "sdk": measure_tracemalloc(contenders.download_sdk),
                "plain": measure_tracemalloc(contenders.download_plain),
            }
            log("4. download: tracemalloc pass done")
            rss = {name: measure_rss(context, name, contenders.avatar.id, directory) for name in ("sdk", "plain")}
            log("4. download: RSS pass done")
        finally:
            contenders.close()

    throughput = rounds.paired_ratio("plain", "sdk")
    sdk_rate = size / rounds.median("sdk") / 2**20
    plain_rate = size / rounds.median("plain") / 2**20
    name = f"4. Download (one asset of {mib(size)})"
    sdk_rss = rss["sdk"]
    plain_rss = rss["plain"]
    return [
        Row(
            name,
            "tracemalloc peak during download_assets",
            mib(traced["sdk"]),
            f"< {mib(MEMORY_TARGET)}",
            traced["sdk"] < MEMORY_TARGET,
            f"plain aiohttp copy {mib(traced['plain'])}; one download each",
        ),
        Row(
            name,
            "RSS growth (VmHWM after - VmRSS before)",
            "n/a" if sdk_rss is None else mib(sdk_rss),
            f"< {mib(MEMORY_TARGET)}",
            None if sdk_rss is None else sdk_rss < MEMORY_TARGET,
            ("VmHWM could not be reset; " if sdk_rss is None else "")
            + f"plain aiohttp copy {'n/a' if plain_rss is None else mib(plain_rss)}; one download each, "
            "each in a fresh process",
        ),
        Row(
            name,
            "throughput download_assets / plain aiohttp copy",
            ratio(throughput),
            f">= {THROUGHPUT_TARGET:g}x",
            throughput >= THROUGHPUT_TARGET,
            f"SDK {sdk_rate:.0f} MiB/s, plain {plain_rate:.0f} MiB/s, both to a temporary directory; "
            f"{count_rounds(context.rounds)}",
        ),
    ]


def main() -> None:
    """Entry point of the child process of ``measure_rss``."""
    parser = argparse.ArgumentParser(description="Measure the RSS growth of one asset download (used by run.py).")
    parser.add_argument("contender", choices=("sdk", "plain"), help="Which client downloads.")
    parser.add_argument("base_url", help="Origin of the emulator's API server.")
    parser.add_argument("avatar_id", help="The avatar whose single asset is downloaded.")
    parser.add_argument("directory", help="Directory to write the file to. The file is deleted afterwards.")
    arguments = parser.parse_args()
    result = _child(arguments.contender, arguments.base_url, arguments.avatar_id, arguments.directory)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
