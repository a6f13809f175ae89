"""The asynchronous client: configuration, the request loop with retries, and resources."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from types import TracebackType
from typing import Final, Self

import aiohttp
from attrs import evolve, frozen
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._bulk import AdaptiveLimiter
from ._config import MaskedHeaderValue, Secret, resolve_api_key, resolve_base_url
from ._error_mapping import exception_for_response
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    RedirectError,
    ResponseValidationError,
)
from ._logging import configure_from_environment, logger
from ._retry import RetryPolicy, parse_retry_after
from ._transport import ClientClosedError, Transport
from ._validation import check_optional_seconds, check_positive, check_seconds

__all__ = ["AsyncMirako", "Response"]

DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_MAX_CONNECTIONS: Final = 100
MAX_REDIRECTS: Final = 5
# Retries after a 429 or 503 that a bulk call makes on top of the policy's
# budget, because its limiter already slows down to what the server allows.
MAX_FREE_OVERLOAD_RETRIES: Final = 10
# Far above any real avatar list (10,000 avatars take about 6 MiB), but a
# bound on what a broken or hostile server can make the client hold.
MAX_BODY_BYTES: Final = 64 * 1024 * 1024


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()


@frozen
class _Options:
    """Per-client settings that ``with_options`` may change."""

    timeout: float
    connect_timeout: float
    deadline: float | None
    retry: RetryPolicy


@frozen
class Response:
    """A response read whole, its connection already released."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: URL
    attempts: int


class _AttemptFailed(Exception):
    """One attempt got no usable response, and ``error`` is the reason.

    Whether to retry follows from the type of ``error``: connection errors
    and timeouts are retried, redirect and validation errors are not.
    """

    def __init__(self, error: APIError) -> None:
        super().__init__(str(error))
        self.error = error


def _retry_policy(max_retries: int | None, retry: RetryPolicy | None, base: RetryPolicy) -> RetryPolicy:
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise TypeError(f"retry must be a RetryPolicy, not {type(retry).__name__}.")
    policy = retry if retry is not None else base
    if max_retries is not None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int of 0 or more, got {max_retries!r}.")
        policy = evolve(policy, max_retries=max_retries)
    return policy


