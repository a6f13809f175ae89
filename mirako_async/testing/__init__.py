"""A local emulator of the Mirako API for tests and benchmarks.

``Emulator`` serves the avatar endpoints and a second server that plays
object storage for the presigned asset URLs, both on 127.0.0.1 only. It can
inject faults, limit the request rate, move avatars through build states on
a schedule and count requests and connections. Run it on the current event
loop, on a background thread (``Emulator.in_thread``) or as a subprocess
(``EmulatorProcess``, or ``python -m mirako_async.testing``).

``import mirako_async`` does not import this package.
"""

from ._emulator import Emulator
from ._faults import (
    DropConnection,
    Fault,
    HtmlError,
    InvalidJson,
    Latency,
    RawResponse,
    RetryAfter,
    Stall,
    Status,
    TruncatedBody,
)
from ._process import EmulatorProcess
from ._schedule import FaultHandle, Route
from ._state import ResponseHook
from ._stats import EmulatorStats, RecordedRequest
from ._store import Theme

__all__ = [
    "DropConnection",
    "Emulator",
    "EmulatorProcess",
    "EmulatorStats",
    "Fault",
    "FaultHandle",
    "HtmlError",
    "InvalidJson",
    "Latency",
    "RawResponse",
    "RecordedRequest",
    "ResponseHook",
    "RetryAfter",
    "Route",
    "Stall",
    "Status",
    "Theme",
    "TruncatedBody",
]
