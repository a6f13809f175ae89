"""Request counters of a running emulator, for assertions in tests."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["EmulatorStats", "RecordedRequest"]

# Bounds on the request logs, so that a long benchmark does not grow the
# emulator's memory without limit. The oldest entries are dropped first.
RECENT_LIMIT: Final = 1_000
STORAGE_LOG_LIMIT: Final = 100_000


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it.

    Attributes:
        method: HTTP method.
        target: Raw request target, that is the path and query exactly as
            sent, with percent escapes left as they were.
        headers: Request headers, looked up case-insensitively.
        route: ``list``, ``get``, ``delete`` or ``other`` on the API port,
            ``storage`` on the storage port.
    """

    method: str
    target: str
    headers: CIMultiDictProxy[str]
    route: str

    @property
    def path(self) -> str:
        """The raw path of ``target``, without the query."""
        return self.target.partition("?")[0]


class EmulatorStats:
    """Counters and request logs of one emulator.

    Every property returns a snapshot and is safe to read from any thread.
    Counts on the API port leave out the control endpoint.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset_locked()

    def _reset_locked(self) -> None:
        self._requests = 0
        self._by_route: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._connections = 0
        self._storage_connections = 0
        self._storage_requests = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._recent: deque[RecordedRequest] = deque(maxlen=RECENT_LIMIT)
        self._storage_log: deque[RecordedRequest] = deque(maxlen=STORAGE_LOG_LIMIT)

    def reset(self) -> None:
        """Set every counter to zero and empty the request logs.

        Requests in flight stay counted in ``in_flight`` until they finish,
        and ``max_in_flight`` restarts from that number.
        """
        with self._lock:
            in_flight = self._in_flight
            self._reset_locked()
            self._in_flight = in_flight
            self._max_in_flight = in_flight

    @property
    def requests(self) -> int:
        """Total requests on the API port."""
        with self._lock:
            return self._requests

    @property
    def by_route(self) -> dict[str, int]:
        """API requests per route: ``list``, ``get``, ``delete`` and ``other``."""
        with self._lock:
            return {route: self._by_route[route] for route in ("list", "get", "delete", "other")}

    @property
    def statuses(self) -> dict[int, int]:
        """Number of API responses sent per status code, faults included."""
        with self._lock:
            return dict(self._statuses)

    @property
    def throttled(self) -> int:
        """Number of 429 responses sent on the API port, from the rate limit or faults."""
        with self._lock:
            return self._statuses[429]

    @property
    def connections(self) -> int:
        """TCP connections accepted on the API port."""
        with self._lock:
            return self._connections

    @property
    def storage_connections(self) -> int:
        """TCP connections accepted on the storage port."""
        with self._lock:
            return self._storage_connections

    @property
    def storage_requests(self) -> int:
        """Total requests on the storage port."""
        with self._lock:
            return self._storage_requests

    @property
    def in_flight(self) -> int:
        """API requests being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Maximum of ``in_flight`` since the start or the last reset."""
        with self._lock:
            return self._max_in_flight

    @property
    def recent(self) -> list[RecordedRequest]:
        """The latest API requests, oldest first, at most 1,000."""
        with self._lock:
            return list(self._recent)

    @property
    def storage_log(self) -> list[RecordedRequest]:
        """Every storage request, oldest first, at most the latest 100,000."""
        with self._lock:
            return list(self._storage_log)

    def as_dict(self) -> dict[str, object]:
        """Return the counters (not the logs) as JSON-ready data."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_route": {route: self._by_route[route] for route in ("list", "get", "delete", "other")},
                "statuses": {str(code): count for code, count in sorted(self._statuses.items())},
                "throttled": self._statuses[429],
                "connections": self._connections,
                "storage_connections": self._storage_connections,
                "storage_requests": self._storage_requests,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }

    # Recording, called by the servers.

    def record_connection(self, *, storage: bool) -> None:
        """Count one accepted TCP connection."""
        with self._lock:
            if storage:
                self._storage_connections += 1
            else:
                self._connections += 1

    @contextmanager
    def track_api_request(self, method: str, target: str, headers: CIMultiDictProxy[str], route: str) -> Iterator[None]:
        """Count an API request and keep it in flight while the block runs."""
        record = RecordedRequest(method, target, CIMultiDictProxy(CIMultiDict(headers)), route)
        with self._lock:
            self._requests += 1
            self._by_route[route] += 1
            self._recent.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def record_api_status(self, status: int) -> None:
        """Count one API response by status code."""
        with self._lock:
            self._statuses[status] += 1

    def record_storage_request(self, method: str, target: str, headers: CIMultiDictProxy[str]) -> None:
        """Count and log one storage request."""
        record = RecordedRequest(method, target, CIMultiDictProxy(CIMultiDict(headers)), "storage")
        with self._lock:
            self._storage_requests += 1
            self._storage_log.append(record)
