"""The aiohttp sessions of one client: created lazily, bound to one event loop, closed once."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import aiohttp

from ._config import MaskedHeaderValue
from ._proxy import ProxySettings
from ._version import __version__

__all__ = ["USER_AGENT", "Transport"]

USER_AGENT = f"mirako-async/{__version__} aiohttp/{aiohttp.__version__}"

# Sessions and generators abandoned in a forked child, or left on a loop that
# was closed without clean-up. They belong to another process or a dead loop,
# so they are kept alive and untouched: letting them be collected would run
# finalizers that close or write to file descriptors the parent still uses,
# or warn about sockets that can no longer be closed properly.
_ABANDONED: list[Any] = []


class ClientClosedError(RuntimeError):
    """The client was closed and cannot send more requests."""


class Transport:
    """Owns the API session and the asset session, shared by a client and its copies.

    API requests carry the ``Authorization`` header, passed per request; the
    asset session carries no credentials at all, so a presigned storage link
    can never receive the API key.
    """

    def __init__(self, *, authorization: MaskedHeaderValue, max_connections: int, trust_env: bool) -> None:
        self._authorization = authorization
        self._max_connections = max_connections
        self.proxies = ProxySettings(trust_env=trust_env)
        self._api: aiohttp.ClientSession | None = None
        self._assets: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._shutdown_hook: AsyncGenerator[None, None] | None = None
        self._closed = False
        self._pid = os.getpid()
        self._calls: set[asyncio.Task[Any]] = set()
        self._cancelled_by_close: set[asyncio.Task[Any]] = set()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    @property
    def authorization(self) -> MaskedHeaderValue:
        """The ``Authorization`` header value for API requests."""
        return self._authorization

    def __repr__(self) -> str:
        return f"<Transport closed={self._closed} open_session={self._api is not None}>"

    @contextlib.contextmanager
    def track_call(self) -> Iterator[Callable[[], bool]]:
        """Register the running task as a call that ``close()`` must stop.

        Yields a function that returns, once the task was cancelled, whether
        ``close()`` did it (and then takes that cancellation back).
        """
        task = asyncio.current_task()
        if task is None:
            yield lambda: False
            return
        self._calls.add(task)
        try:
            yield lambda: task in self._cancelled_by_close and task.uncancel() == 0
        finally:
            self._calls.discard(task)
            self._cancelled_by_close.discard(task)

    def _forget_if_forked(self) -> None:
        if self._pid != os.getpid():
            # A forked child: the sessions belong to the parent's sockets.
            self._pid = os.getpid()
            self._forget_sessions()

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise ClientClosedError("This Mirako client is closed; create a new client to make more calls.")
        loop = asyncio.get_running_loop()
        self._forget_if_forked()
        if self._loop is not None and self._loop is not loop:
            if not self._loop.is_closed():
                raise RuntimeError(
                    "This AsyncMirako client is in use on another event loop. An aiohttp session "
                    "cannot move between loops: create one client per event loop."
                )
            # The earlier loop was closed without asyncio.run's clean-up,
            # which closes the sessions through the shutdown hook. Its
            # sessions cannot be closed from here, so they are set aside.
            # NOTE: aiohttp then reports them as unclosed at interpreter exit;
            # close such a loop with asyncio.run() or asyncio.Runner instead.
            self._forget_sessions()
        return loop

    async def api_session(self) -> aiohttp.ClientSession:
        """Return the API session, creating it on the running loop at first use."""
        loop = self._check_loop()
        if self._api is None:
            self._api = aiohttp.ClientSession(
                connector=self._connector(),
                # No Authorization here: aiohttp 3.14 copies a session's
                # default headers into a proxy request and turns Authorization
                # into Proxy-Authorization, which would hand the key to any
                # proxy. The client passes it with each request instead.
                headers={
                    # Errors come as RFC 9457 problem JSON; a server that
                    # negotiates strictly would otherwise reject them with 406.
                    "Accept": "application/json, application/problem+json",
                    "User-Agent": USER_AGENT,
                },
                # Proxies come from ProxySettings: aiohttp's trust_env would
                # also add .netrc credentials. See _proxy.py.
                trust_env=False,
                # Timeouts are set per attempt by the client.
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
            )
            # aiohttp resends an idempotent request once, unseen, when a
            # connection drops; the client's own retry loop must see every
            # attempt, or a lost DELETE response would look like a 404.
            if hasattr(self._api, "_retry_connection"):
                self._api._retry_connection = False
            await self._bind(loop)
        return self._api

    async def asset_session(self) -> aiohttp.ClientSession:
        """Return the session for presigned storage links, which sends no credentials."""
        loop = self._check_loop()
        if self._assets is None:
            self._assets = aiohttp.ClientSession(
                connector=self._connector(),
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
                # A stored file is saved as stored: no transparent gunzip.
                auto_decompress=False,
            )
            await self._bind(loop)
        return self._assets

    def slots(self) -> asyncio.Semaphore:
        """Return the semaphore that bounds single calls to ``max_connections`` at once."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_connections)
        return self._slots

    def _connector(self) -> aiohttp.TCPConnector:
        # No limit in aiohttp itself: single calls wait on ``slots()`` and a
        # bulk call on its own limiter, so no request ever waits for a socket
        # the pool cannot give it.
        return aiohttp.TCPConnector(limit=0, limit_per_host=0, enable_cleanup_closed=False)

    async def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        self._loop = loop
        # asyncio.run() and asyncio.Runner finalize every live async
        # generator before closing their loop. Parking one here lets the
        # sessions close cleanly even when the caller never calls close().
        hook = self._close_at_loop_shutdown()
        await hook.__anext__()
        self._shutdown_hook = hook

    async def _close_at_loop_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self._close_sessions()

    async def _close_sessions(self) -> None:
        api, assets = self._api, self._assets
        self._api = self._assets = None
        self._slots = None
        self._loop = None
        for session in (api, assets):
            if session is not None:
                await session.close()

    async def close(self) -> None:
        """Close both sessions and refuse later use. Calling it twice is fine."""
        self._closed = True
        self._forget_if_forked()
        if self._loop is not None and self._loop.is_closed():
            self._forget_sessions()
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            raise RuntimeError("close() must run on the event loop that the client was used on.")
        # aiohttp does not wake a reader whose connection the session closes,
        # so calls still running are cancelled here and end promptly.
        current = asyncio.current_task()
        for task in list(self._calls):
            if task is not current and not task.done():
                self._cancelled_by_close.add(task)
                task.cancel()
        hook, self._shutdown_hook = self._shutdown_hook, None
        await self._close_sessions()
        if hook is not None:
            await hook.aclose()

    def _forget_sessions(self) -> None:
        _ABANDONED.extend(item for item in (self._api, self._assets, self._shutdown_hook) if item is not None)
        self._api = self._assets = None
        self._shutdown_hook = None
        self._slots = None
        self._loop = None
