"""The ``mirako-async`` command: avatars from the terminal, on the blocking client.

Run ``mirako-async --help`` for the commands. When a call, the command line
or a local file operation fails, ``main`` prints one ``error: ...`` line on
stderr instead of a traceback and returns the exit code that the ``--help``
epilog lists.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable

from .._exceptions import MirakoError, MissingAPIKeyError
from ._commands import UsageError
from ._parser import build_parser
from ._render import error_message

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_MISSING_KEY_MESSAGE = "No Mirako API key was found. Set the MIRAKO_API_KEY environment variable, or pass --api-key."


def _print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _tolerate_unencodable_output() -> None:
    """Escape characters that stdout cannot encode, instead of failing with UnicodeEncodeError.

    Avatar names may be in any script, and a pipe on Windows or under a
    C locale may use an encoding that lacks them.
    """
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """Point stdout at devnull after the reader of a pipe went away, so the exit flush does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        # stdout is not a real file (a test's capture); nothing to flush.
        pass


def _exit_code(exit_request: SystemExit) -> int:
    """Turn the SystemExit of argparse (after --help, --version or a usage error) into an exit code."""
    code = exit_request.code
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_USAGE


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command and turn each kind of failure into its message and exit code."""
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MissingAPIKeyError:
        _print_error(_MISSING_KEY_MESSAGE)
        return EXIT_USAGE
    except (UsageError, ValueError) as exc:
        _print_error(error_message(exc))
        return EXIT_USAGE
    except MirakoError as exc:
        _print_error(error_message(exc))
        return EXIT_FAILURE
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILURE
    except OSError as exc:
        # Local failures, such as a download directory that cannot be created.
        _print_error(error_message(exc))
        return EXIT_FAILURE


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (``sys.argv[1:]`` by default) and return the exit code."""
    _tolerate_unencodable_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return _exit_code(exit_request)

    handler: Callable[[argparse.Namespace], int] = args.handler
    return _run(handler, args)
