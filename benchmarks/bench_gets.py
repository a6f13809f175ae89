"""Benchmarks 1 and 2: fetching many avatars, against the ideal, plain aiohttp and a sequential loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import aiohttp
import requests
from bench_support import Context, Row, count_rounds, log, ratio, run_rounds, time_async, timed

from mirako_async import AsyncMirako, Mirako, MirakoError

# Benchmark 1: bulk get with server latency.
BULK_COUNT = 1_000
BULK_LATENCY = 0.020
CONCURRENCY = 50
SEQUENTIAL_SAMPLE = 100
SEQUENTIAL_SAMPLE_QUICK = 50
IDEAL_TARGET = 1.25
SEQUENTIAL_TARGET = 30.0

# Benchmark 2: client overhead without server latency.
OVERHEAD_COUNT = 5_000
WARM_UP_COUNT = 500
OVERHEAD_TARGET = 1.3
SYNC_TARGET = 1.1


def _check_avatars(results: Sequence[object], contender: str) -> None:
    """Stop the run if a call failed: a timing that includes errors compares nothing."""
    failures = [result for result in results if isinstance(result, MirakoError)]
    if failures:
        raise RuntimeError(
            f"{contender}: {len(failures)} of {len(results)} gets failed, the first with: {failures[0]}. "
            "The emulator should not fail here; see its log on stderr."
        )


async def fetch_with_aiohttp(session: aiohttp.ClientSession, context: Context, avatar_ids: Sequence[str]) -> None:
    """Fetch every avatar with ``asyncio.gather`` over plain aiohttp, at most ``CONCURRENCY`` at once."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def fetch(avatar_id: str) -> object:
        async with slots, session.get(context.avatar_url(avatar_id)) as response:
            if response.status != 200:
                raise RuntimeError(f"plain aiohttp: GET {avatar_id} returned {response.status}.")
            return json.loads(await response.read())

    await asyncio.gather(*(fetch(avatar_id) for avatar_id in avatar_ids))


def fetch_sequentially(context: Context, avatar_ids: Sequence[str]) -> None:
    """Fetch the avatars one after another with a ``requests.get`` call per id.

    ``requests.get`` makes a new session for each call, so every get opens
    its own connection, as a script that follows the plain HTTP examples would.
    """
    for avatar_id in avatar_ids:
        response = requests.get(context.avatar_url(avatar_id), headers=context.auth_headers, timeout=30)
        response.raise_for_status()
        response.json()


async def _open_plain_session(context: Context) -> aiohttp.ClientSession:
    # The same pool size as the SDK's bulk call, which opens at most
    # ``concurrency`` connections.
    return aiohttp.ClientSession(
        headers=context.auth_headers, connector=aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    )


class Clients:
    """The clients that benchmarks 1 and 2 share, each with a warm connection pool.

    Attributes:
        sdk: ``AsyncMirako`` with default settings, so ``trust_env=True``.
        sdk_no_env: ``AsyncMirako`` with ``trust_env=False``, to show what
            reading proxy settings and ``.netrc`` costs on each request.
        sync: The blocking ``Mirako`` with default settings.
        sync_no_env: The blocking ``Mirako`` with ``trust_env=False``.
        plain: A plain aiohttp session with a pool of ``CONCURRENCY``.
    """

    def __init__(self, context: Context) -> None:
        self.sdk = AsyncMirako(context.api_key, base_url=context.base_url, max_connections=CONCURRENCY)
        self.sdk_no_env = AsyncMirako(
            context.api_key, base_url=context.base_url, max_connections=CONCURRENCY, trust_env=False
        )
        self.sync = Mirako(context.api_key, base_url=context.base_url, max_connections=CONCURRENCY)
        self.sync_no_env = Mirako(
            context.api_key, base_url=context.base_url, max_connections=CONCURRENCY, trust_env=False
        )
        self.plain = context.runner.run(_open_plain_session(context))
        self._context = context

    def close(self) -> None:
        """Close every client."""
        self._context.runner.run(self._close_async())
        self.sync.close()
        self.sync_no_env.close()

    async def _close_async(self) -> None:
        await self.sdk.close()
        await self.sdk_no_env.close()
        await self.plain.close()

    def time_sdk(self, client: AsyncMirako, avatar_ids: Sequence[str], name: str) -> float:
        """Time one ``get_many`` call of an async client and check that every get succeeded."""
        results: list[object] = []

        async def call() -> None:
            results.extend(await client.avatars.get_many(avatar_ids, concurrency=CONCURRENCY))

        seconds = time_async(self._context, call)
        _check_avatars(results, name)
        return seconds

    def time_sync(self, client: Mirako, avatar_ids: Sequence[str]) -> float:
        """Time one ``get_many`` call of a blocking client and check that every get succeeded."""
        results: list[object] = []
        seconds = timed(lambda: results.extend(client.avatars.get_many(avatar_ids, concurrency=CONCURRENCY)))
        _check_avatars(results, "Mirako.get_many")
        return seconds

    def time_plain(self, avatar_ids: Sequence[str]) -> float:
        """Time one fetch of every avatar with plain aiohttp."""
        return time_async(self._context, lambda: fetch_with_aiohttp(self.plain, self._context, avatar_ids))

    def warm_up(self, avatar_ids: Sequence[str]) -> None:
        """Open the connection pools and run every code path once, untimed."""
        self.time_sdk(self.sdk, avatar_ids, "warm-up")
        self.time_sdk(self.sdk_no_env, avatar_ids, "warm-up")
        self.time_sync(self.sync, avatar_ids)
        self.time_sync(self.sync_no_env, avatar_ids)
        self.time_plain(avatar_ids)


