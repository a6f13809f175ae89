"""Helpers of the integration tests: both clients behind one awaitable interface, and a response log.

Every test takes ``AvatarsApi``, so one test body runs against ``AsyncMirako``
and against the blocking ``Mirako``. The blocking client is called from a
worker thread through ``asyncio.to_thread``, as a plain script would call it,
so the test's own event loop keeps running and no call blocks it.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from mirako_async import AsyncAvatars, Avatar, Avatars, Mirako, MirakoError, RetryPolicy
from tests.schema import ROUTES, validate_response

__all__ = [
    "FAST_RETRY",
    "AsyncAvatarsApi",
    "AvatarsApi",
    "BlockingAvatarsApi",
    "ClientKind",
    "OpenAvatars",
    "ProgressCallback",
    "ResponseRecorder",
    "ServedResponse",
    "blocking_client_loop",
    "bulk_task_names",
    "count_loop_threads",
    "settled_bulk_task_names",
    "wait_for",
]

ClientKind = Literal["async", "sync"]
ProgressCallback = Callable[[int, int], object]

# Retries with waits of at most 20 ms, so tests of retried failures stay fast.
FAST_RETRY: Final = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02)


class AvatarsApi(Protocol):
    """``client.avatars`` of either client, awaited from an async test.

    ``iter_many`` returns the pairs in the order the client yielded them.
    """

    kind: ClientKind

    async def list(self) -> builtins.list[Avatar]: ...

    async def get(self, avatar_id: str) -> Avatar: ...

    async def delete(self, avatar_id: str) -> None: ...

    async def get_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Avatar | MirakoError]: ...

    async def iter_many(
        self, avatar_ids: Iterable[str], *, concurrency: int = 32
    ) -> builtins.list[tuple[str, Avatar | MirakoError]]: ...

    async def delete_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[MirakoError | None]: ...

    async def download_assets(
        self,
        avatar: Avatar,
        directory: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Path]: ...

    async def wait_until_ready(self, avatar_id: str, *, timeout: float, poll_interval: float) -> Avatar: ...


# Opens a client on the emulator; keyword arguments go to the client's constructor.
OpenAvatars = Callable[..., AvatarsApi]


class AsyncAvatarsApi:
    """``AsyncMirako.avatars``, awaited directly."""

    kind: ClientKind = "async"

    def __init__(self, avatars: AsyncAvatars) -> None:
        self._avatars = avatars

    async def list(self) -> builtins.list[Avatar]:
        return await self._avatars.list()

    async def get(self, avatar_id: str) -> Avatar:
        return await self._avatars.get(avatar_id)

    async def delete(self, avatar_id: str) -> None:
        await self._avatars.delete(avatar_id)

    async def get_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Avatar | MirakoError]:
        return await self._avatars.get_many(avatar_ids, concurrency=concurrency, on_progress=on_progress)

    async def iter_many(
        self, avatar_ids: Iterable[str], *, concurrency: int = 32
    ) -> builtins.list[tuple[str, Avatar | MirakoError]]:
        stream = self._avatars.iter_many(avatar_ids, concurrency=concurrency)
        return [pair async for pair in stream]

    async def delete_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[MirakoError | None]:
        return await self._avatars.delete_many(avatar_ids, concurrency=concurrency, on_progress=on_progress)

    async def download_assets(
        self,
        avatar: Avatar,
        directory: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Path]:
        return await self._avatars.download_assets(avatar, directory, on_progress=on_progress)

    async def wait_until_ready(self, avatar_id: str, *, timeout: float, poll_interval: float) -> Avatar:
        return await self._avatars.wait_until_ready(avatar_id, timeout=timeout, poll_interval=poll_interval)


class BlockingAvatarsApi:
    """``Mirako.avatars``, each call made from a worker thread."""

    kind: ClientKind = "sync"

    def __init__(self, avatars: Avatars) -> None:
        self._avatars = avatars

    async def list(self) -> builtins.list[Avatar]:
        return await asyncio.to_thread(self._avatars.list)

    async def get(self, avatar_id: str) -> Avatar:
        return await asyncio.to_thread(self._avatars.get, avatar_id)

    async def delete(self, avatar_id: str) -> None:
        await asyncio.to_thread(self._avatars.delete, avatar_id)

    async def get_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Avatar | MirakoError]:
        return await asyncio.to_thread(
            self._avatars.get_many,
            avatar_ids,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def iter_many(
        self, avatar_ids: Iterable[str], *, concurrency: int = 32
    ) -> builtins.list[tuple[str, Avatar | MirakoError]]:
        def collect() -> builtins.list[tuple[str, Avatar | MirakoError]]:
            return builtins.list(self._avatars.iter_many(avatar_ids, concurrency=concurrency))

        return await asyncio.to_thread(collect)

    async def delete_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[MirakoError | None]:
        return await asyncio.to_thread(
            self._avatars.delete_many,
            avatar_ids,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    async def download_assets(
        self,
        avatar: Avatar,
        directory: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Path]:
        return await asyncio.to_thread(self._avatars.download_assets, avatar, directory, on_progress=on_progress)

    async def wait_until_ready(self, avatar_id: str, *, timeout: float, poll_interval: float) -> Avatar:
        return await asyncio.to_thread(
            self._avatars.wait_until_ready,
            avatar_id,
            timeout=timeout,
            poll_interval=poll_interval,
        )


@dataclass(frozen=True, slots=True)
class ServedResponse:
    """One API response as the emulator sent it."""

    route: str
    status: int
    content_type: str | None
    body: bytes


class ResponseRecorder:
    """An ``on_response`` hook that keeps every API response and checks it against docs/openapi.yaml.

    The emulator calls it on its own thread for each response that no
    injected fault changed. An ``AssertionError`` from the check ends up in
    ``Emulator.hook_errors``, which fails the test at teardown. Responses on
    paths that no API route serves (route ``other``) are kept but not
    checked, because the document describes only the three avatar routes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: list[ServedResponse] = []

    def __call__(self, route: str, status: int, content_type: str | None, body: bytes) -> None:
        with self._lock:
            self._responses.append(ServedResponse(route, status, content_type, body))
        if route in ROUTES:
            validate_response(route, status, body)

    @property
    def responses(self) -> list[ServedResponse]:
        """Every response so far, oldest first."""
        with self._lock:
            return list(self._responses)

    def last(self, route: str) -> ServedResponse:
        """Return the latest response on ``route``.

        Raises:
            LookupError: No response on ``route`` was recorded.
        """
        for response in reversed(self.responses):
            if response.route == route:
                return response
        raise LookupError(f"The emulator sent no response on the {route!r} route.")


