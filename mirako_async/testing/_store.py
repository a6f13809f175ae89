"""The emulator's avatars and their rendering as API JSON."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "ASSET_KINDS",
    "AssetKind",
    "AvatarRecord",
    "AvatarStore",
    "BuildSchedule",
    "Theme",
    "UrlSigner",
]

AssetKind: TypeAlias = Literal["key_image", "live_video"]
ASSET_KINDS: Final[tuple[AssetKind, ...]] = ("key_image", "live_video")

# Builds the presigned URL of one asset from (avatar id, theme name, kind).
UrlSigner: TypeAlias = Callable[[str, str, AssetKind], str]


@dataclass(frozen=True, slots=True)
class Theme:
    """One appearance of an avatar.

    Attributes:
        name: Theme name, such as ``Default``.
        key_image: If True, the theme has a key image, so the API sends a
            ``key_image`` URL. If False, the member is absent.
        live_video: If True, the theme has a live video, so the API sends
            a ``live_video`` URL. If False, the member is absent.
    """

    name: str
    key_image: bool = True
    live_video: bool = True

    def has(self, kind: AssetKind) -> bool:
        """Return whether the theme has the asset ``kind``."""
        return self.key_image if kind == "key_image" else self.live_video


@dataclass(frozen=True, slots=True)
class BuildSchedule:
    """Status changes of one avatar on a wall-clock schedule.

    Attributes:
        start: ``time.monotonic()`` value at which the first status begins.
        steps: ``(status, seconds)`` pairs. Each status lasts its seconds,
            and the last one, whose seconds are None, stays.
    """

    start: float
    steps: tuple[tuple[str, float | None], ...]

    def status_at(self, now: float) -> str:
        """Return the status at monotonic time ``now``."""
        elapsed = now - self.start
        for status, seconds in self.steps:
            if seconds is None or elapsed < seconds:
                return status
            elapsed -= seconds
        return self.steps[-1][0]

    @property
    def end(self) -> float:
        """``time.monotonic()`` value at which the last status begins."""
        return self.start + sum(seconds or 0.0 for _, seconds in self.steps)


@dataclass(slots=True)
class AvatarRecord:
    """One stored avatar. ``None`` lists are sent as JSON ``null``."""

    id: str
    user_id: str
    name: str
    status: str
    created_at: str
    supported_interactive_models: list[str] | None
    themes: list[Theme] | None
    build: BuildSchedule | None = None
    asset_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def current_status(self, now: float) -> str:
        """Return the status at monotonic time ``now``, following any build schedule."""
        if self.build is None:
            return self.status
        return self.build.status_at(now)

    def render(self, sign: UrlSigner, now: float) -> dict[str, Any]:
        """Return the avatar as the API sends it, with fresh presigned URLs."""
        themes: list[dict[str, str]] | None = None
        if self.themes is not None:
            themes = []
            for theme in self.themes:
                rendered = {"name": theme.name}
                for kind in ASSET_KINDS:
                    if theme.has(kind):
                        rendered[kind] = sign(self.id, theme.name, kind)
                themes.append(rendered)

        models = self.supported_interactive_models
        return {
            "id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "status": self.current_status(now),
            "created_at": self.created_at,
            "supported_interactive_models": None if models is None else list(models),
            "themes": themes,
            **self.extra,
        }


class AvatarStore:
    """Avatars by id, in insertion order. Every method is thread-safe."""

    def __init__(
        self,
        records: Iterable[AvatarRecord],
        default_asset_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._records = {record.id: record for record in records}
        self._default_asset_size = default_asset_size
        # Changes with every change to what render_all returns, except status
        # changes on a build schedule, which end at _schedules_end.
        self._version = 0
        self._schedules_end = float("-inf")

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def add(self, record: AvatarRecord) -> None:
        """Store a new avatar.

        Raises:
            ValueError: An avatar with the same id exists.
        """
        with self._lock:
            if record.id in self._records:
                raise ValueError(f"An avatar with id {record.id!r} already exists.")
            self._records[record.id] = record
            self._version += 1

    def delete(self, avatar_id: str) -> bool:
        """Delete an avatar and return whether it existed."""
        with self._lock:
            self._version += 1
            return self._records.pop(avatar_id, None) is not None

    def clear(self) -> None:
        """Delete every avatar."""
        with self._lock:
            self._records.clear()
            self._version += 1

    def render_version(self) -> int | None:
        """Return a number that changes whenever ``render_all`` would return something new.

        Returns None while a build schedule is still changing a status,
        because the output then changes with time alone.
        """
        with self._lock:
            if self._clock() < self._schedules_end:
                return None
            return self._version

    def ids(self) -> list[str]:
        """Return the ids of all avatars, in insertion order."""
        with self._lock:
            return list(self._records)

    def render_one(self, avatar_id: str, sign: UrlSigner) -> dict[str, Any] | None:
        """Return one avatar as the API sends it, or None if there is no such avatar."""
        with self._lock:
            record = self._records.get(avatar_id)
            if record is None:
                return None
            return record.render(sign, self._clock())

    def render_all(self, sign: UrlSigner) -> list[dict[str, Any]]:
        """Return every avatar as the API sends it, in insertion order."""
        with self._lock:
            now = self._clock()
            return [record.render(sign, now) for record in self._records.values()]

    def schedule_build(self, avatar_id: str, steps: Sequence[tuple[str, float | None]]) -> None:
        """Start a build schedule for an avatar now. See ``Emulator.schedule_build``.

        Raises:
            KeyError: There is no avatar with this id.
            ValueError: The steps are invalid.
        """
        checked = _check_steps(steps)
        with self._lock:
            record = self._records.get(avatar_id)
            if record is None:
                raise KeyError(f"No avatar with id {avatar_id!r}.")
            build = BuildSchedule(self._clock(), checked)
            record.build = build
            self._version += 1
            self._schedules_end = max(self._schedules_end, build.end)

    def set_asset_size(self, avatar_id: str | None, nbytes: int) -> None:
        """Set the size of the assets of one avatar, or of all avatars if ``avatar_id`` is None.

        Raises:
            KeyError: There is no avatar with this id.
        """
        with self._lock:
            if avatar_id is None:
                self._default_asset_size = nbytes
                for other in self._records.values():
                    other.asset_size = None
                return
            record = self._records.get(avatar_id)
            if record is None:
                raise KeyError(f"No avatar with id {avatar_id!r}.")
            record.asset_size = nbytes

    def asset_size(self, avatar_id: str, theme_name: str, kind: AssetKind) -> int | None:
        """Return the size in bytes of an asset, or None if the asset does not exist."""
        with self._lock:
            record = self._records.get(avatar_id)
            if record is None or record.themes is None:
                return None
            for theme in record.themes:
                if theme.name == theme_name and theme.has(kind):
                    if record.asset_size is not None:
                        return record.asset_size
                    return self._default_asset_size
            return None


def _check_steps(
    steps: Sequence[tuple[str, float | None]],
) -> tuple[tuple[str, float | None], ...]:
    if not steps:
        raise ValueError("A build schedule needs at least one (status, seconds) step.")
    checked: list[tuple[str, float | None]] = []
    for index, step in enumerate(steps):
        status, seconds = step
        if not isinstance(status, str) or not status:
            raise ValueError(f"Invalid status {status!r} in step {index}: expected a non-empty string.")
        is_last = index == len(steps) - 1
        if is_last and seconds is not None:
            raise ValueError(f"Invalid last step {step!r}: the last status is final, so its seconds must be None.")
        if not is_last and (seconds is None or seconds < 0):
            raise ValueError(f"Invalid seconds in step {index} {step!r}: expected a number >= 0.")
        checked.append((status, None if seconds is None else float(seconds)))
    return tuple(checked)