def bench_bulk_get(context: Context, clients: Clients) -> list[Row]:
    """Benchmark 1: 1,000 gets at 20 ms server latency and concurrency 50."""
    context.control.set_latency(BULK_LATENCY)
    ids = context.avatar_ids[:BULK_COUNT]
    sample_size = SEQUENTIAL_SAMPLE_QUICK if context.quick else SEQUENTIAL_SAMPLE
    sample = ids[:sample_size]
    clients.warm_up(ids[: CONCURRENCY * 2])
    fetch_sequentially(context, sample[:5])

    rounds = run_rounds(
        {
            "sdk": lambda: clients.time_sdk(clients.sdk, ids, "AsyncMirako.get_many"),
            "sdk_no_env": lambda: clients.time_sdk(clients.sdk_no_env, ids, "AsyncMirako.get_many"),
            "plain": lambda: clients.time_plain(ids),
            "sequential": lambda: timed(lambda: fetch_sequentially(context, sample)),
        },
        context.rounds,
        limited={"sequential": context.slow_rounds},
        progress="1. bulk get",
        server_pid=context.emulator_pid,
    )

    ideal = BULK_COUNT / CONCURRENCY * BULK_LATENCY
    emulator_cpu = rounds.median_server_cpu("plain")
    emulator_note = "" if emulator_cpu is None else f"; emulator CPU {emulator_cpu / BULK_COUNT * 1e6:.0f} us per get"
    scale = BULK_COUNT / sample_size
    sdk = rounds.median("sdk")
    versus_ideal = sdk / ideal
    speed_up = rounds.paired_ratio("sequential", "sdk", scale=scale)
    sequential_estimate = rounds.median("sequential") * scale
    name = f"1. Bulk get ({BULK_COUNT:,} ids, {BULK_LATENCY * 1000:g} ms latency, concurrency {CONCURRENCY})"
    return [
        Row(
            name,
            f"get_many / ideal {ideal:g} s",
            ratio(versus_ideal),
            f"<= {IDEAL_TARGET:g}x",
            versus_ideal <= IDEAL_TARGET,
            f"get_many {sdk:.3f} s; ideal = {BULK_COUNT:,} / {CONCURRENCY} x {BULK_LATENCY * 1000:g} ms; "
            f"{count_rounds(len(rounds.values('sdk')))}",
        ),
        Row(
            name,
            "sequential requests.get / get_many",
            f"{speed_up:.1f}x faster",
            f">= {SEQUENTIAL_TARGET:g}x faster",
            speed_up >= SEQUENTIAL_TARGET,
            f"sequential {rounds.median('sequential'):.2f} s for {sample_size} ids, "
            f"scaled linearly to {sequential_estimate:.1f} s for {BULK_COUNT:,}; "
            f"{count_rounds(len(rounds.values('sequential')))}",
        ),
        Row(
            name,
            "get_many / asyncio.gather over plain aiohttp",
            ratio(rounds.paired_ratio("sdk", "plain")),
            detail=f"plain aiohttp {rounds.median('plain'):.3f} s, {rounds.median('plain') / ideal:.2f}x the ideal; "
            f"semaphore {CONCURRENCY}, pool {CONCURRENCY}{emulator_note}",
        ),
        Row(
            name,
            "same, SDK with trust_env=False",
            ratio(rounds.paired_ratio("sdk_no_env", "plain")),
            detail=f"get_many {rounds.median('sdk_no_env'):.3f} s, "
            f"{rounds.median('sdk_no_env') / ideal:.2f}x the ideal",
        ),
    ]


