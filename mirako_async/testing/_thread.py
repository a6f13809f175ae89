"""Running an emulator on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["EmulatorThread"]

# Maximum time to wait for the servers to start or stop.
_START_TIMEOUT: Final = 30.0
_STOP_TIMEOUT: Final = 30.0


class EmulatorThread:
    """Context manager that runs an emulator in a daemon thread.

    Entering starts the thread and returns the running emulator. Leaving
    stops the servers, closes the thread's loop and joins the thread.
    """

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Emulator:
        if self._thread is not None:
            raise RuntimeError("This EmulatorThread was entered before.")
        self._thread = threading.Thread(target=self._run, name="mirako-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise RuntimeError(f"The emulator thread did not start within {_START_TIMEOUT:g} s.")
        if self._error is not None:
            self._thread.join(_STOP_TIMEOUT)
            raise self._error
        return self._emulator

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._thread is not None
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(_STOP_TIMEOUT)
        if self._thread.is_alive():
            raise RuntimeError(f"The emulator thread did not stop within {_STOP_TIMEOUT:g} s.")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the thread that entered
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self._emulator.start()
        except BaseException:
            await self._emulator.close()
            raise
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._emulator.close()
