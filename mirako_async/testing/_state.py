"""State that the emulator's servers share with the thread that configures it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
from collections.abc import Callable
from typing import TypeAlias

from ._http import encode_json
from ._ratelimit import TokenBucket
from ._schedule import FaultSchedule
from ._seed import make_avatars, make_user_id
from ._signing import AssetSigner
from ._stats import EmulatorStats
from ._store import AvatarStore

__all__ = ["EmulatorState", "ResponseHook"]

logger = logging.getLogger("mirako_async.testing")

# Called as hook(route, status, content_type, body) for each normal API response.
ResponseHook: TypeAlias = Callable[[str, int, str | None, bytes], None]


def check_asset_size(nbytes: object) -> int:
    """Return ``nbytes`` if it is a valid asset size.

    Raises:
        ValueError: ``nbytes`` is not an int >= 0.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"Invalid asset size {nbytes!r}: expected an int >= 0 (bytes).")
    return nbytes


class EmulatorState:
    """Avatars, faults, limits and counters of one emulator.

    The servers read this state on the event loop while tests change it
    from other threads, so every mutable part is guarded by a lock.
    """

    def __init__(
        self,
        *,
        api_key: str,
        seed: int,
        avatar_count: int,
        asset_size: int,
        latency: float,
        on_response: ResponseHook | None,
    ) -> None:
        self.api_key = api_key
        self.seed = seed
        self.user_id = make_user_id(seed)
        self.store = AvatarStore(make_avatars(seed, avatar_count, self.user_id), check_asset_size(asset_size))
        self.signer = AssetSigner(hashlib.sha256(f"mirako-emulator-{seed}".encode()).digest())
        self.faults = FaultSchedule(seed)
        self.stats = EmulatorStats()
        self.on_response = on_response
        self.closing = asyncio.Event()
        self._lock = threading.Lock()
        self._latency = 0.0
        self._bucket: TokenBucket | None = None
        self._hook_errors: list[BaseException] = []
        # The encoded list body and the (store version, URL generation) it shows.
        self._list_cache: tuple[tuple[int, int], bytes] | None = None
        self.latency = latency

    @property
    def latency(self) -> float:
        """Base delay in seconds added to every API request."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"latency must be a number of seconds, not {type(seconds).__name__}.")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"Invalid latency {seconds!r}: expected a finite number of seconds >= 0.")
        with self._lock:
            self._latency = float(seconds)

    def list_body(self) -> bytes:
        """Return the encoded body of the list endpoint.

        The body is cached until the avatars or the asset URLs change,
        because encoding 10,000 avatars takes a large part of a second.
        """
        # Both keys are read before rendering, so a change during the
        # rendering leaves a cache entry under an old key, never stale data
        # under a current one.
        version = self.store.render_version()
        generation = self.signer.generation
        with self._lock:
            cached = self._list_cache
        if version is not None and cached is not None and cached[0] == (version, generation):
            return cached[1]

        avatars = self.store.render_all(self.signer.url)
        body = encode_json({"data": avatars or None})
        if version is not None:
            with self._lock:
                self._list_cache = ((version, generation), body)
        return body

    @property
    def bucket(self) -> TokenBucket | None:
        """The rate limit's token bucket, or None when there is no limit."""
        with self._lock:
            return self._bucket

    def set_rate_limit(self, rate: float | None, burst: int | None) -> None:
        """Replace the token bucket with a full one, or remove it if ``rate`` is None.

        Raises:
            ValueError: ``rate`` or ``burst`` is out of range.
        """
        bucket = None
        if rate is not None:
            bucket = TokenBucket(rate, max(1, math.floor(rate)) if burst is None else burst)
        with self._lock:
            self._bucket = bucket

    def call_response_hook(self, route: str, status: int, content_type: str | None, body: bytes) -> None:
        """Call the ``on_response`` hook and keep any exception that it raises."""
        hook = self.on_response
        if hook is None:
            return
        try:
            hook(route, status, content_type, body)
        except Exception as exc:
            logger.exception("on_response hook failed for a %s response on route %s", status, route)
            with self._lock:
                self._hook_errors.append(exc)

    @property
    def hook_errors(self) -> list[BaseException]:
        """Exceptions raised by the ``on_response`` hook, oldest first."""
        with self._lock:
            return list(self._hook_errors)
