"""Bulk calls: a bounded worker pool whose concurrency adapts to rate limiting."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import Final, Generic, TypeVar

from ._exceptions import MirakoError
from ._logging import logger

__all__ = ["AdaptiveLimiter", "run_bulk"]

T = TypeVar("T")

# After a 429 the concurrency drops to a quarter: with little latency every
# request in flight when the server's bucket runs dry comes back as 429, so
# the next burst must be much smaller to keep 429s rare.
_DECREASE_FACTOR: Final = 0.25
# The concurrency grows by one after this many successes per unit of
# concurrency, so recovery is gradual and the server is not hit at once again.
_SUCCESSES_PER_STEP: Final = 2
# Statuses that mean "the server is overloaded, slow down".
_OVERLOAD_STATUSES: Final = frozenset({429, 503})


class AdaptiveLimiter:
    """Bound the requests of one bulk call, and adapt that bound to the server.

    The limit starts at the caller's concurrency. An overload response (429
    or 503) cuts it to a quarter, at most once per pause, and pauses every
    new attempt for the ``Retry-After`` the server sent (1 s without one). Successes raise it
    again by one step at a time, up to the starting value.

    NOTE: the limiter bounds concurrency but does not pace the start of
    attempts. Against a server whose burst is far below its rate, and that
    rounds ``Retry-After`` up to whole seconds, a fast bulk call runs at
    about one burst per second.
    """

    def __init__(self, concurrency: int) -> None:
        self.max_limit = concurrency
        self.limit = float(concurrency)
        self.in_flight = 0
        self.overloads = 0
        self._successes = 0
        self._paused_until = 0.0
        self._calm_after = 0.0
        self._waiting = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for one attempt, after any pause an overload response started.

        Retries wait outside their slot, so after a pause only the reduced
        number of attempts goes out at once.
        """
        loop = asyncio.get_running_loop()
        if not self._waiting and self._paused_until <= loop.time() and self.in_flight < max(1, int(self.limit)):
            self.in_flight += 1  # The common case: a free slot and no other attempt waiting.
        else:
            await self._wait_for_slot(loop)
        try:
            yield
        finally:
            self.in_flight -= 1
            if self._waiting:
                async with self._changed:
                    self._changed.notify_all()

    async def _wait_for_slot(self, loop: asyncio.AbstractEventLoop) -> None:
        self._waiting += 1
        try:
            while True:
                while (remaining := self._paused_until - loop.time()) > 0:
                    await asyncio.sleep(remaining)
                async with self._changed:
                    await self._changed.wait_for(lambda: self.in_flight < max(1, int(self.limit)))
                    if self._paused_until <= loop.time():
                        self.in_flight += 1
                        return
        finally:
            self._waiting -= 1

    async def observe(self, status: int | None, retry_after: float | None) -> None:
        """Adapt to the outcome of one attempt; ``status`` is ``None`` when no response came."""
        if status is None:
            return
        if status in _OVERLOAD_STATUSES:
            self._on_overload(retry_after)
        elif 200 <= status < 300 and self._on_success():
            async with self._changed:
                self._changed.notify_all()

    def _on_overload(self, retry_after: float | None) -> None:
        loop = asyncio.get_running_loop()
        self.overloads += 1
        self._successes = 0
        if loop.time() < self._paused_until:
            return  # Responses to requests sent before the pause began.
        self.limit = max(1.0, self.limit * _DECREASE_FACTOR)
        pause = retry_after if retry_after is not None else 1.0
        self._paused_until = loop.time() + pause
        # A token bucket refills during the pause and empties again soon
        # after it, so growth waits until the server has stayed calm for as
        # long again as the pause itself.
        self._calm_after = self._paused_until + max(pause, 1.0)
        logger.info(
            "Server is overloaded; bulk concurrency lowered to %d, pausing %.2f s",
            math.floor(self.limit),
            self._paused_until - loop.time(),
        )

    def _on_success(self) -> bool:
        """Count a success; return whether the limit grew."""
        if self.limit >= self.max_limit or asyncio.get_running_loop().time() < self._calm_after:
            return False
        self._successes += 1
        if self._successes < _SUCCESSES_PER_STEP * math.floor(self.limit):
            return False
        self._successes = 0
        self.limit = min(float(self.max_limit), self.limit + 1)
        return True


class _Failure:
    """A non-SDK exception from a worker, carried to the consumer to be re-raised."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE: Final = object()


class _Outcome(Generic[T]):
    __slots__ = ("index", "item", "value")

    def __init__(self, index: int, item: str, value: T | MirakoError) -> None:
        self.index = index
        self.item = item
        self.value = value


async def run_bulk(
    items: Iterable[str],
    call: Callable[[str, AdaptiveLimiter], Awaitable[T]],
    *,
    concurrency: int,
) -> AsyncGenerator[_Outcome[T], None]:
    """Run ``call`` for every item, at most ``concurrency`` at once, yielding outcomes as they finish.

    At most ``concurrency`` worker tasks exist, whatever the number of
    items. A ``MirakoError`` becomes that item's outcome; any other
    exception stops the whole run, cancels the workers and propagates.
    """
    limiter = AdaptiveLimiter(concurrency)
    pending = iter(enumerate(items))
    results: asyncio.Queue[_Outcome[T] | _Failure | object] = asyncio.Queue()

    async def worker() -> None:
        try:
            for index, item in pending:
                try:
                    value: T | MirakoError = await call(item, limiter)
                except MirakoError as exc:
                    value = exc
                results.put_nowait(_Outcome(index, item, value))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            results.put_nowait(_Failure(exc))
        finally:
            results.put_nowait(_DONE)

    workers = [asyncio.create_task(worker(), name=f"mirako-bulk-{n}") for n in range(concurrency)]
    try:
        running = len(workers)
        while running:
            outcome = await results.get()
            if outcome is _DONE:
                running -= 1
            elif isinstance(outcome, _Failure):
                raise outcome.error
            else:
                yield outcome  # type: ignore[misc]
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if limiter.overloads:
            logger.info("Bulk call saw %d overload responses (429 or 503)", limiter.overloads)
