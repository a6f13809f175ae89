"""A private event loop in a daemon thread, on which the blocking client runs coroutines."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any, Final, TypeVar

from ._transport import _ABANDONED, ClientClosedError

__all__ = ["LoopThread"]

T = TypeVar("T")

# How often a blocked caller wakes up, so Ctrl-C reaches it promptly even
# where a long blocking wait could not be interrupted.
_WAIT_SLICE: Final = 0.05
# How long a caller interrupted by Ctrl-C waits for the cancelled call to
# release its connection before the KeyboardInterrupt goes on.
_CANCEL_GRACE: Final = 0.3
_SHUTDOWN_TIMEOUT: Final = 5.0


class LoopThread:
    """Run coroutines on one event loop that lives in a background thread.

    The thread starts at the first call and runs until ``close()``. After
    ``os.fork()`` the child starts its own loop and thread at its first
    call and never touches the parent's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        self._stopping: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def _detect_fork(self) -> None:
        if self._pid == os.getpid():
            return
        # This is a forked child: the parent's thread does not exist here,
        # and its loop and lock belong to the parent.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        if self._loop is not None:
            _ABANDONED.append(self._loop)
        self._loop = None
        self._thread = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        self._detect_fork()
        with self._lock:
            if self._closed:
                raise ClientClosedError("This Mirako client is closed; create a new client to make more calls.")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(target=_serve, args=(loop, ready), name="mirako-async-loop", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop thread and return its result.

        A ``KeyboardInterrupt`` (or any other exception) raised in the
        waiting thread cancels the coroutine before it propagates.

        Raises:
            RuntimeError: Called from the loop thread itself, which would
                wait forever on itself.
            ClientClosedError: The client was closed.
        """
        try:
            loop = self._running_loop()
            if threading.current_thread() is self._thread:
                raise RuntimeError(
                    "A blocking Mirako method was called from inside a coroutine running on the "
                    "client's own event loop, which would wait forever. Use AsyncMirako there."
                )
        except BaseException:
            coro.close()
            raise

        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            while True:
                done, _ = concurrent.futures.wait((future,), timeout=_WAIT_SLICE)
                if done:
                    return future.result()
        except concurrent.futures.CancelledError:
            if self._closed:
                raise ClientClosedError("The client was closed while this call was running.") from None
            raise
        except BaseException:
            future.cancel()
            _wait_for_cancellation(loop, future)
            raise

    def iterate(self, stream: AsyncIterator[T]) -> Generator[T, None, None]:
        """Iterate over ``stream`` from a blocking caller, one ``run`` per item.

        Leaving the loop early closes ``stream`` on the loop thread.
        """
        try:
            while True:
                has_item, item = self.run(_next_item(stream))
                if not has_item:
                    return
                yield item  # type: ignore[misc]
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None and not self._closed:
                self.run(closer())

    def close(self, closer: Coroutine[Any, Any, None] | None = None) -> None:
        """Run ``closer`` (if any) on the loop, then stop the loop and its thread.

        Calling it again does nothing.
        """
        self._detect_fork()
        with self._lock:
            if self._closed:
                if closer is not None:
                    closer.close()
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None

        if loop is None or thread is None:
            if closer is not None:
                closer.close()
            return
        if threading.current_thread() is thread:
            # Called from the loop itself (for example from a callback or a
            # finalizer): schedule the clean-up instead of waiting on ourselves.
            self._stopping = loop.create_task(_close_then_stop(loop, closer))
            return

        if closer is not None:
            future = asyncio.run_coroutine_threadsafe(closer, loop)
            try:
                future.result(timeout=_SHUTDOWN_TIMEOUT)
            except Exception:  # noqa: BLE001 - best effort at shutdown; the loop stops anyway
                future.cancel()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_SHUTDOWN_TIMEOUT)
        if not thread.is_alive():
            loop.close()


async def _next_item(stream: AsyncIterator[T]) -> tuple[bool, T | None]:
    """Take one item from ``stream``; the flag is false when it is exhausted."""
    try:
        return True, await anext(stream)
    except StopAsyncIteration:
        return False, None


async def _close_then_stop(loop: asyncio.AbstractEventLoop, closer: Coroutine[Any, Any, None] | None) -> None:
    try:
        if closer is not None:
            await closer
    finally:
        loop.stop()


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        _cancel_remaining(loop)
        loop.close()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still scheduled, so that no task is destroyed while pending."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


def _wait_for_cancellation(loop: asyncio.AbstractEventLoop, future: concurrent.futures.Future[Any]) -> None:
    """Give a cancelled call a moment to unwind on the loop, so its connection is released."""
    if loop.is_closed():
        return
    unwound = threading.Event()

    def check() -> None:
        # Runs on the loop after the cancellation callback scheduled by
        # future.cancel(); one more turn lets the task handle it.
        loop.call_soon(unwound.set)

    try:
        loop.call_soon_threadsafe(check)
    except RuntimeError:
        return
    unwound.wait(_CANCEL_GRACE)
