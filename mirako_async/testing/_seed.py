"""Deterministic seed avatars for the emulator."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Final

from ._store import AvatarRecord, Theme

__all__ = ["format_timestamp", "make_avatars", "make_user_id", "random_timestamp"]

# (UTC offset in minutes, fractional digits) pairs that the seed timestamps cycle
# through. The real server is written in Go, whose RFC 3339 output has 0 to 9
# fractional digits without trailing zeros and writes a zero offset as "Z".
_TIMESTAMP_FORMS: Final = (
    (0, 9),
    (8 * 60, 3),
    (0, 0),
    (-5 * 60, 6),
    (5 * 60 + 30, 9),
    (0, 6),
    (9 * 60, 0),
    (0, 3),
    (-(3 * 60 + 30), 9),
)

# 2025-01-01T00:00:00Z and a window of about 180 days after it.
_EPOCH_START: Final = 1_735_689_600
_EPOCH_WINDOW: Final = 180 * 24 * 3600

_MODELS: Final = ("mirako-interactive-v1", "mirako-interactive-lite")
_THEME_NAMES: Final = ("Default", "Studio", "Outdoor", "Evening Studio")
_FIRST_NAMES: Final = (
    "Aiko", "Ben", "Chloé", "Dmitri", "Emeka", "Farah", "Gustavo", "Hana",
    "Ingrid", "Jun", "Kofi", "Lucía", "Mei", "Noah", "Olga", "Priya",
)  # fmt: skip


def format_timestamp(epoch_seconds: int, nanos: int, offset_minutes: int, digits: int) -> str:
    """Format an instant as RFC 3339 with ``digits`` fractional digits (0 to 9).

    The digits are cut from ``nanos``, not rounded.
    """
    zone = timezone(timedelta(minutes=offset_minutes))
    local = datetime.fromtimestamp(epoch_seconds, tz=zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{nanos:09d}"[:digits]
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def random_timestamp(rng: random.Random, form: int) -> str:
    """Return a random 2025 timestamp in the ``form``-th offset and precision pair."""
    offset_minutes, digits = _TIMESTAMP_FORMS[form % len(_TIMESTAMP_FORMS)]
    epoch_seconds = _EPOCH_START + rng.randrange(_EPOCH_WINDOW)
    nanos = 0
    if digits:
        # The last digit is non-zero so that the text has exactly `digits`
        # digits, as Go would write it.
        fraction = rng.randrange(10 ** (digits - 1), 10**digits)
        fraction = fraction - fraction % 10 + rng.randint(1, 9)
        nanos = fraction * 10 ** (9 - digits)
    return format_timestamp(epoch_seconds, nanos, offset_minutes, digits)


def _random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_user_id(seed: int) -> str:
    """Return the user id that owns every seed avatar."""
    return _random_uuid(random.Random(f"user-{seed}"))


def _curated(rng: random.Random, user_id: str) -> list[AvatarRecord]:
    """Return six avatars that cover each status, null lists and missing assets."""
    specs: list[tuple[str, str, list[str] | None, list[Theme] | None]] = [
        (
            "Aiko",
            "READY",
            list(_MODELS),
            [Theme("Default"), Theme("Studio"), Theme("Outdoor", live_video=False)],
        ),
        ("Li Wei 李伟", "READY", None, [Theme("Default")]),
        (
            "Marta <Support> & Sales",
            "BUILDING",
            [],
            [Theme("Default", live_video=False)],
        ),
        ("Kenji", "PENDING", None, None),
        ("Zoë (failed build)", "ERROR", None, []),
        (
            "Night Shift",
            "READY",
            [_MODELS[0]],
            [Theme("Default"), Theme("Evening Studio"), Theme("Outdoor", False, False)],
        ),
    ]
    return [
        AvatarRecord(
            id=_random_uuid(rng),
            user_id=user_id,
            name=name,
            status=status,
            created_at=random_timestamp(rng, index),
            supported_interactive_models=models,
            themes=themes,
        )
        for index, (name, status, models, themes) in enumerate(specs)
    ]


def _generated(rng: random.Random, user_id: str, index: int) -> AvatarRecord:
    """Return a random avatar, mostly READY with one to three themes."""
    status = rng.choices(("READY", "BUILDING", "PENDING", "ERROR"), weights=(7, 1, 1, 1))[0]
    themes: list[Theme] | None
    if status == "READY":
        names = rng.sample(_THEME_NAMES, rng.randint(1, 3))
        themes = [Theme(name, key_image=True, live_video=rng.random() < 0.8) for name in names]
    else:
        themes = rng.choice((None, []))
    models = rng.choice((None, [], [_MODELS[0]], list(_MODELS)))
    name = f"{_FIRST_NAMES[index % len(_FIRST_NAMES)]} #{index}"
    return AvatarRecord(
        id=_random_uuid(rng),
        user_id=user_id,
        name=name,
        status=status,
        created_at=random_timestamp(rng, index),
        supported_interactive_models=models,
        themes=themes,
    )


def make_avatars(seed: int, count: int, user_id: str) -> list[AvatarRecord]:
    """Return ``count`` avatars, the same ones for the same ``seed``.

    The first six are hand-picked to cover every status, ``null`` and empty
    lists, themes without a key image or live video, and names with
    non-ASCII and HTML characters. The rest are random.
    """
    if count < 0:
        raise ValueError(f"Invalid avatar count {count}: expected >= 0.")
    rng = random.Random(seed)
    records = _curated(rng, user_id)[:count]
    for index in range(len(records), count):
        records.append(_generated(rng, user_id, index))
    return records
