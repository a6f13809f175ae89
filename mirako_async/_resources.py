"""The ``avatars`` resource of the asynchronous client."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar

from ._assets import MAX_PARALLEL_DOWNLOADS, AssetJob, asset_jobs, download_asset
from ._bulk import AdaptiveLimiter, run_bulk
from ._converter import BodyDecodeError, decode_avatar, decode_avatar_list
from ._exceptions import AvatarBuildError, MirakoError, ResponseValidationError, WaitTimeoutError
from ._logging import logger
from ._models import Avatar, AvatarStatus
from ._validation import avatar_path, check_bulk_arguments, check_callback, check_seconds

if TYPE_CHECKING:
    from ._client import AsyncMirako, Response

__all__ = ["AsyncAvatars"]

T = TypeVar("T")
ProgressCallback: TypeAlias = Callable[[int, int], object]

_LIST_PATH: Final = "/v1/avatar/list"
DEFAULT_CONCURRENCY: Final = 32


def _decode(response: Response, method: str, decode: Callable[[bytes], T]) -> T:
    """Decode a 2xx body, turning any misfit into one ``ResponseValidationError``."""
    try:
        return decode(response.body)
    except BodyDecodeError as exc:
        message = f"{method} {response.url.path} returned {response.status} with an invalid body. {exc.reason}"
        if exc.paths:
            message += " Failing fields: " + "; ".join(exc.paths[:20])
            if len(exc.paths) > 20:
                message += f"; and {len(exc.paths) - 20} more"
            message += "."
        raise ResponseValidationError(
            message,
            method=method,
            url=str(response.url),
            status_code=response.status,
            paths=tuple(path.partition(":")[0] for path in exc.paths),
            attempts=response.attempts,
        ) from exc.__cause__


class AsyncAvatars:
    """List, fetch and delete avatars: ``client.avatars``."""

    def __init__(self, client: AsyncMirako) -> None:
        self._client = client

    async def list(self, *, timeout: float | None = None) -> list[Avatar]:
        """List every avatar of the current user.

        Args:
            timeout: Seconds allowed for each attempt; the client's by default.

        Returns:
            The avatars, in the server's order; empty when there are none.

        Raises:
            MirakoError: A subclass names the failure; see ``mirako_async``.
        """
        response = await self._client._request("GET", _LIST_PATH, timeout=timeout)
        return _decode(response, "GET", decode_avatar_list)

    async def get(self, avatar_id: str, *, timeout: float | None = None) -> Avatar:
        """Fetch one avatar, with fresh presigned links to its theme assets.

        Args:
            avatar_id: The avatar's id.
            timeout: Seconds allowed for each attempt; the client's by default.

        Raises:
            ValueError: ``avatar_id`` is empty, ``.``, ``..`` or ``list``.
            NotFoundError: No avatar has this id.
            MirakoError: Another subclass names the failure.
        """
        response = await self._client._request("GET", avatar_path(avatar_id), timeout=timeout)
        return _decode(response, "GET", decode_avatar)

    async def delete(self, avatar_id: str, *, timeout: float | None = None) -> None:
        """Delete an avatar for good.

        A retried delete that ends in 404 returns normally, because the
        earlier attempt may have deleted the avatar before its response was
        lost. A 404 on the first attempt raises ``NotFoundError``.

        Args:
            avatar_id: The avatar's id.
            timeout: Seconds allowed for each attempt; the client's by default.

        Raises:
            ValueError: ``avatar_id`` is empty, ``.``, ``..`` or ``list``.
            NotFoundError: No avatar has this id.
            MirakoError: Another subclass names the failure.
        """
        await self._client._request("DELETE", avatar_path(avatar_id), timeout=timeout)

    async def _get_in_bulk(self, avatar_id: str, limiter: AdaptiveLimiter, *, timeout: float | None) -> Avatar:
        response = await self._client._request("GET", avatar_path(avatar_id), timeout=timeout, limiter=limiter)
        return _decode(response, "GET", decode_avatar)

    async def iter_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float | None = None,
    ) -> AsyncGenerator[tuple[str, Avatar | MirakoError], None]:
        """Fetch many avatars concurrently, yielding each as it completes.

        Every id is checked before any request is sent. Each id yields
        exactly once: ``(avatar_id, Avatar)``, or ``(avatar_id, error)``
        when that call failed with a ``MirakoError``. Any other exception
        cancels the calls still running and propagates. Concurrency drops
        when the server returns 429 and recovers as calls succeed.

        Args:
            avatar_ids: The ids, in any iterable; duplicates are fetched again.
            concurrency: Maximum number of requests in flight at once.
            timeout: Seconds allowed for each attempt; the client's by default.

        Raises:
            ValueError: An id is empty, ``.``, ``..`` or ``list``.
            TypeError: ``avatar_ids`` is a single string.
        """
        ids = check_bulk_arguments(avatar_ids, concurrency, timeout)

        fetch = functools.partial(self._get_in_bulk, timeout=timeout)
        async with contextlib.aclosing(run_bulk(ids, fetch, concurrency=min(concurrency, len(ids) or 1))) as outcomes:
            async for outcome in outcomes:
                yield outcome.item, outcome.value

    async def get_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> builtins.list[Avatar | MirakoError]:
        """Fetch many avatars concurrently.

        Args:
            avatar_ids: The ids, in any iterable; duplicates are fetched again.
            concurrency: Maximum number of requests in flight at once.
            on_progress: Called as ``on_progress(done, total)`` after each id.
            timeout: Seconds allowed for each attempt; the client's by default.

        Returns:
            One entry per input id, in input order: the ``Avatar``, or the
            ``MirakoError`` that call ended with.

        Raises:
            ValueError: An id is empty, ``.``, ``..`` or ``list``; nothing was sent.
            TypeError: ``avatar_ids`` is a single string.
        """
        ids = check_bulk_arguments(avatar_ids, concurrency, timeout)
        check_callback("on_progress", on_progress)

        fetch = functools.partial(self._get_in_bulk, timeout=timeout)
        return await _collect(ids, fetch, concurrency, on_progress)

    async def delete_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> builtins.list[MirakoError | None]:
        """Delete many avatars concurrently.

        Args:
            avatar_ids: The ids, in any iterable.
            concurrency: Maximum number of requests in flight at once.
            on_progress: Called as ``on_progress(done, total)`` after each id.
            timeout: Seconds allowed for each attempt; the client's by default.

        Returns:
            One entry per input id, in input order: ``None`` when the avatar
            was deleted, or the ``MirakoError`` that call ended with.

        Raises:
            ValueError: An id is empty, ``.``, ``..`` or ``list``; nothing was sent.
            TypeError: ``avatar_ids`` is a single string.
        """
        ids = check_bulk_arguments(avatar_ids, concurrency, timeout)
        check_callback("on_progress", on_progress)

        async def remove(avatar_id: str, limiter: AdaptiveLimiter) -> None:
            await self._client._request("DELETE", avatar_path(avatar_id), timeout=timeout, limiter=limiter)

        outcomes = await _collect(ids, remove, concurrency, on_progress)
        return [outcome if isinstance(outcome, MirakoError) else None for outcome in outcomes]

    async def download_assets(
        self,
        avatar: Avatar,
        directory: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Path]:
        """Download the key image and live video of every theme of an avatar.

        Files are streamed to disk in chunks through a temporary file that
        is renamed into place when complete, so a failed download leaves no
        partial file. Names are ``<avatar id>_<theme>_<kind><suffix>``,
        sanitised so that no name can leave ``directory``. Storage links are
        requested exactly as given and without the API key.

        Args:
            avatar: The avatar, recently fetched: its links expire.
            directory: Where to write; created if missing.
            on_progress: Called as ``on_progress(done, total)`` after each file.

        Returns:
            The paths written, in theme order, key image before live video.

        Raises:
            AssetExpiredError: Storage refused a link; fetch the avatar again.
            AssetDownloadError: A download failed otherwise, after retries.
        """
        check_callback("on_progress", on_progress)
        if not isinstance(avatar, Avatar):
            raise TypeError(f"avatar must be an Avatar, not {type(avatar).__name__}; fetch it with get().")
        target = Path(os.fspath(directory))
        jobs = asset_jobs(avatar, target)
        if not jobs:
            return []
        target.mkdir(parents=True, exist_ok=True)
        session = await self._client._transport.asset_session()
        slots = asyncio.Semaphore(MAX_PARALLEL_DOWNLOADS)
        done = 0

        async def fetch(job: AssetJob) -> Path:
            nonlocal done
            async with slots:
                path = await download_asset(
                    session,
                    job,
                    proxies=self._client._transport.proxies,
                    policy=self._client.retry,
                    read_timeout=self._client.timeout,
                    connect_timeout=self._client._options.connect_timeout,
                )
            done += 1
            if on_progress is not None:
                on_progress(done, len(jobs))
            return path

        # gather, unlike a TaskGroup, raises the first failure itself rather
        # than an ExceptionGroup, so callers can catch AssetExpiredError.
        tasks = [asyncio.ensure_future(fetch(job)) for job in jobs]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def wait_until_ready(
        self,
        avatar_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
    ) -> Avatar:
        """Poll an avatar until its build is ready.

        The wait between polls starts at ``poll_interval`` and grows by half
        each time, up to 30 s (or ``poll_interval`` if larger). Cancelling
        the call stops the polling at once.

        Args:
            avatar_id: The avatar's id.
            timeout: Seconds to wait in all.
            poll_interval: Seconds before the second poll.

        Returns:
            The avatar, with status ``READY``.

        Raises:
            AvatarBuildError: The build ended in ``ERROR``.
            WaitTimeoutError: The avatar was not ready within ``timeout``.
            MirakoError: A poll failed, after the client's retries.
        """
        avatar_path(avatar_id)
        limit = check_seconds("timeout", timeout)
        interval = check_seconds("poll_interval", poll_interval)
        max_interval = max(interval, 30.0)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + limit
        avatar: Avatar | None = None

        while True:
            try:
                async with asyncio.timeout_at(give_up_at):
                    avatar = await self.get(avatar_id)
            except TimeoutError:
                break
            if avatar.status == AvatarStatus.READY:
                return avatar
            if avatar.status == AvatarStatus.ERROR:
                raise AvatarBuildError(
                    f"The build of avatar {avatar_id} failed (status ERROR). Build it again from a new image.",
                    avatar=avatar,
                )
            remaining = give_up_at - loop.time()
            if remaining <= 0:
                break
            logger.debug("Avatar %s is %s; polling again in %.1f s", avatar_id, avatar.status, min(interval, remaining))
            await asyncio.sleep(min(interval, remaining))
            interval = min(max_interval, interval * 1.5)

        status = f"still {avatar.status}" if avatar is not None else "not fetched"
        raise WaitTimeoutError(
            f"Avatar {avatar_id} was not ready within {limit:g} s ({status}). Wait longer with a larger timeout.",
            avatar=avatar,
            timeout=limit,
        )


async def _collect(
    ids: list[str],
    call: Callable[[str, AdaptiveLimiter], Awaitable[T]],
    concurrency: int,
    on_progress: ProgressCallback | None,
) -> list[T | MirakoError]:
    """Run a bulk call and put each outcome at its input position."""
    results: list[T | MirakoError | None] = [None] * len(ids)
    done = 0
    async with contextlib.aclosing(run_bulk(ids, call, concurrency=min(concurrency, len(ids) or 1))) as outcomes:
        async for outcome in outcomes:
            results[outcome.index] = outcome.value
            done += 1
            if on_progress is not None:
                on_progress(done, len(ids))
    return results  # type: ignore[return-value]
