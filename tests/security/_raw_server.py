"""A raw TCP server on 127.0.0.1 that records request heads and writes whatever bytes a test supplies.

aiohttp's own server validates and normalises what it sends, so it cannot
produce the malformed responses the fuzz tests need, and it does not show
the exact request line a client wrote. This server reads each request head
up to the blank line, stores it byte for byte, and responds with the bytes of
a ``Reply``. It runs its own event loop on a daemon thread, so blocking and
asynchronous clients can both talk to it from the test's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

__all__ = [
    "RawRequest",
    "RawServer",
    "Reply",
    "Responder",
    "http_response",
    "json_response",
    "scripted",
    "summarize_bytes",
]

# Larger than any head the SDK sends, so that a request is never cut short.
MAX_HEAD_BYTES = 1024 * 1024
_STOP_TIMEOUT = 5.0
_SHOWN_BYTES = 120


def summarize_bytes(data: bytes) -> str:
    """Show the start of ``data`` and its length, so that a failing fuzz example prints briefly."""
    if len(data) <= _SHOWN_BYTES:
        return repr(bytes(data))
    return f"{bytes(data[:_SHOWN_BYTES])!r} + ... ({len(data)} bytes in all)"


@dataclass(frozen=True)
class RawRequest:
    """One request head as it arrived: the request line and header lines, without the blank line."""

    head: bytes

    @property
    def request_line(self) -> bytes:
        """The first line, such as ``b"GET /v1/avatar/list HTTP/1.1"``."""
        return self.head.split(b"\r\n", 1)[0]

    @property
    def method(self) -> str:
        """The method of the request line."""
        return self.request_line.split(b" ")[0].decode("latin-1")

    @property
    def target(self) -> str:
        """The request target of the request line, decoded as Latin-1 so that no byte is lost."""
        parts = self.request_line.split(b" ")
        return parts[1].decode("latin-1") if len(parts) > 1 else ""

    @property
    def header_lines(self) -> list[bytes]:
        """Every line after the request line."""
        return self.head.split(b"\r\n")[1:]

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The header fields as ``(name, value)`` pairs, in order, with names lowercased."""
        pairs = []
        for line in self.header_lines:
            name, _, value = line.partition(b":")
            pairs.append((name.decode("latin-1").strip().lower(), value.decode("latin-1").strip()))
        return pairs

    def header(self, name: str) -> str | None:
        """Return the first value of a header field, or ``None`` when the request has none."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


@dataclass(frozen=True, repr=False)
class Reply:
    """The bytes the server writes in response to one request head, and what it does next.

    Attributes:
        data: The bytes to write, sent as they are.
        keep_open: After writing, leave the connection open until the client
            closes it or the server stops, instead of closing it.
        serve_next: After writing, read another request head on the same
            connection, as a keep-alive server does.
    """

    data: bytes
    keep_open: bool = False
    serve_next: bool = False

    def __repr__(self) -> str:
        return f"Reply({summarize_bytes(self.data)}, keep_open={self.keep_open}, serve_next={self.serve_next})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Print through ``__repr__`` in Hypothesis reports, which would otherwise show every field in full."""
        printer.text(repr(self))


Responder = Callable[[RawRequest], Reply]


def http_response(
    status: int,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    reason: str = "Status",
    close: bool = True,
) -> bytes:
    """Build a well-formed HTTP/1.1 response with a correct ``Content-Length``."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    # UTF-8 so that a test can put any text in a header; aiohttp reads header bytes as UTF-8.
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def json_response(status: int, document: object, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """Build a well-formed response whose body is ``document`` as JSON."""
    content_type = "application/problem+json" if status >= 400 else "application/json"
    body = json.dumps(document).encode()
    return http_response(status, body, [("Content-Type", content_type), *headers])


def scripted(replies: Sequence[Reply]) -> Responder:
    """Build a responder that sends ``replies[n]`` for the n-th request, and the last reply for every later one."""
    if not replies:
        raise ValueError("scripted() needs at least one reply.")
    count = 0
    lock = threading.Lock()

    def respond(_request: RawRequest) -> Reply:
        nonlocal count
        with lock:
            index = min(count, len(replies) - 1)
            count += 1
        return replies[index]

    return respond


def _default_responder(_request: RawRequest) -> Reply:
    return Reply(http_response(404, b"not found"))


@dataclass(repr=False)
class RawServer:
    """A recording TCP server on 127.0.0.1 with an ephemeral port, used as a context manager.

    ``responder`` may be replaced at any time. ``requests`` and
    ``connections`` grow as clients talk to the server.
    """

    responder: Responder = _default_responder
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"RawServer({self.origin}, requests={len(self.requests)}, connections={self.connections})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Print through ``__repr__`` in Hypothesis reports, which would otherwise show every field in full."""
        printer.text(repr(self))

    @property
    def origin(self) -> str:
        """The server's origin, such as ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    def reply_with(self, data: bytes, *, keep_open: bool = False) -> None:
        """Respond to every request with the same bytes."""
        reply = Reply(data, keep_open=keep_open)
        self.responder = lambda _request: reply

    def start(self) -> None:
        """Start the loop thread and listen; return once the port is known."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
                )
            except BaseException as exc:  # Re-raised in the starting thread.
                failure.append(exc)
                started.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="raw-http-server", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            loop.close()
            raise failure[0]

    def stop(self) -> None:
        """Close the listener and every open connection, then stop the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        future.result(timeout=_STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("The raw server's loop thread did not stop.")
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            await self._serve_connection(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # The client went away or sent a head too large to record.
        finally:
            self._handlers.discard(task)
            writer.close()
            # Reset by the peer, or the server is stopping.
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request = RawRequest(head[:-4])
            self.requests.append(request)
            reply = self.responder(request)
            writer.write(reply.data)
            await writer.drain()
            if reply.keep_open:
                # Wait for the client to give up; a stopping server cancels this.
                while await reader.read(65536):
                    pass
                return
            if not reply.serve_next:
                return
