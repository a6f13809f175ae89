"""Benchmark 5: many gets against the emulator's token bucket of 100 requests per second."""

from __future__ import annotations

import statistics

from bench_support import Context, Row, count_rounds, ratio, run_rounds, time_async

from mirako_async import AsyncMirako, MirakoError

GET_COUNT = 500
RATE = 100
BURST = 100
# The ideal is 500 gets at 100 per second, 5 s. The bucket starts full, so
# the first 100 gets pass at once and the true floor is (500 - 100) / 100 = 4 s.
IDEAL_SECONDS = GET_COUNT / RATE
FLOOR_SECONDS = (GET_COUNT - BURST) / RATE
WALL_TARGET = 1.3
THROTTLED_TARGET = 0.10


def bench_rate_limited(context: Context) -> list[Row]:
    """Benchmark 5: ``get_many`` with its default concurrency against a rate limit, without added latency."""
    ids = context.avatar_ids[:GET_COUNT]
    client = AsyncMirako(context.api_key, base_url=context.base_url)
    shares: list[float] = []
    failures: list[int] = []

    def one_round() -> float:
        # A new bucket starts full, as the ideal assumes.
        context.control.set_rate_limit(RATE, BURST)
        context.control.reset_stats()
        results: list[object] = []

        async def call() -> None:
            results.extend(await client.avatars.get_many(ids))

        seconds = time_async(context, call)
        stats = context.control.stats()
        shares.append(stats["throttled"] / stats["requests"])
        failures.append(sum(isinstance(result, MirakoError) for result in results))
        return seconds

    try:
        # Opens connections without the rate limit, so that no round pays for them.
        context.runner.run(client.avatars.get_many(ids[:50]))
        rounds = run_rounds({"sdk": one_round}, context.slow_rounds, progress="5. rate limited")
    finally:
        context.control.set_rate_limit(None)
        context.runner.run(client.close())

    wall = rounds.median("sdk")
    versus_ideal = wall / IDEAL_SECONDS
    share = statistics.median(shares)
    name = f"5. Rate limited ({GET_COUNT} gets, bucket {RATE}/s, burst {BURST}, no latency)"
    failure_note = f"; gets that failed after retries: {max(failures)} at most" if any(failures) else ""
    return [
        Row(
            name,
            f"wall time / ideal {IDEAL_SECONDS:g} s",
            ratio(versus_ideal),
            f"<= {WALL_TARGET:g}x",
            versus_ideal <= WALL_TARGET,
            f"{wall:.2f} s; {wall / FLOOR_SECONDS:.2f}x the true floor of {FLOOR_SECONDS:g} s "
            f"(the first {BURST} use the burst); {count_rounds(context.slow_rounds)}{failure_note}",
        ),
        Row(
            name,
            "429 responses / all requests sent",
            f"{share:.1%}",
            f"< {THROTTLED_TARGET:.0%}",
            share < THROTTLED_TARGET,
            "from the emulator's counters; per round: " + ", ".join(f"{value:.1%}" for value in shares),
        ),
    ]
