"""One awaitable interface over ``AsyncMirako`` and ``Mirako``, so each test runs against both.

``AsyncDriver`` awaits the async client on the test's event loop.
``SyncDriver`` runs each blocking call on a worker thread of its own pool,
so the test's loop stays free to inject faults and read counters while the
call blocks, and many blocking calls can run at once.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final, Literal, Protocol, TypeAlias, TypeVar

from mirako_async import AsyncMirako, Avatar, Mirako, MirakoError, RetryPolicy

__all__ = [
    "AsyncDriver",
    "ClientDriver",
    "ClientKind",
    "SyncDriver",
    "dispose_driver",
    "make_driver",
    "open_driver",
]

T = TypeVar("T")

ClientKind: TypeAlias = Literal["async", "sync"]

# Enough worker threads for the largest burst of concurrent blocking calls in
# this suite (50), because asyncio.to_thread's default pool has only
# min(32, CPUs + 4) threads and would queue the rest.
_SYNC_WORKERS: Final = 64


class ClientDriver(Protocol):
    """The calls that the resilience tests make, awaitable for both clients."""

    @property
    def closed(self) -> bool:
        """Whether the client was closed."""
        ...

    async def list(self, *, timeout: float | None = None) -> builtins.list[Avatar]:
        """Call ``avatars.list``."""
        ...

    async def get(self, avatar_id: str, *, timeout: float | None = None) -> Avatar:
        """Call ``avatars.get``."""
        ...

    async def delete(self, avatar_id: str, *, timeout: float | None = None) -> None:
        """Call ``avatars.delete``."""
        ...

    async def get_many(self, avatar_ids: Sequence[str], *, concurrency: int) -> builtins.list[Avatar | MirakoError]:
        """Call ``avatars.get_many``."""
        ...

    async def delete_many(self, avatar_ids: Sequence[str], *, concurrency: int) -> builtins.list[MirakoError | None]:
        """Call ``avatars.delete_many``."""
        ...

    def with_options(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> ClientDriver:
        """Return a driver for ``client.with_options(...)``. A ``deadline`` of None keeps the client's."""
        ...

    async def close(self) -> None:
        """Close the client."""
        ...


class AsyncDriver:
    """Driver that awaits an ``AsyncMirako`` on the running event loop."""

    def __init__(self, client: AsyncMirako) -> None:
        self.client = client

    @property
    def closed(self) -> bool:
        return self.client.closed

    async def list(self, *, timeout: float | None = None) -> builtins.list[Avatar]:
        return await self.client.avatars.list(timeout=timeout)

    async def get(self, avatar_id: str, *, timeout: float | None = None) -> Avatar:
        return await self.client.avatars.get(avatar_id, timeout=timeout)

    async def delete(self, avatar_id: str, *, timeout: float | None = None) -> None:
        await self.client.avatars.delete(avatar_id, timeout=timeout)

    async def get_many(self, avatar_ids: Sequence[str], *, concurrency: int) -> builtins.list[Avatar | MirakoError]:
        return await self.client.avatars.get_many(avatar_ids, concurrency=concurrency)

    async def delete_many(self, avatar_ids: Sequence[str], *, concurrency: int) -> builtins.list[MirakoError | None]:
        return await self.client.avatars.delete_many(avatar_ids, concurrency=concurrency)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncDriver:
        if deadline is None:
            copy = self.client.with_options(timeout=timeout, max_retries=max_retries, retry=retry)
        else:
            copy = self.client.with_options(timeout=timeout, deadline=deadline, max_retries=max_retries, retry=retry)
        return AsyncDriver(copy)

    async def close(self) -> None:
        await self.client.close()


