"""The ``Emulator``: a local Mirako API server and asset storage server for tests."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import web

from ._api import handle_api
from ._control import CONTROL_PREFIX, handle_control
from ._faults import Fault
from ._schedule import FaultHandle, Route
from ._seed import format_timestamp
from ._signing import AssetRef
from ._state import EmulatorState, ResponseHook, check_asset_size
from ._stats import EmulatorStats
from ._storage import AssetBody, handle_storage
from ._store import AvatarRecord, Theme

__all__ = ["Emulator"]

logger = logging.getLogger("mirako_async.testing")

# The emulator only ever listens on the loopback interface.
HOST: Final = "127.0.0.1"
# Time that shutdown waits for a handler before cancelling it. Handlers that
# sleep or stall end as soon as the emulator starts closing, so this is a
# backstop for a handler blocked on a client that stopped reading.
_SHUTDOWN_TIMEOUT: Final = 2.0

_Handler = Callable[[web.BaseRequest], Any]


class _CountingServer(web.Server):
    """aiohttp's low-level server, counting every accepted TCP connection."""

    def __init__(self, handler: _Handler, *, on_connection: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._on_connection = on_connection

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._on_connection()


class Emulator:
    """A local Mirako API server with a second server that plays object storage.

    Both listen on 127.0.0.1 only. Use it as ``async with Emulator() as emu``
    on the running event loop, or as ``with Emulator.in_thread() as emu`` to
    run it on its own loop in a background thread. The configuration
    methods and ``stats`` are thread-safe, so a test can call them from any
    thread while the emulator serves requests.

    Each emulator instance can be started once.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        seed: int = 0,
        avatar_count: int = 6,
        latency: float = 0.0,
        asset_size: int = 4096,
        port: int = 0,
        storage_port: int = 0,
        on_response: ResponseHook | None = None,
        control: bool = False,
    ) -> None:
        """Create the emulator and its seed avatars. Nothing listens until ``start``.

        Args:
            api_key: The bearer token that the API accepts.
            seed: Seed of the avatars, the asset URLs and the fault draws.
            avatar_count: Number of seed avatars. The first six cover each
                status and the edge cases of the format.
            latency: Base delay in seconds added to every API request.
            asset_size: Size in bytes of every asset.
            port: API port on 127.0.0.1, or 0 for a free port.
            storage_port: Storage port on 127.0.0.1, or 0 for a free port.
            on_response: Called as ``on_response(route, status, content_type,
                body)`` for every API response that no fault changed. An
                exception that it raises is logged and kept in
                ``hook_errors``, and the response goes out unchanged.
            control: If True, serve the control endpoint under
                ``/_emulator/`` on the API port.

        Raises:
            ValueError: An argument is out of range.
        """
        if not api_key:
            raise ValueError("api_key must be a non-empty string.")
        for name, value in (("port", port), ("storage_port", storage_port)):
            if not 0 <= value <= 65535:
                raise ValueError(f"Invalid {name} {value}: expected 0 to 65535.")
        self._state = EmulatorState(
            api_key=api_key,
            seed=seed,
            avatar_count=avatar_count,
            asset_size=asset_size,
            latency=latency,
            on_response=on_response,
        )
        self._ports = (port, storage_port)
        self._control = control
        self._id_rng = random.Random(f"added-avatars-{seed}")
        self._runners: list[web.ServerRunner] = []
        self._base_url: str | None = None
        self._storage_url: str | None = None
        self._started = False

    # Lifecycle

    async def start(self) -> None:
        """Start both servers on the running event loop.

        Raises:
            RuntimeError: The emulator was started before.
            OSError: A port is in use.
        """
        if self._started:
            raise RuntimeError("This emulator was started before. Create a new Emulator.")
        self._started = True
        self._state.closing = asyncio.Event()
        try:
            api_port = await self._serve(self._handle_api, self._ports[0], storage=False)
            storage_port = await self._serve(self._handle_storage, self._ports[1], storage=True)
        except BaseException:
            await self._cleanup_runners()
            raise
        self._base_url = f"http://{HOST}:{api_port}"
        self._storage_url = f"http://{HOST}:{storage_port}"
        self._state.signer.set_origin(self._storage_url)
        logger.info("emulator serving %s, storage %s", self._base_url, self._storage_url)

    async def _serve(self, handler: _Handler, port: int, *, storage: bool) -> int:
        stats = self._state.stats
        server = _CountingServer(
            handler,
            on_connection=lambda: stats.record_connection(storage=storage),
            access_log=None,
        )
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        self._runners.append(runner)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port)
        await site.start()
        bound_port: int = runner.addresses[0][1]
        return bound_port

    async def close(self) -> None:
        """Stop both servers and close every connection. Calling it again does nothing."""
        self._state.closing.set()
        if self._runners:
            await self._cleanup_runners()
            logger.info("emulator stopped: %s", self._base_url)

    async def _cleanup_runners(self) -> None:
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @classmethod
    def in_thread(cls, **kwargs: Any) -> AbstractContextManager[Emulator]:
        """Return a context manager that runs a new emulator on a background thread.

        The keyword arguments are those of ``Emulator``. Entering starts the
        thread and waits until both servers listen, and leaving stops them.
        """
        from ._thread import EmulatorThread

        return EmulatorThread(cls(**kwargs))

    async def _handle_api(self, request: web.BaseRequest) -> web.StreamResponse:
        if self._control and request.raw_path.startswith(CONTROL_PREFIX):
            return await handle_control(self._state, request)
        return await handle_api(self._state, request)

    async def _handle_storage(self, request: web.BaseRequest) -> web.StreamResponse:
        return await handle_storage(self._state, request)

    # Addresses and settings

    def _require_running(self) -> tuple[str, str]:
        if self._base_url is None or self._storage_url is None:
            raise RuntimeError(
                "The emulator is not running. Use 'async with Emulator()' or 'with Emulator.in_thread()'."
            )
        return self._base_url, self._storage_url

    @property
    def base_url(self) -> str:
        """Origin of the API server, such as ``http://127.0.0.1:41234``."""
        return self._require_running()[0]

    @property
    def storage_url(self) -> str:
        """Origin of the storage server that serves the asset URLs."""
        return self._require_running()[1]

    @property
    def api_key(self) -> str:
        """The bearer token that the API accepts."""
        return self._state.api_key

    @property
    def user_id(self) -> str:
        """The ``user_id`` of the seed avatars."""
        return self._state.user_id

    @property
    def seed(self) -> int:
        """Seed of the avatars, the asset URLs and the fault draws."""
        return self._state.seed

    @property
    def stats(self) -> EmulatorStats:
        """Request counters and logs."""
        return self._state.stats

    @property
    def latency(self) -> float:
        """Base delay in seconds added to every API request."""
        return self._state.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._state.latency = seconds

    @property
    def on_response(self) -> ResponseHook | None:
        """The hook called for every API response that no fault changed, or None."""
        return self._state.on_response

    @on_response.setter
    def on_response(self, hook: ResponseHook | None) -> None:
        self._state.on_response = hook

    @property
    def hook_errors(self) -> list[BaseException]:
        """Exceptions raised by the ``on_response`` hook, oldest first."""
        return self._state.hook_errors

    # Faults and limits

    def inject(
        self,
        fault: Fault,
        route: Route = "*",
        *,
        times: int | None = None,
        probability: float | None = None,
        duration: float | None = None,
    ) -> FaultHandle:
        """Inject a fault into the matching requests from now on.

        Args:
            fault: The fault, such as ``Status(503)``.
            route: ``list``, ``get``, ``delete``, ``storage``, or ``*`` for
                every request on the API port (storage excluded).
            times: Maximum number of requests that get the fault. None has
                no limit.
            probability: Chance from 0 (exclusive) to 1 that a matching
                request gets the fault, drawn from a generator seeded with
                the emulator's seed. None means 1.
            duration: Seconds from now during which the rule is active.
                None has no limit.

        The limits combine: the rule fires on each matching request with
        ``probability`` until it has fired ``times`` times or ``duration``
        has passed, whichever comes first. With neither limit it stays
        until cancelled or cleared. When several rules match a request, the
        oldest active one that wins its draw fires, and the request gets
        only that fault.

        Returns:
            A handle with the number of times the rule ``fired`` and a
            ``cancel`` method.

        Raises:
            ValueError: An argument is out of range.
        """
        return self._state.faults.add(fault, route, times=times, probability=probability, duration=duration)

    def clear_faults(self) -> None:
        """Remove every injected fault. The rate limit and latency stay."""
        self._state.faults.clear()

    @property
    def faults(self) -> list[FaultHandle]:
        """Injected fault rules that are still active, oldest first."""
        return self._state.faults.handles

    def rate_limit(self, rate: float | None, burst: int | None = None) -> None:
        """Limit all API routes together with a token bucket, or remove the limit.

        A request that finds the bucket empty gets 429 problem JSON with a
        ``Retry-After`` of the whole seconds, rounded up, until a token is
        available.

        Args:
            rate: Tokens added per second, or None to remove the limit.
            burst: Bucket size, which is also the number of tokens at the
                start. None means ``rate`` rounded down, and at least 1.

        Raises:
            ValueError: ``rate`` is not > 0 or ``burst`` is not >= 1.
        """
        self._state.set_rate_limit(rate, burst)

    # Avatars and assets

    def add_avatar(
        self,
        *,
        name: str = "New avatar",
        status: str = "READY",
        themes: Sequence[str | Theme] | None = None,
        supported_interactive_models: Sequence[str] | None = None,
        avatar_id: str | None = None,
        created_at: str | datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add an avatar and return it as the API sends it.

        Args:
            name: Display name.
            status: Status, sent as given, so it can be one the SDK does not know.
            themes: Themes, as names (with both assets) or ``Theme`` objects.
                None is sent as ``null``.
            supported_interactive_models: Model names. None is sent as ``null``.
            avatar_id: The id, which may contain any character. None picks a
                UUID from the emulator's seed.
            created_at: An RFC 3339 string, sent as given, or an aware
                ``datetime``. None uses the current time with nine
                fractional digits, trailing zeros removed, as Go writes it.
            extra: Additional members of the avatar object, to test that
                clients ignore unknown fields. They replace standard members
                of the same name, which can send invalid values on purpose.

        Raises:
            RuntimeError: The emulator is not running.
            ValueError: The id is taken, or an argument is invalid.
        """
        self._require_running()
        if not isinstance(status, str) or not status:
            raise ValueError(f"Invalid status {status!r}: expected a non-empty string.")
        if avatar_id is None:
            avatar_id = str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))
        theme_list = None
        if themes is not None:
            theme_list = [Theme(theme) if isinstance(theme, str) else theme for theme in themes]
        models = None if supported_interactive_models is None else list(supported_interactive_models)
        record = AvatarRecord(
            id=avatar_id,
            user_id=self._state.user_id,
            name=name,
            status=status,
            created_at=_format_created_at(created_at),
            supported_interactive_models=models,
            themes=theme_list,
            extra=dict(extra or {}),
        )
        self._state.store.add(record)
        avatar = self.avatar(avatar_id)
        assert avatar is not None
        return avatar

    def avatar(self, avatar_id: str) -> dict[str, Any] | None:
        """Return an avatar as the API sends it now, or None if it does not exist."""
        self._require_running()
        return self._state.store.render_one(avatar_id, self._state.signer.url)

    def avatars(self) -> list[dict[str, Any]]:
        """Return every avatar as the API sends it now."""
        self._require_running()
        return self._state.store.render_all(self._state.signer.url)

    def clear_avatars(self) -> None:
        """Delete every avatar, so that the list endpoint sends ``"data": null``."""
        self._state.store.clear()

    def schedule_build(self, avatar_id: str, steps: Sequence[tuple[str, float | None]]) -> None:
        """Move an avatar through statuses on a wall-clock schedule that starts now.

        Args:
            avatar_id: The avatar.
            steps: ``(status, seconds)`` pairs, such as ``[("PENDING", 0.2),
                ("BUILDING", 0.3), ("READY", None)]``. Each status lasts its
                seconds. The last status is final and its seconds must be None.

        Raises:
            KeyError: There is no avatar with this id.
            ValueError: The steps are invalid.
        """
        self._state.store.schedule_build(avatar_id, steps)

    def expire_assets(self) -> None:
        """Expire every asset URL issued so far. Later API responses carry new URLs."""
        self._state.signer.expire_all()

    def set_asset_size(self, avatar_id: str | None, nbytes: int) -> None:
        """Set the size of an avatar's assets, or of every avatar's if ``avatar_id`` is None.

        With None, per-avatar sizes set before are dropped. The bytes are
        generated while they are sent, so a large size costs no memory.

        Raises:
            KeyError: There is no avatar with this id.
            ValueError: ``nbytes`` is negative.
        """
        self._state.store.set_asset_size(avatar_id, check_asset_size(nbytes))

    def _asset_body(self, url: str) -> AssetBody:
        storage_url = self.storage_url
        if not url.startswith(storage_url + "/"):
            raise ValueError(f"{url!r} is not a URL on the storage server {storage_url}.")
        check = self._state.signer.check(url[len(storage_url) :])
        asset: AssetRef | None = check.asset
        if asset is None:
            raise ValueError(f"{url!r} was not issued by this emulator: {check.message}")
        size = self._state.store.asset_size(asset.avatar_id, asset.theme, asset.kind)
        if size is None:
            raise ValueError(f"The asset of {url!r} no longer exists.")
        return AssetBody(asset, size)

    def asset_bytes(self, url: str) -> bytes:
        """Return the bytes that the storage server sends for an issued URL, expired or not.

        Raises:
            ValueError: The URL was not issued or its asset no longer exists.
        """
        body = self._asset_body(url)
        return b"".join(body.chunks(0, body.length))

    def asset_sha256(self, url: str) -> str:
        """Return the SHA-256 hex digest of an asset without holding it in memory.

        Raises:
            ValueError: The URL was not issued or its asset no longer exists.
        """
        body = self._asset_body(url)
        digest = hashlib.sha256()
        for chunk in body.chunks(0, body.length):
            digest.update(chunk)
        return digest.hexdigest()


def _format_created_at(created_at: str | datetime | None) -> str:
    if isinstance(created_at, str):
        return created_at
    if created_at is None:
        now_ns = time.time_ns()
        seconds, nanos = divmod(now_ns, 1_000_000_000)
        digits = 9 if nanos else 0
        while digits and nanos % 10 ** (10 - digits) == 0:
            digits -= 1
        return format_timestamp(seconds, nanos, 0, digits)
    offset = created_at.utcoffset()
    if offset is None:
        raise ValueError("created_at must be timezone-aware.")
    return created_at.isoformat().replace("+00:00", "Z")
