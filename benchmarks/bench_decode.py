"""Benchmark 3: decoding one list response of 10,000 avatars, SDK against hand-written code."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import requests
from bench_support import Context, Row, best_thread_time, count_rounds, mib, ratio, run_rounds

from mirako_async import Avatar, AvatarStatus, AvatarTheme
from mirako_async._converter import decode_avatar_list

AVATAR_COUNT = 10_000
TARGET = 1.5
# Each round times every decoder this many times and keeps the fastest.
REPEATS = 3


def _status(value: str) -> AvatarStatus | str:
    try:
        return AvatarStatus(value)
    except ValueError:
        return value


def _theme(item: dict[str, Any]) -> AvatarTheme:
    return AvatarTheme(name=item["name"], key_image=item.get("key_image"), live_video=item.get("live_video"))


def decode_by_hand(payload: bytes) -> list[Avatar]:
    """Decode a list body with ``json.loads`` and build the same attrs objects directly, without any checks.

    ``datetime.fromisoformat`` reads the RFC 3339 timestamps, which it does
    from Python 3.11 on, truncating fractions beyond microseconds as the SDK does.
    """
    items = json.loads(payload)["data"] or []
    return [
        Avatar(
            id=item["id"],
            user_id=item["user_id"],
            name=item["name"],
            status=_status(item["status"]),
            created_at=datetime.fromisoformat(item["created_at"]),
            supported_interactive_models=tuple(item.get("supported_interactive_models") or ()),
            themes=tuple(_theme(theme) for theme in item.get("themes") or ()),
        )
        for item in items
    ]


def fetch_list_body(context: Context) -> bytes:
    """Fetch the body of ``GET /v1/avatar/list`` once, as bytes."""
    response = requests.get(f"{context.base_url}/v1/avatar/list", headers=context.auth_headers, timeout=60)
    response.raise_for_status()
    return response.content


def bench_decode(context: Context) -> list[Row]:
    """Benchmark 3: ``decode_avatar_list`` against ``json.loads`` plus hand-built models."""
    payload = fetch_list_body(context)
    by_sdk = decode_avatar_list(payload)
    by_hand = decode_by_hand(payload)
    if len(by_sdk) != AVATAR_COUNT or by_sdk != by_hand:
        raise RuntimeError(
            f"The two decoders disagree on the list body ({len(by_sdk)} and {len(by_hand)} avatars, "
            f"{AVATAR_COUNT} expected), so their times would not be comparable."
        )
    del by_sdk, by_hand

    rounds = run_rounds(
        {
            "sdk": lambda: best_thread_time(lambda: decode_avatar_list(payload), REPEATS),
            "hand": lambda: best_thread_time(lambda: decode_by_hand(payload), REPEATS),
            "json": lambda: best_thread_time(lambda: json.loads(payload), REPEATS),
        },
        context.rounds,
        progress="3. decoding",
    )

    versus_hand = rounds.paired_ratio("sdk", "hand")
    return [
        Row(
            f"3. Decoding (one list body, {AVATAR_COUNT:,} avatars, {mib(len(payload))})",
            "decode_avatar_list / json.loads + hand-built attrs",
            ratio(versus_hand),
            f"<= {TARGET:g}x",
            versus_hand <= TARGET,
            f"SDK {rounds.median('sdk') * 1000:.0f} ms, by hand {rounds.median('hand') * 1000:.0f} ms, "
            f"json.loads alone {rounds.median('json') * 1000:.0f} ms (CPU time, best of {REPEATS}); "
            f"{count_rounds(context.rounds)}",
        )
    ]