def bench_overhead(context: Context, clients: Clients) -> list[Row]:
    """Benchmark 2: 5,000 gets without added latency, so the client's own cost dominates."""
    context.control.set_latency(0.0)
    ids = context.avatar_ids[:OVERHEAD_COUNT]
    clients.warm_up(ids[:WARM_UP_COUNT])

    rounds = run_rounds(
        {
            "sdk": lambda: clients.time_sdk(clients.sdk, ids, "AsyncMirako.get_many"),
            "sdk_no_env": lambda: clients.time_sdk(clients.sdk_no_env, ids, "AsyncMirako.get_many"),
            "plain": lambda: clients.time_plain(ids),
            "sync": lambda: clients.time_sync(clients.sync, ids),
            "sync_no_env": lambda: clients.time_sync(clients.sync_no_env, ids),
        },
        context.rounds,
        progress="2. client overhead",
        server_pid=context.emulator_pid,
    )

    def cpu_per_get(contender: str) -> str:
        return f"{rounds.median_cpu(contender) / OVERHEAD_COUNT * 1e6:.0f} us"

    emulator_cpu = rounds.median_server_cpu("plain")
    emulator_note = "" if emulator_cpu is None else f", emulator {emulator_cpu / OVERHEAD_COUNT * 1e6:.0f} us"

    versus_plain = rounds.paired_ratio("sdk", "plain")
    no_env_versus_plain = rounds.paired_ratio("sdk_no_env", "plain")
    sync_versus_async = rounds.paired_ratio("sync", "sdk")
    name = f"2. Client overhead ({OVERHEAD_COUNT:,} gets, no latency, concurrency {CONCURRENCY})"
    return [
        Row(
            name,
            "AsyncMirako.get_many / plain aiohttp + json.loads",
            ratio(versus_plain),
            f"<= {OVERHEAD_TARGET:g}x",
            versus_plain <= OVERHEAD_TARGET,
            f"SDK {rounds.median('sdk'):.3f} s, plain aiohttp {rounds.median('plain'):.3f} s; "
            f"client CPU per get {cpu_per_get('sdk')} and {cpu_per_get('plain')}{emulator_note}; "
            f"{count_rounds(context.rounds)}",
        ),
        Row(
            name,
            "same, SDK with trust_env=False",
            ratio(no_env_versus_plain),
            detail=f"SDK {rounds.median('sdk_no_env'):.3f} s, client CPU per get {cpu_per_get('sdk_no_env')}",
        ),
        Row(
            name,
            "Mirako.get_many (sync) / AsyncMirako.get_many",
            ratio(sync_versus_async),
            f"<= {SYNC_TARGET:g}x",
            sync_versus_async <= SYNC_TARGET,
            f"sync {rounds.median('sync'):.3f} s, async {rounds.median('sdk'):.3f} s",
        ),
        Row(
            name,
            "same, both with trust_env=False",
            ratio(rounds.paired_ratio("sync_no_env", "sdk_no_env")),
            detail=f"sync {rounds.median('sync_no_env'):.3f} s, async {rounds.median('sdk_no_env'):.3f} s",
        ),
    ]


def bench_gets(context: Context) -> list[Row]:
    """Run benchmarks 1 and 2 with one set of clients."""
    clients = Clients(context)
    try:
        rows = bench_bulk_get(context, clients)
        log("1. bulk get: done")
        rows += bench_overhead(context, clients)
        log("2. client overhead: done")
        return rows
    finally:
        clients.close()
        context.control.set_latency(0.0)
