"""Shared constants and helpers of the security tests: the key, client runners and leak checks."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal

from mirako_async import AsyncMirako, Mirako, RetryPolicy

__all__ = [
    "API_KEY",
    "FUZZ_EXAMPLES",
    "SYNC_FUZZ_EXAMPLES",
    "CallHung",
    "Flavor",
    "assert_exception_hides_key",
    "assert_records_hide_key",
    "avatar_document",
    "fast_retry",
    "resources_released",
]

# A key that no real account has, distinctive enough that a substring search
# cannot match by accident.
API_KEY: Final = "mk-test-0d2c7f4e9a1b4c3d8e6f5a7b9c1d3e5f"


def _read_example_count(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number of examples, got {text!r}.") from None
    if count < 1:
        raise ValueError(f"{variable} must be at least 1, got {count}.")
    return count


# Read at import time, because an autouse fixture removes every MIRAKO_*
# variable before each test runs.
FUZZ_EXAMPLES: Final = _read_example_count("MIRAKO_FUZZ_EXAMPLES", 200)
# The blocking client starts a loop thread per client, so it gets fewer examples.
SYNC_FUZZ_EXAMPLES: Final = max(20, FUZZ_EXAMPLES // 4)

_TESTS_DIRECTORY: Final = str(Path(__file__).resolve().parent.parent)
# Seconds a client call may take before the test stops it and fails. Every
# call in these tests sets short timeouts, so only a hang comes near this.
DEFAULT_TIME_LIMIT: Final = 20.0
_CLOSE_TIMEOUT: Final = 10.0


def fast_retry(max_retries: int = 1) -> RetryPolicy:
    """Build a retry policy with millisecond waits, so that retried calls stay fast."""
    return RetryPolicy(max_retries=max_retries, initial_backoff=0.001, max_backoff=0.002, max_retry_after=0.01)


def avatar_document(avatar_id: str = "av-1", **fields: object) -> dict[str, object]:
    """Build a valid avatar as the API sends it, with ``fields`` replacing the defaults."""
    document: dict[str, object] = {
        "id": avatar_id,
        "user_id": "user-1",
        "name": "Ada",
        "status": "READY",
        "created_at": "2024-05-01T12:30:00Z",
        "supported_interactive_models": ["metis-2.5"],
        "themes": [{"name": "default"}],
    }
    document.update(fields)
    return document


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """List ``exc`` and every exception reachable through ``__cause__`` and ``__context__``."""
    seen: list[BaseException] = []
    pending = [exc]
    while pending:
        current = pending.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend(link for link in (current.__cause__, current.__context__) if link is not None)
    return seen


def _frame_locals_outside_tests(exc: BaseException) -> list[str]:
    """Return ``name=repr`` for each local of every frame that is not test code, as error trackers capture them."""
    entries: list[str] = []
    for link in _exception_chain(exc):
        summary = traceback.TracebackException(type(link), link, link.__traceback__, capture_locals=True)
        for frame in summary.stack:
            # Test frames hold the key on purpose, for example in client arguments.
            if frame.filename.startswith(_TESTS_DIRECTORY) or not frame.locals:
                continue
            entries.extend(f"{frame.filename}:{frame.lineno} {name}={value}" for name, value in frame.locals.items())
    return entries


def assert_exception_hides_key(exc: BaseException, key: str = API_KEY) -> None:
    """Fail when the key shows in the message, repr, attributes or traceback of ``exc`` or its chain."""
    for link in _exception_chain(exc):
        assert key not in str(link), f"str() of {type(link).__name__} contains the key"
        assert key not in repr(link), f"repr() of {type(link).__name__} contains the key"
        assert key not in repr(link.args), f"args of {type(link).__name__} contain the key"
        attributes = getattr(link, "__dict__", {})
        assert key not in repr(attributes), f"attributes of {type(link).__name__} contain the key"

    formatted = "".join(traceback.format_exception(exc))
    assert key not in formatted, "traceback.format_exception() output contains the key"

    leaking = [line for line in _frame_locals_outside_tests(exc) if key in line]
    assert not leaking, f"frame locals contain the key: {leaking[:3]}"


def assert_records_hide_key(records: list[logging.LogRecord], key: str = API_KEY) -> None:
    """Fail when any log record carries the key in its message, arguments, extras or exception."""
    for record in records:
        where = f"log record {record.name}:{record.levelname} {record.msg!r}"
        assert key not in record.getMessage(), f"{where} has the key in its message"
        assert key not in repr(record.__dict__), f"{where} has the key in its fields"
        if record.exc_info and record.exc_info[1] is not None:
            assert_exception_hides_key(record.exc_info[1], key)


class _RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def resources_released() -> Iterator[None]:
    """Fail when the block leaves an unclosed session, socket or transport behind.

    Every warning is recorded instead of raised, and a garbage collection at
    the end runs the finalizers that report unclosed resources. asyncio's
    default exception handler logs "Unclosed client session" and similar
    errors on the ``asyncio`` logger, so those records count as well.
    """
    handler = _RecordingHandler()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            # Checked whether or not the block raised: an expected SDK error
            # must not leave a connection behind either.
            gc.collect()
            asyncio_logger.removeHandler(handler)
            messages = [f"{warning.category.__name__}: {warning.message}" for warning in caught]
            assert not messages, f"warnings were emitted: {messages}"
            logged = [record.getMessage() for record in handler.records]
            assert not logged, f"asyncio logged errors: {logged}"


class CallHung(AssertionError):
    """A client call ran past the time limit of the test, so the test stopped it."""


class Flavor:
    """Run an ``avatars`` method on a fresh asynchronous or blocking client, then close the client.

    Both clients must behave alike, so each test that takes the ``flavor``
    fixture runs once per client.
    """

    def __init__(self, name: Literal["async", "sync"]) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Flavor({self.name!r})"

    def call(
        self,
        client: Mapping[str, Any],
        method: str,
        *args: Any,
        time_limit: float = DEFAULT_TIME_LIMIT,
        **kwargs: Any,
    ) -> Any:
        """Create a client from ``client``, call ``client.avatars.<method>``, and return its result.

        ``iter_many`` is consumed into a list. The client is closed whatever
        the outcome, and the call fails the test if it leaves a resource
        open.

        Raises:
            CallHung: The call took longer than ``time_limit`` seconds; it
                was cancelled, so the test goes on.
        """
        with resources_released():
            if self.name == "async":
                return asyncio.run(self._call_async(client, method, args, kwargs, time_limit))
            return self._call_blocking(client, method, args, kwargs, time_limit)

    @staticmethod
    async def _call_async(
        client: Mapping[str, Any],
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        time_limit: float,
    ) -> Any:
        async with AsyncMirako(**client) as asynchronous:
            bound: Callable[..., Any] = getattr(asynchronous.avatars, method)
            limit = asyncio.timeout(time_limit)
            try:
                async with limit:
                    if method == "iter_many":
                        return [item async for item in bound(*args, **kwargs)]
                    return await bound(*args, **kwargs)
            except TimeoutError:
                if limit.expired():
                    raise CallHung(f"{method}() did not finish within {time_limit:g} s.") from None
                raise

    @staticmethod
    def _call_blocking(
        client: Mapping[str, Any],
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        time_limit: float,
    ) -> Any:
        # The call runs on a worker thread so that a hung call can be stopped:
        # closing the client cancels whatever still runs on its loop.
        blocking = Mirako(**client)
        results: list[Any] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                result = getattr(blocking.avatars, method)(*args, **kwargs)
                results.append(list(result) if method == "iter_many" else result)
            except BaseException as exc:  # Re-raised in the test's thread.
                errors.append(exc)

        worker = threading.Thread(target=run, name=f"blocking-{method}", daemon=True)
        worker.start()
        worker.join(time_limit)
        hung = worker.is_alive()
        blocking.close()
        worker.join(_CLOSE_TIMEOUT)
        if hung:
            raise CallHung(f"{method}() did not finish within {time_limit:g} s.")
        if errors:
            raise errors[0]
        return results[0]
