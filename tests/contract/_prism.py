"""Start Stoplight Prism on docs/openapi.yaml, and a reverse proxy that adds Prism's ``Prefer`` header.

Both listen on 127.0.0.1 only. Prism is the npm package pinned in the
repository's package.json, installed by ``npm ci`` into node_modules/.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Final, TextIO
from urllib.parse import quote, unquote

import aiohttp
from aiohttp import web
from attrs import frozen
from multidict import CIMultiDict
from yarl import URL

__all__ = [
    "HOST",
    "PRISM_BIN",
    "REPO_ROOT",
    "Exchange",
    "PreferProxy",
    "PrismServer",
    "PrismStartError",
    "missing_prism_reason",
]

HOST: Final = "127.0.0.1"
REPO_ROOT: Final = Path(__file__).resolve().parents[2]
PRISM_BIN: Final = REPO_ROOT / "node_modules" / ".bin" / "prism"
OPENAPI_PATH: Final = REPO_ROOT / "docs" / "openapi.yaml"

# Prism 5.14.2 started in about 1 s when this was written. The margin covers a slow or loaded machine.
STARTUP_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 5.0
_PROBE_TOKEN: Final = "contract-test-probe"
_LOG_TAIL_CHARS: Final = 3000

# Headers that describe one connection, not the message, so a proxy drops them (RFC 9110, section 7.6.1).
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# aiohttp sets these itself for the request it sends upstream.
_RECOMPUTED: Final = frozenset({"content-length", "host"})
# Status that the proxy returns when Prism sends no response.
_BAD_GATEWAY: Final = 502
_PREFER_PREFIX: Final = "/prefer/"


class PrismStartError(RuntimeError):
    """Prism exited or did not respond in time. The message ends with the last lines of its log."""


def missing_prism_reason() -> str | None:
    """Return why Prism cannot run here, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed: `node` is not on PATH."
    if not PRISM_BIN.exists():
        return f"Stoplight Prism is not installed: {PRISM_BIN.relative_to(REPO_ROOT)} is missing."
    return None


def _free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1.

    Another process may take the port before Prism binds it, so
    ``PrismServer.start`` retries with a new port when Prism exits early.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _read_tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(log {path} could not be read: {exc})"
    return text[-_LOG_TAIL_CHARS:]


class PrismServer:
    """A ``prism mock`` process serving docs/openapi.yaml on 127.0.0.1.

    Args:
        log_path: File that receives Prism's output.
        dynamic: Generate random schema-valid bodies (``--dynamic``) instead
            of returning the document's examples.
    """

    def __init__(self, log_path: Path, *, dynamic: bool = False) -> None:
        self.log_path = log_path
        self.dynamic = dynamic
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, such as ``http://127.0.0.1:43127``."""
        return f"http://{HOST}:{self.port}"

    def command(self, port: int) -> list[str]:
        """Return the command line that starts Prism on ``port``."""
        command = [
            str(PRISM_BIN),
            "mock",
            str(OPENAPI_PATH),
            "--host",
            HOST,
            "--port",
            str(port),
            # Answer 500 instead of sending a response that violates the
            # document, so that a wrong example fails the test that uses it.
            "--errors",
        ]
        if self.dynamic:
            command.append("--dynamic")
        return command

    def start(self, attempts: int = 3) -> None:
        """Start Prism and wait until it responds to HTTP requests.

        Raises:
            PrismStartError: Prism exited or did not respond within
                ``STARTUP_TIMEOUT`` seconds on each of ``attempts`` ports.
        """
        for attempt in range(1, attempts + 1):
            self.port = _free_port()
            self._log = self.log_path.open("a", encoding="utf-8")
            self._log.write(f"--- attempt {attempt}: {' '.join(self.command(self.port))}\n")
            self._log.flush()
            self._process = subprocess.Popen(
                self.command(self.port),
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # Its own process group, so that stop() reaches node's children too.
                start_new_session=True,
            )
            try:
                self._wait_until_ready()
            except PrismStartError:
                exited = self._process.poll() is not None
                self.stop()
                if exited and attempt < attempts:
                    continue  # Most likely the port was taken between probe and bind.
                raise
            return

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrismStartError(
                    f"Prism exited with code {self._process.returncode} before responding on {self.url}. "
                    f"Log {self.log_path}:\n{_read_tail(self.log_path)}"
                )
            if self._responds():
                return
            time.sleep(0.1)
        raise PrismStartError(
            f"Prism did not respond on {self.url} within {STARTUP_TIMEOUT:g} s. "
            f"Log {self.log_path}:\n{_read_tail(self.log_path)}"
        )

    def _responds(self) -> bool:
        """Return whether Prism sends any HTTP response to one request."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=1.0)
        try:
            connection.request("GET", "/v1/avatar/list", headers={"Authorization": f"Bearer {_PROBE_TOKEN}"})
            connection.getresponse().read()
        except OSError:
            return False
        finally:
            connection.close()
        return True

    def stop(self) -> None:
        """Stop Prism: SIGTERM to its process group, then SIGKILL after ``STOP_TIMEOUT`` seconds."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self) -> str:
        """Return the end of Prism's log, for failure messages."""
        return _read_tail(self.log_path)


