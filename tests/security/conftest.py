"""Fixtures of the security tests: an isolated environment, a network guard, local servers and both clients.

Every test talks only to servers it starts on 127.0.0.1. The network guard
makes that a checked rule rather than a convention: a connection to any
other address, or a name lookup of anything but a loopback name, fails the
test, whatever the SDK does.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from ._raw_server import RawServer
from ._support import Flavor

_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "WS_PROXY",
    "WSS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUEST_METHOD",
)
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Remove every variable that could point the SDK or aiohttp elsewhere.

    ``MIRAKO_*`` could set a key or a base URL, the proxy variables could
    route traffic, and ``NETRC`` points at an empty file so that a
    developer's ``~/.netrc`` cannot add credentials to a request.
    """
    for name in list(os.environ):
        if name.upper().startswith("MIRAKO_") or name.upper() in _PROXY_VARIABLES:
            monkeypatch.delenv(name)
    netrc = tmp_path_factory.mktemp("netrc") / "netrc"
    netrc.write_text("")
    monkeypatch.setenv("NETRC", str(netrc))


class NetworkGuard:
    """Allow name lookups and connections for loopback only, and record any other attempt.

    Lookups of names under ``.invalid`` fail as the DNS would, because RFC
    6761 reserves that domain to never resolve, and no query is sent. They
    are not counted as violations: tests use such names to show that a
    request fails rather than leaks when no proxy carries it.
    """

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.invalid_lookups: list[str] = []

    def check_lookup(self, host: object) -> None:
        name = host.decode("idna") if isinstance(host, bytes) else host
        if name is None or (isinstance(name, str) and name.lower().rstrip(".") in _LOOPBACK_NAMES):
            return
        if isinstance(name, str) and name.lower().rstrip(".").endswith(".invalid"):
            self.invalid_lookups.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"{name} is under .invalid and never resolves")
        self.violations.append(f"name lookup of {name!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"the test network guard blocked a lookup of {name!r}")

    def check_address(self, address: object) -> None:
        if isinstance(address, str | bytes):
            return  # A Unix socket path.
        host = address[0] if isinstance(address, tuple) and address else address
        try:
            if ipaddress.ip_address(str(host).split("%")[0]).is_loopback:
                return
        except ValueError:
            pass
        self.violations.append(f"connection to {address!r}")
        raise OSError(errno.ENETUNREACH, f"the test network guard blocked a connection to {address!r}")


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Keep every test on loopback, and fail the test if anything tried to leave it."""
    guard = NetworkGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check_lookup(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        guard.check_address(address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        guard.check_address(address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield guard
    assert not guard.violations, f"traffic tried to leave 127.0.0.1: {guard.violations}"


@pytest.fixture(params=["async", "sync"])
def flavor(request: pytest.FixtureRequest) -> Flavor:
    """The client under test: ``AsyncMirako`` or the blocking ``Mirako``."""
    return Flavor(request.param)


@pytest.fixture
def api_server() -> Iterator[RawServer]:
    """A raw server on 127.0.0.1 that plays the API."""
    with RawServer() as server:
        yield server


@pytest.fixture
def other_server() -> Iterator[RawServer]:
    """A second raw server on another port: another origin, such as object storage or an attacker."""
    with RawServer() as server:
        yield server


@pytest.fixture
def proxy_server() -> Iterator[RawServer]:
    """A raw server on 127.0.0.1 that plays an HTTP proxy and responds to every request itself."""
    with RawServer() as server:
        yield server
