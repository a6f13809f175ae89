"""The package logger, and ``MIRAKO_LOG`` to turn it on without code."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_from_environment", "logger"]

logger = logging.getLogger("mirako_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_configured = False


def configure_from_environment() -> None:
    """Send the package's log lines to stderr when ``MIRAKO_LOG`` names a level.

    ``MIRAKO_LOG=debug`` shows one line per request, ``info`` one per retry.
    An application that configures logging itself needs nothing from this.
    """
    global _configured
    if _configured:
        return
    _configured = True

    level = _LEVELS.get(os.environ.get("MIRAKO_LOG", "").strip().lower())
    if level is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