class AsyncMirako:
    """Asynchronous client for the Mirako API.

    Create it inside or outside a running loop; its aiohttp session is made
    on the loop of the first call. Use it as an async context manager, or
    call ``await client.close()`` when done.

    Args:
        api_key: The API key. Falls back to ``MIRAKO_API_KEY``, then
            ``MIRAKO_API_TOKEN``.
        base_url: The API's URL. Falls back to ``MIRAKO_BASE_URL``, then
            ``MIRAKO_API_URL``, then ``https://mirako.co``.
        timeout: Seconds allowed for each attempt, reading the body included.
        connect_timeout: Seconds allowed to open a connection.
        deadline: Seconds allowed for a whole call across all attempts and
            waits, or ``None`` for no bound beyond the retry policy.
        max_retries: Shortcut that overrides ``retry.max_retries``.
        retry: The retry policy; ``RetryPolicy()`` by default.
        max_connections: Most single calls in flight at once. Bulk calls
            bring their own bound.
        trust_env: Honour ``HTTPS_PROXY``, ``NO_PROXY`` and ``.netrc``
            from the environment, as ``requests`` does.
        allow_insecure: Allow a plain ``http://`` base URL on a host that is
            not loopback.

    Raises:
        MissingAPIKeyError: No key was passed and none is in the environment.
        ValueError: An argument is out of range, or the key or URL is invalid.
        TypeError: An argument has the wrong type.
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
        configure_from_environment()
        # Keep the plain key out of the locals of this frame, which error
        # trackers capture with a traceback, on success and on error alike.
        try:
            secret = resolve_api_key(api_key)
        except (TypeError, ValueError) as exc:
            api_key = None
            raise exc.with_traceback(None) from None
        del api_key
        self._base_url = resolve_base_url(base_url, allow_insecure=allow_insecure)
        self._options = _Options(
            timeout=check_seconds("timeout", timeout),
            connect_timeout=check_seconds("connect_timeout", connect_timeout),
            deadline=check_optional_seconds("deadline", deadline),
            retry=_retry_policy(max_retries, retry, RetryPolicy()),
        )
        self._transport = Transport(
            authorization=MaskedHeaderValue(f"Bearer {secret.reveal()}"),
            max_connections=check_positive("max_connections", max_connections),
            trust_env=bool(trust_env),
        )
        self._random = random.Random()
        self._init_resources()

    def _init_resources(self) -> None:
        from ._resources import AsyncAvatars

        self.avatars: AsyncAvatars = AsyncAvatars(self)

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._base_url)

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._options.retry

    @property
    def timeout(self) -> float:
        """Seconds allowed for each attempt."""
        return self._options.timeout

    @property
    def deadline(self) -> float | None:
        """Seconds allowed for a whole call, or ``None``."""
        return self._options.deadline

    @property
    def closed(self) -> bool:
        """Whether the client (or a copy sharing its pool) was closed."""
        return self._transport.closed

    def __repr__(self) -> str:
        base_url = getattr(self, "_base_url", None)  # None while __init__ runs.
        return f"<{type(self).__name__} base_url={str(base_url) if base_url else None!r}>"

    def __reduce__(self) -> str:
        raise TypeError(
            "An AsyncMirako client cannot be pickled or copied: it holds the API key and open "
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
        """Return a copy with other settings that shares this client's connection pool.

        Closing either client closes the pool of both.
        """
        options = self._options
        if timeout is not None:
            options = evolve(options, timeout=check_seconds("timeout", timeout))
        if not isinstance(deadline, _Unset):
            options = evolve(options, deadline=check_optional_seconds("deadline", deadline))
        options = evolve(options, retry=_retry_policy(max_retries, retry, options.retry))

        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._options = options
        clone._init_resources()
        return clone

    async def close(self) -> None:
        """Close the connection pool. Calling it again does nothing."""
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        limiter: AdaptiveLimiter | None = None,
    ) -> Response:
        """Send a request with the client's retry policy and return the whole response.

        ``path`` must be already percent-encoded. This is the one place that
        sends API requests; resources build on it. A bulk call passes its
        ``limiter``, which bounds its attempts and adapts to each response;
        single calls share the client's ``max_connections`` bound instead.

        Raises:
            APIStatusError: The final response was not 2xx (a retried DELETE
                that ends in 404 counts as success).
            APIConnectionError: No usable response arrived.
            APITimeoutError: An attempt or the deadline ran out.
            RedirectError: The API redirected to another origin.
        """
        with self._transport.track_call() as closed_during_call:
            try:
                return await self._send_with_retries(method, path, timeout=timeout, limiter=limiter)
            except asyncio.CancelledError:
                if closed_during_call():
                    raise ClientClosedError(f"The client was closed while {method} {path} was running.") from None
                raise

    async def _send_with_retries(
        self, method: str, path: str, *, timeout: float | None, limiter: AdaptiveLimiter | None
    ) -> Response:
        attempt_timeout = check_optional_seconds("timeout", timeout) or self._options.timeout
        policy = self._options.retry
        url = URL(str(self._base_url) + path, encoded=True)
        loop = asyncio.get_running_loop()
        deadline_at = None if self._options.deadline is None else loop.time() + self._options.deadline

        attempts = 0
        free_retries = 0
        while True:
            attempts += 1
            error, retry_after = await self._attempt_or_error(
                method, url, path, attempt_timeout, deadline_at, attempts, limiter
            )
            if limiter is not None:
                # A wait above max_retry_after fails this id at once; the
                # rest of the bulk call pauses no longer than that maximum.
                pause = None if retry_after is None else min(retry_after, policy.max_retry_after)
                await limiter.observe(_status_of(error), pause)
            if isinstance(error, Response):
                return error
            if isinstance(error, APIStatusError) and error.status_code == 404 and method == "DELETE" and attempts > 1:
                # An earlier attempt may have deleted the avatar before its
                # response was lost, so this 404 is the expected outcome.
                logger.info("%s %s returned 404 on attempt %d; treating the avatar as deleted", method, path, attempts)
                headers = CIMultiDictProxy(CIMultiDict(error.headers))
                return Response(status=204, headers=headers, body=b"", url=url, attempts=attempts)

            error.attempts = attempts
            # In a bulk call the limiter slows every request down after a 429
            # or 503, so those retries do not use up the policy's budget.
            free = limiter is not None and _is_overload(error) and free_retries < MAX_FREE_OVERLOAD_RETRIES
            free_retries += free
            wait = self._next_wait(error, retry_after, attempts - 1 - free_retries, policy, free=free)
            if wait is None:
                raise error
            if deadline_at is not None and loop.time() + wait >= deadline_at:
                logger.info("Not retrying %s %s: waiting %.2f s would pass the deadline", method, path, wait)
                raise error

            logger.info(
                "Retrying %s %s after %s; waiting %.2f s (attempt %d, up to %d retries)",
                method,
                path,
                _describe(error),
                wait,
                attempts,
                policy.max_retries,
            )
            await asyncio.sleep(wait)

    def _next_wait(
        self, error: APIError, retry_after: float | None, retries_used: int, policy: RetryPolicy, *, free: bool
    ) -> float | None:
        """Return the seconds to wait before the next attempt, or ``None`` to give up.

        ``retries_used`` counts the retries charged to the policy so far;
        a ``free`` retry is not charged.
        """
        if not free and retries_used >= policy.max_retries:
            return None
        if isinstance(error, APIStatusError):
            if not policy.is_retryable_status(error.status_code):
                return None
            if retry_after is not None and policy.honours_retry_after(error.status_code):
                return None if retry_after > policy.max_retry_after else retry_after
        elif not isinstance(error, APIConnectionError):
            return None
        return policy.backoff(max(0, retries_used), self._random.random())

    async def _attempt_or_error(
        self,
        method: str,
        url: URL,
        path: str,
        attempt_timeout: float,
        deadline_at: float | None,
        attempts: int,
        limiter: AdaptiveLimiter | None,
    ) -> tuple[Response | APIError, float | None]:
        """Make one attempt; return the response, or the error and its ``Retry-After``."""
        scope = asyncio.timeout_at(deadline_at) if deadline_at is not None else contextlib.nullcontext()
        started = time.perf_counter()
        try:
            async with scope:
                slot = self._transport.slots() if limiter is None else limiter.slot()
                async with slot:
                    response = await self._attempt(method, url, attempt_timeout, attempts)
        except _AttemptFailed as failed:
            logger.debug("%s %s failed on attempt %d: %s", method, path, attempts, _describe(failed.error))
            return failed.error, None
        except TimeoutError:
            message = f"{method} {path} did not finish within the deadline of {self._options.deadline:g} s"
            raise APITimeoutError(
                f"{message} ({attempts} attempts).", method=method, url=str(url), attempts=attempts
            ) from None

        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug("%s %s -> %d in %.1f ms (attempt %d)", method, path, response.status, elapsed_ms, attempts)
        if 200 <= response.status < 300:
            return response, None

        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        error = exception_for_response(
            method=method,
            url=str(response.url),
            path=path,
            status=response.status,
            headers=response.headers,
            body=response.body,
            retry_after=retry_after,
            attempts=attempts,
        )
        return error, retry_after

    async def _attempt(self, method: str, url: URL, attempt_timeout: float, attempts: int) -> Response:
        """Send one attempt, following same-origin redirects, and read the whole body."""
        session = await self._transport.api_session()
        timeout = aiohttp.ClientTimeout(total=attempt_timeout, connect=self._options.connect_timeout)
        target = url
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send_once(session, method, target, timeout, attempts)
            if response.status not in (301, 302, 303, 307, 308):
                return response
            target = self._redirect_target(method, target, response, attempts)
        raise _AttemptFailed(
            RedirectError(
                f"{method} {url.path} was redirected more than {MAX_REDIRECTS} times.",
                method=method,
                url=str(url),
                status_code=response.status,
                location=response.headers.get("Location"),
                attempts=attempts,
            )
        )

    def _redirect_target(self, method: str, current: URL, response: Response, attempts: int) -> URL:
        """Return where a same-origin redirect points; refuse any other."""
        location = response.headers.get("Location")
        target = _same_origin_target(current, location, self._base_url)
        if target is None:
            shown = location[:200] if location else "no Location header"
            raise _AttemptFailed(
                RedirectError(
                    f"{method} {current.path} was redirected with {response.status} to {shown}, which is "
                    f"not on {self._base_url.origin()}. The client only follows redirects on the API's own "
                    "origin, so that the API key never reaches another host. Check the base URL.",
                    method=method,
                    url=str(current),
                    status_code=response.status,
                    location=location,
                    attempts=attempts,
                )
            )
        logger.debug("%s %s redirected with %d to %s", method, current.path, response.status, target.path)
        return target

    async def _send_once(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        timeout: aiohttp.ClientTimeout,
        attempts: int,
    ) -> Response:
        try:
            proxy, proxy_headers = self._transport.proxies.for_url(url)
            headers: dict[str, str] = {"Authorization": self._transport.authorization}
            if proxy_headers and url.scheme == "http":
                headers.update(proxy_headers)  # A plain-HTTP proxy reads them from the request itself.
            async with session.request(
                method,
                url,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
            ) as resp:
                try:
                    body = await _read_body(resp)
                except _BodyTooLarge:
                    raise _AttemptFailed(
                        ResponseValidationError(
                            f"{method} {url.path} returned a body larger than {MAX_BODY_BYTES // 2**20} MiB "
                            f"with status {resp.status}; the client stopped reading it.",
                            method=method,
                            url=str(url),
                            status_code=resp.status,
                            attempts=attempts,
                        )
                    ) from None
                # resp.headers is already a read-only view that outlives the response.
                return Response(status=resp.status, headers=resp.headers, body=body, url=url, attempts=attempts)
        except TimeoutError as exc:
            raise _AttemptFailed(
                APITimeoutError(
                    f"{method} {url.path} timed out after {timeout.total:g} s. The server or the network "
                    "is slow; try again, or raise timeout=.",
                    method=method,
                    url=str(url),
                    attempts=attempts,
                )
            ) from exc
        except aiohttp.ClientHttpProxyError as exc:
            raise _AttemptFailed(
                APIConnectionError(
                    f"{method} {url.path} failed: the proxy rejected the connection to {url.host} "
                    f"({exc.status} {exc.message}). Check HTTPS_PROXY and NO_PROXY, or pass trust_env=False.",
                    method=method,
                    url=str(url),
                    attempts=attempts,
                )
            ) from exc
        except aiohttp.ClientResponseError as exc:
            # Raised for responses aiohttp could not parse, such as oversized
            # headers or bytes after a 204. No server sent this status.
            raise _AttemptFailed(
                APIConnectionError(
                    f"{method} {url.path} got a malformed HTTP response from {url.host}: {exc.message}.",
                    method=method,
                    url=str(url),
                    attempts=attempts,
                )
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _AttemptFailed(
                APIConnectionError(
                    f"{method} {url.path} failed before a full response arrived from {url.host} "
                    f"({type(exc).__name__}: {exc}). Check the network and the base URL.",
                    method=method,
                    url=str(url),
                    attempts=attempts,
                )
            ) from exc


class _BodyTooLarge(Exception):
    pass


async def _read_body(resp: aiohttp.ClientResponse) -> bytes:
    """Read a whole response body, refusing one above ``MAX_BODY_BYTES``."""
    if resp.content_length is not None and resp.content_length <= MAX_BODY_BYTES:
        return await resp.read()
    if resp.content_length is not None:
        raise _BodyTooLarge
    chunks = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _same_origin_target(current: URL, location: str | None, base_url: URL) -> URL | None:
    """Resolve a redirect's ``Location``; return ``None`` unless it stays on ``base_url``'s origin.

    A target with credentials in it is refused too: they would clash with
    the API key's ``Authorization`` header.
    """
    if not location:
        return None
    try:
        target = current.join(URL(location, encoded=True))
        same_origin = target.absolute and target.origin() == base_url.origin()
    except ValueError:
        return None
    if not same_origin or target.user is not None or target.password is not None:
        return None
    return target


def _is_overload(error: APIError) -> bool:
    return isinstance(error, APIStatusError) and error.status_code in (429, 503)


def _status_of(outcome: Response | APIError) -> int | None:
    if isinstance(outcome, Response):
        return outcome.status
    if isinstance(outcome, APIStatusError):
        return outcome.status_code
    return None


def _describe(error: APIError) -> str:
    if isinstance(error, APIStatusError):
        return f"status {error.status_code}"
    return type(error).__name__
