"""The blocking client: each method runs the async client's coroutine on a private loop.

Nothing here sends a request or decodes a body. Every method hands the
matching ``AsyncMirako`` coroutine to a ``LoopThread`` and waits, so the two
clients cannot drift apart in behaviour; a test checks their signatures.
"""

from __future__ import annotations

import builtins
import os
import weakref
from collections.abc import Generator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from ._client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    UNSET,
    AsyncMirako,
    _Unset,
)
from ._config import Secret, resolve_api_key
from ._exceptions import MirakoError
from ._loop_thread import LoopThread
from ._models import Avatar
from ._resources import DEFAULT_CONCURRENCY, ProgressCallback
from ._retry import RetryPolicy
from ._validation import check_bulk_arguments

__all__ = ["Avatars", "Mirako"]


class Avatars:
    """List, fetch and delete avatars, blocking: ``client.avatars``."""

    def __init__(self, client: Mirako) -> None:
        self._runner = client._runner
        self._async = client._async.avatars

    def list(self, *, timeout: float | None = None) -> list[Avatar]:
        """List every avatar of the current user; see ``AsyncAvatars.list``."""
        return self._runner.run(self._async.list(timeout=timeout))

    def get(self, avatar_id: str, *, timeout: float | None = None) -> Avatar:
        """Fetch one avatar; see ``AsyncAvatars.get``."""
        return self._runner.run(self._async.get(avatar_id, timeout=timeout))

    def delete(self, avatar_id: str, *, timeout: float | None = None) -> None:
        """Delete an avatar for good; see ``AsyncAvatars.delete``."""
        return self._runner.run(self._async.delete(avatar_id, timeout=timeout))

    def iter_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float | None = None,
    ) -> Generator[tuple[str, Avatar | MirakoError], None, None]:
        """Fetch many avatars concurrently, yielding each as it completes; see ``AsyncAvatars.iter_many``.

        Arguments are checked when this is called, before anything is
        sent. Leaving the loop early cancels the calls still running.
        """
        ids = check_bulk_arguments(avatar_ids, concurrency, timeout)
        return self._runner.iterate(self._async.iter_many(ids, concurrency=concurrency, timeout=timeout))

    def get_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> builtins.list[Avatar | MirakoError]:
        """Fetch many avatars concurrently; see ``AsyncAvatars.get_many``."""
        return self._runner.run(
            self._async.get_many(avatar_ids, concurrency=concurrency, on_progress=on_progress, timeout=timeout)
        )

    def delete_many(
        self,
        avatar_ids: Iterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> builtins.list[MirakoError | None]:
        """Delete many avatars concurrently; see ``AsyncAvatars.delete_many``."""
        return self._runner.run(
            self._async.delete_many(avatar_ids, concurrency=concurrency, on_progress=on_progress, timeout=timeout)
        )

    def download_assets(
        self,
        avatar: Avatar,
        directory: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> builtins.list[Path]:
        """Download every theme asset of an avatar; see ``AsyncAvatars.download_assets``."""
        return self._runner.run(self._async.download_assets(avatar, directory, on_progress=on_progress))

    def wait_until_ready(self, avatar_id: str, *, timeout: float = 600.0, poll_interval: float = 2.0) -> Avatar:
        """Poll an avatar until its build is ready; see ``AsyncAvatars.wait_until_ready``."""
        return self._runner.run(self._async.wait_until_ready(avatar_id, timeout=timeout, poll_interval=poll_interval))


class Mirako:
    """Blocking client for the Mirako API, with the same arguments as ``AsyncMirako``.

    It runs the async client on one private event loop in a background
    thread, so it works from plain scripts, from code inside a running event
    loop (such as a Jupyter cell) and from many threads sharing one client.
    Close it with ``close()`` or a ``with`` block; a client that is never
    closed is closed at interpreter exit.
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        deadline: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        trust_env: bool = True,
        allow_insecure: bool = False,
    ) -> None:
        # Keep the plain key out of this frame's locals, as AsyncMirako does.
        try:
            secret = resolve_api_key(api_key)
        except (TypeError, ValueError) as exc:
            api_key = None
            raise exc.with_traceback(None) from None
        del api_key
        client = AsyncMirako(
            secret,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            deadline=deadline,
            max_retries=max_retries,
            retry=retry,
            max_connections=max_connections,
            trust_env=trust_env,
            allow_insecure=allow_insecure,
        )
        runner = LoopThread()
        self._setup(client, runner)
        # Closes the pool at interpreter exit or when the client is collected.
        weakref.finalize(self, _close, runner, client)

    def _setup(self, client: AsyncMirako, runner: LoopThread) -> None:
        self._async = client
        self._runner = runner
        self.avatars: Avatars = Avatars(self)

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._async.base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._async.retry

    @property
    def timeout(self) -> float:
        """Seconds allowed for each attempt."""
        return self._async.timeout

    @property
    def deadline(self) -> float | None:
        """Seconds allowed for a whole call, or ``None``."""
        return self._async.deadline

    @property
    def closed(self) -> bool:
        """Whether the client (or a copy sharing its pool) was closed."""
        return self._runner.closed

    def __repr__(self) -> str:
        client = getattr(self, "_async", None)  # None while __init__ runs.
        return f"<{type(self).__name__} base_url={client.base_url if client else None!r}>"

    def __reduce__(self) -> str:
        raise TypeError(
            "A Mirako client cannot be pickled or copied: it holds the API key and open "
            "connections. Create a client in each process, or use with_options() for a variant."
        )

    def with_options(
        self,
        *,
        timeout: float | None = None,
        deadline: float | _Unset | None = UNSET,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> Self:
        """Return a copy with other settings that shares this client's pool and loop.

        Closing either client closes the pool of both.
        """
        clone = object.__new__(type(self))
        clone._setup(
            self._async.with_options(timeout=timeout, deadline=deadline, max_retries=max_retries, retry=retry),
            self._runner,
        )
        return clone

    def close(self) -> None:
        """Close the connection pool and stop the loop thread. Calling it again does nothing."""
        _close(self._runner, self._async)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _close(runner: LoopThread, client: AsyncMirako) -> None:
    runner.close(client.close())
