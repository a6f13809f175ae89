"""Token bucket that limits the request rate on the emulator's API port."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """A token bucket that starts full and is safe to use from any thread.

    Each request takes one token. Tokens come back at ``rate`` per second,
    up to ``burst`` tokens.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        """Create a full bucket.

        Raises:
            ValueError: ``rate`` is not a finite number > 0 or ``burst`` is
                not an int >= 1.
        """
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"Invalid rate {rate!r}: expected requests per second > 0.")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"Invalid burst {burst!r}: expected an int >= 1.")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    def acquire(self) -> float:
        """Take one token if there is one.

        Returns:
            0.0 if a token was taken, or else the seconds until the next
            token is available. A caller that waits that long finds a
            token unless other requests take it first.
        """
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    @staticmethod
    def retry_after_header(wait: float) -> str:
        """Format a wait as a ``Retry-After`` value in whole seconds, rounded up.

        Delay-seconds must be an integer, and rounding down would tell the
        client to come back before a token is available. The value is at
        least 1, because 0 would invite an immediate retry.
        """
        return str(max(1, math.ceil(wait)))
