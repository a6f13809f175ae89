"""A one-line progress bar for bulk commands, drawn on stderr only when it is a terminal."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from types import TracebackType
from typing import Final, Self, TextIO

__all__ = ["ProgressBar"]

# Minimum seconds between two redraws, so that thousands of fast updates
# do not flood the terminal. The final update is always drawn.
_REDRAW_INTERVAL: Final = 0.1
_MAX_BAR_WIDTH: Final = 40
_MIN_BAR_WIDTH: Final = 10


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        # A replaced or closed stream has no terminal behind it.
        return False


class ProgressBar:
    """A bar such as ``Fetching [#######-----] 7/12`` that redraws itself in place.

    When the stream is not a terminal (a pipe, a file, a test's capture), the
    bar writes nothing at all, so stderr stays clean for scripts. ``update``
    may be called from any thread, because the SDK reports progress from its
    event-loop thread. Use it as a context manager: leaving the block ends
    the line, also when an exception (Ctrl-C included) leaves it early.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = _is_terminal(self._stream) and total > 0
        self._label = label
        self._total = total
        self._done = 0
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._last_length = 0

    @property
    def enabled(self) -> bool:
        """Whether the bar draws anything."""
        return self._enabled

    def update(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` items are finished, and redraw if it is time."""
        if not self._enabled:
            return
        with self._lock:
            self._done = done
            self._total = total
            now = time.monotonic()
            if done < total and now - self._last_draw < _REDRAW_INTERVAL:
                return
            self._last_draw = now
            self._draw()

    def advance(self) -> None:
        """Record one more finished item."""
        self.update(self._done + 1, self._total)

    def write_line(self, text: str, file: TextIO | None = None) -> None:
        """Print a line of output above the bar, which is then redrawn below it."""
        target = file if file is not None else sys.stdout
        with self._lock:
            if self._enabled:
                self._stream.write("\r" + " " * self._last_length + "\r")
                self._stream.flush()
            print(text, file=target, flush=True)
            if self._enabled:
                self._draw()

    def close(self) -> None:
        """End the bar's line, so that later output starts on a fresh one."""
        if not self._enabled:
            return
        with self._lock:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._enabled = False

    def __enter__(self) -> Self:
        if self._enabled:
            with self._lock:
                self._draw()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _draw(self) -> None:
        counter = f"{self._done}/{self._total}"
        columns = shutil.get_terminal_size().columns
        space = columns - len(self._label) - len(counter) - 5
        width = max(_MIN_BAR_WIDTH, min(_MAX_BAR_WIDTH, space))
        filled = width * self._done // self._total if self._total else width
        line = f"{self._label} [{'#' * filled}{'-' * (width - filled)}] {counter}"

        # Pad with spaces to cover a longer earlier line, instead of an ANSI
        # erase code that some Windows consoles print literally.
        padding = " " * max(0, self._last_length - len(line))
        self._stream.write(f"\r{line}{padding}")
        self._stream.flush()
        self._last_length = len(line)