@frozen
class Exchange:
    """One request that the proxy forwarded, with Prism's response."""

    method: str
    path: str
    accept: str | None
    prefer: str | None
    status: int
    content_type: str
    body: bytes
    violations: str | None


class PreferProxy:
    """Reverse proxy on 127.0.0.1 in front of Prism that records each exchange.

    The SDK has no per-request headers, so the proxy takes Prism's ``Prefer``
    header from a path prefix of the client's base URL:
    ``base_url("code=404")`` returns ``http://127.0.0.1:PORT/prefer/code%3D404``,
    and a request to ``<that>/v1/avatar/x`` reaches Prism as
    ``/v1/avatar/x`` with ``Prefer: code=404``. ``base_url()`` adds no header.

    Prism 5.14.2 honours ``Prefer: code=NNN`` only when the request's
    ``Accept`` admits a media type of that response, otherwise it responds
    with 200. The proxy passes the SDK's ``Accept`` through unchanged, so
    these tests also check that it admits ``application/problem+json``.

    The proxy runs on its own event loop in a daemon thread, so blocking and
    asynchronous clients can both use it.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = 0
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def base_url(self, prefer: str | None = None) -> str:
        """Return a base URL for the SDK that makes Prism respond as the ``prefer`` value requests."""
        root = f"http://{HOST}:{self.port}"
        if prefer is None:
            return root
        return root + _PREFER_PREFIX + quote(prefer, safe="")

    def last_exchange(self) -> Exchange:
        """Return the most recent exchange.

        Raises:
            AssertionError: No request reached the proxy yet.
        """
        with self._lock:
            assert self.exchanges, "No request has reached the proxy."
            return self.exchanges[-1]

    def start(self) -> None:
        """Start listening on a free port of 127.0.0.1."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="prefer-proxy", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start_server(), self._loop).result(STARTUP_TIMEOUT)

    def stop(self) -> None:
        """Stop the server, close the upstream session and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop_server(), loop).result(STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        loop.close()
        self._loop = self._thread = None

    async def _start_server(self) -> None:
        self._session = aiohttp.ClientSession(
            # Never route the forwarded request through a proxy from the environment.
            trust_env=False,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=30.0),
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        path = request.rel_url.raw_path
        prefer = None
        if path.startswith(_PREFER_PREFIX):
            encoded, _, rest = path[len(_PREFER_PREFIX) :].partition("/")
            prefer = unquote(encoded)
            path = "/" + rest

        headers = CIMultiDict(
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() not in _RECOMPUTED
        )
        accept = request.headers.get("Accept")
        if prefer is not None:
            headers["Prefer"] = prefer
        query = request.rel_url.raw_query_string
        target = URL(self.upstream + path + (f"?{query}" if query else ""), encoded=True)
        body = await request.read()

        response_headers: CIMultiDict[str] = CIMultiDict()
        try:
            async with self._session.request(
                request.method, target, headers=headers, data=body or None, allow_redirects=False
            ) as upstream:
                payload = await upstream.read()
                status = upstream.status
                violations = upstream.headers.get("sl-violations")
                response_headers.extend(
                    (name, value)
                    for name, value in upstream.headers.items()
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Recorded too, so that last_exchange() never returns an older exchange.
            status = _BAD_GATEWAY
            payload = f"The proxy got no response from Prism at {self.upstream}: {exc!r}".encode()
            violations = None
            response_headers["Content-Type"] = "text/plain; charset=utf-8"

        exchange = Exchange(
            method=request.method,
            path=path,
            accept=accept,
            prefer=prefer,
            status=status,
            content_type=response_headers.get("Content-Type", ""),
            body=payload,
            violations=violations,
        )
        with self._lock:
            self.exchanges.append(exchange)
        return web.Response(status=status, body=payload or None, headers=response_headers)
