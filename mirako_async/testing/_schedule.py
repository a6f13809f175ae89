"""Rules that decide which requests get an injected fault."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Final, Literal, TypeAlias

from ._faults import Fault

__all__ = ["ROUTES", "FaultHandle", "FaultSchedule", "Route"]

Route: TypeAlias = Literal["list", "get", "delete", "storage", "*"]

ROUTES: Final[frozenset[str]] = frozenset({"list", "get", "delete", "storage", "*"})
# Routes that "*" matches: every request on the API port, but not on the storage port.
_API_ROUTES: Final[frozenset[str]] = frozenset({"list", "get", "delete", "other"})


class FaultHandle:
    """An injected fault rule, returned by ``Emulator.inject``.

    The rule stays active until it has fired ``times`` times, its
    ``duration`` has passed, ``cancel`` is called or the emulator's faults
    are cleared. Its properties are safe to read from any thread.
    """

    def __init__(
        self,
        fault: Fault,
        route: Route,
        *,
        times: int | None,
        probability: float,
        duration: float | None,
        lock: threading.Lock,
        clock: Callable[[], float],
    ) -> None:
        self._fault = fault
        self._route = route
        self._times = times
        self._probability = probability
        self._deadline = None if duration is None else clock() + duration
        self._lock = lock
        self._clock = clock
        self._fired = 0
        self._cancelled = False

    @property
    def fault(self) -> Fault:
        """The fault that this rule injects."""
        return self._fault

    @property
    def route(self) -> Route:
        """The route that this rule applies to."""
        return self._route

    @property
    def fired(self) -> int:
        """Number of requests that got the fault so far."""
        with self._lock:
            return self._fired

    @property
    def active(self) -> bool:
        """True while the rule can still fire."""
        with self._lock:
            return self._is_active(self._clock())

    def cancel(self) -> None:
        """Deactivate the rule. Requests already faulted are not affected."""
        with self._lock:
            self._cancelled = True

    def __repr__(self) -> str:
        return f"FaultHandle({self._fault!r}, route={self._route!r}, fired={self.fired}, active={self.active})"

    # The methods below must be called with the lock held.

    def _is_active(self, now: float) -> bool:
        if self._cancelled:
            return False
        if self._times is not None and self._fired >= self._times:
            return False
        return self._deadline is None or now < self._deadline

    def _matches(self, route: str) -> bool:
        if self._route == "*":
            return route in _API_ROUTES
        return self._route == route

    def _try_fire(self, rng: random.Random) -> bool:
        # Rules with probability 1 draw no number, so adding one does not
        # shift the random sequence that other rules see.
        if self._probability < 1.0 and rng.random() >= self._probability:
            return False
        self._fired += 1
        return True


class FaultSchedule:
    """Ordered fault rules with a seeded random number generator.

    Every method is thread-safe.
    """

    def __init__(self, seed: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._clock = clock
        self._handles: list[FaultHandle] = []

    def add(
        self,
        fault: Fault,
        route: Route = "*",
        *,
        times: int | None = None,
        probability: float | None = None,
        duration: float | None = None,
    ) -> FaultHandle:
        """Append a rule and return its handle. See ``Emulator.inject``.

        Raises:
            ValueError: An argument is out of range.
        """
        if route not in ROUTES:
            raise ValueError(f"Invalid route {route!r}: expected one of {sorted(ROUTES)}.")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"Invalid times {times!r}: expected an int >= 1 or None.")
        if probability is None:
            probability = 1.0
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"Invalid probability {probability!r}: expected 0 < p <= 1.")
        if duration is not None and (not math.isfinite(duration) or duration <= 0):
            raise ValueError(f"Invalid duration {duration!r}: expected seconds > 0 or None.")

        handle = FaultHandle(
            fault,
            route,
            times=times,
            probability=probability,
            duration=duration,
            lock=self._lock,
            clock=self._clock,
        )
        with self._lock:
            self._handles.append(handle)
        return handle

    def pick(self, route: str) -> Fault | None:
        """Return the fault for one request on ``route``, or None.

        Rules are tried oldest first. The first active rule that matches
        the route and wins its probability draw fires, and no other rule is
        tried, so a request gets at most one fault. Rules that have run out
        are dropped.
        """
        with self._lock:
            if not self._handles:
                return None
            now = self._clock()
            self._handles = [handle for handle in self._handles if handle._is_active(now)]
            for handle in self._handles:
                if handle._matches(route) and handle._try_fire(self._rng):
                    return handle.fault
        return None

    def clear(self) -> None:
        """Cancel every rule."""
        with self._lock:
            for handle in self._handles:
                handle._cancelled = True
            self._handles.clear()

    @property
    def handles(self) -> list[FaultHandle]:
        """The rules that are still active, oldest first."""
        with self._lock:
            now = self._clock()
            return [handle for handle in self._handles if handle._is_active(now)]
