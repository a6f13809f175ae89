"""The checks the security tests rely on can fail: each one catches the fault it exists for."""

from __future__ import annotations

import asyncio
import logging
import socket

import aiohttp
import pytest

from ._support import API_KEY, assert_exception_hides_key, assert_records_hide_key, resources_released
from .conftest import NetworkGuard


def raise_from_outside_tests(key: str) -> None:
    """Raise from a frame whose file is not under tests/, with the key in a local, as an SDK frame could."""
    namespace: dict[str, object] = {}
    source = "def leak(key):\n    raise RuntimeError('failed')\n"
    exec(compile(source, "/nonexistent/sdk_like.py", "exec"), namespace)  # noqa: S102 - fixed source above
    namespace["leak"](key)  # type: ignore[operator]


def test_leak_check_finds_key_in_message() -> None:
    with pytest.raises(AssertionError, match="str"):
        assert_exception_hides_key(RuntimeError(f"bad key {API_KEY}"))


def test_leak_check_finds_key_in_cause() -> None:
    error = RuntimeError("outer")
    error.__cause__ = ValueError(API_KEY)

    with pytest.raises(AssertionError):
        assert_exception_hides_key(error)


def test_leak_check_finds_key_in_attribute() -> None:
    error = RuntimeError("outer")
    error.headers = {"Authorization": f"Bearer {API_KEY}"}  # type: ignore[attr-defined]

    with pytest.raises(AssertionError, match="attributes"):
        assert_exception_hides_key(error)


def test_leak_check_finds_key_in_frame_locals() -> None:
    with pytest.raises(RuntimeError) as info:
        raise_from_outside_tests(API_KEY)

    with pytest.raises(AssertionError, match="frame locals"):
        assert_exception_hides_key(info.value)


def test_log_check_finds_key_in_arguments() -> None:
    record = logging.LogRecord("mirako_async", logging.DEBUG, __file__, 1, "sending %s", (API_KEY,), None)

    with pytest.raises(AssertionError, match="message"):
        assert_records_hide_key([record])


def test_resource_check_finds_unclosed_session() -> None:
    async def open_session() -> None:
        aiohttp.ClientSession()  # Never closed.

    with pytest.raises(AssertionError, match="Unclosed client session"), resources_released():
        asyncio.run(open_session())


def test_network_guard_blocks_other_hosts() -> None:
    guard = NetworkGuard()

    # Pure checks: they raise before any lookup or connection is made.
    with pytest.raises(socket.gaierror):
        guard.check_lookup("mirako.co")
    with pytest.raises(OSError):
        guard.check_address(("192.0.2.1", 443))
    with pytest.raises(OSError):
        guard.check_address(("2001:db8::1", 443, 0, 0))

    assert len(guard.violations) == 3


def test_network_guard_allows_loopback_and_fails_invalid_names() -> None:
    guard = NetworkGuard()

    guard.check_lookup("localhost")
    guard.check_lookup(b"127.0.0.1")
    guard.check_address(("127.0.0.1", 80))
    guard.check_address(("::1", 80, 0, 0))
    with pytest.raises(socket.gaierror):
        guard.check_lookup("api.mirako.invalid")

    assert guard.violations == []
    assert guard.invalid_lookups == ["api.mirako.invalid"]