class _Raised:
    """An exception that a blocking call raised, carried back to the awaiting coroutine."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _capture(call: Callable[[], T]) -> T | _Raised:
    try:
        return call()
    except BaseException as exc:
        return _Raised(exc)


class SyncDriver:
    """Driver that runs a blocking ``Mirako`` on worker threads.

    Copies made by ``with_options`` share the thread pool of the driver
    they came from. Call ``shut_down_threads`` on that first driver after
    the test, which may go on calling a closed client to check the error.
    """

    def __init__(
        self,
        client: Mirako,
        pool: concurrent.futures.ThreadPoolExecutor | None = None,
    ) -> None:
        self.client = client
        self._owns_pool = pool is None
        self._pool = pool or concurrent.futures.ThreadPoolExecutor(
            max_workers=_SYNC_WORKERS, thread_name_prefix="sync-driver"
        )

    @property
    def closed(self) -> bool:
        return self.client.closed

    async def _run(self, call: Callable[[], T]) -> T:
        # The exception travels boxed, because run_in_executor would turn a
        # concurrent.futures.CancelledError from the call into asyncio's.
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(self._pool, _capture, call)
        if isinstance(outcome, _Raised):
            raise outcome.error
        return outcome

    async def list(self, *, timeout: float | None = None) -> builtins.list[Avatar]:
        return await self._run(functools.partial(self.client.avatars.list, timeout=timeout))

    async def get(self, avatar_id: str, *, timeout: float | None = None) -> Avatar:
        return await self._run(functools.partial(self.client.avatars.get, avatar_id, timeout=timeout))

    async def delete(self, avatar_id: str, *, timeout: float | None = None) -> None:
        await self._run(functools.partial(self.client.avatars.delete, avatar_id, timeout=timeout))

    async def get_many(self, avatar_ids: Sequence[str], *, concurrency: int) -> builtins.list[Avatar | MirakoError]:
        return await self._run(functools.partial(self.client.avatars.get_many, avatar_ids, concurrency=concurrency))

    async def delete_many(self, avatar_ids: Sequence[str], *, concurrency: int) -> builtins.list[MirakoError | None]:
        return await self._run(functools.partial(self.client.avatars.delete_many, avatar_ids, concurrency=concurrency))

    def with_options(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> SyncDriver:
        if deadline is None:
            copy = self.client.with_options(timeout=timeout, max_retries=max_retries, retry=retry)
        else:
            copy = self.client.with_options(timeout=timeout, deadline=deadline, max_retries=max_retries, retry=retry)
        return SyncDriver(copy, self._pool)

    async def close(self) -> None:
        await self._run(self.client.close)

    def shut_down_threads(self) -> None:
        """Stop the worker threads once the test is done. A copy leaves them to its original."""
        if self._owns_pool:
            self._pool.shutdown(wait=False)


def make_driver(
    kind: ClientKind,
    *,
    api_key: str,
    base_url: str,
    timeout: float,
    deadline: float | None,
    retry: RetryPolicy,
    max_connections: int,
) -> ClientDriver:
    """Create a client of ``kind`` that never reads proxy settings from the environment, and return its driver."""
    if kind == "async":
        return AsyncDriver(
            AsyncMirako(
                api_key,
                base_url=base_url,
                timeout=timeout,
                deadline=deadline,
                retry=retry,
                max_connections=max_connections,
                trust_env=False,
            )
        )
    return SyncDriver(
        Mirako(
            api_key,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            max_connections=max_connections,
            trust_env=False,
        )
    )


async def dispose_driver(driver: ClientDriver) -> None:
    """Close the driver's client and stop its worker threads, if it has any."""
    await driver.close()
    if isinstance(driver, SyncDriver):
        driver.shut_down_threads()


@contextlib.asynccontextmanager
async def open_driver(
    kind: ClientKind,
    *,
    api_key: str,
    base_url: str,
    timeout: float,
    retry: RetryPolicy,
) -> AsyncIterator[ClientDriver]:
    """Create a client of ``kind`` as ``make_driver`` does, and dispose of it on exit."""
    driver = make_driver(
        kind,
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        deadline=None,
        retry=retry,
        max_connections=100,
    )
    try:
        yield driver
    finally:
        await dispose_driver(driver)