async def wait_for(condition: Callable[[], bool], *, timeout: float = 5.0, description: str) -> None:
    """Poll ``condition`` every 10 ms until it is true.

    Raises:
        AssertionError: ``condition`` stayed false for ``timeout`` seconds.
            The message contains ``description``.
    """
    give_up_at = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up_at:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {description}.")
        await asyncio.sleep(0.01)


async def bulk_task_names(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Return the names of the unfinished bulk worker tasks on ``loop``.

    ``loop`` may be the running loop or the blocking client's loop in its
    own thread; the tasks are read on ``loop`` itself.
    """

    async def read_names() -> list[str]:
        return [
            task.get_name()
            for task in asyncio.all_tasks()
            if not task.done() and task.get_name().startswith("mirako-bulk-")
        ]

    if loop is asyncio.get_running_loop():
        return await read_names()
    future = asyncio.run_coroutine_threadsafe(read_names(), loop)
    return await asyncio.wrap_future(future)


def settled_bulk_task_names(loop: asyncio.AbstractEventLoop, *, timeout: float = 1.0) -> list[str]:
    """Poll, from a thread without a running loop, the bulk worker tasks on ``loop`` until none is left.

    Returns the names seen last: empty once the workers ended, or the
    workers still running after ``timeout`` seconds.
    """
    give_up_at = time.monotonic() + timeout
    while True:
        future = asyncio.run_coroutine_threadsafe(bulk_task_names(loop), loop)
        names = future.result(timeout=5)
        if not names or time.monotonic() > give_up_at:
            return names
        time.sleep(0.01)


def blocking_client_loop(client: Mirako, avatar_id: str) -> asyncio.AbstractEventLoop:
    """Return the event loop on which a blocking client runs its calls.

    A progress callback runs on that loop, so one ``get_many`` of
    ``avatar_id`` finds it through the public API.
    """
    loops: list[asyncio.AbstractEventLoop] = []

    def remember_loop(done: int, total: int) -> None:
        loops.append(asyncio.get_running_loop())

    client.avatars.get_many([avatar_id], on_progress=remember_loop)
    return loops[0]


def count_loop_threads() -> int:
    """Count the live loop threads of blocking clients."""
    return sum(1 for thread in threading.enumerate() if thread.name == "mirako-async-loop")
