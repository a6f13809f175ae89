"""The argument parser: global options, the ``avatars`` commands and ``demo``."""

from __future__ import annotations

import argparse
import math

from .._client import DEFAULT_TIMEOUT
from .._resources import DEFAULT_CONCURRENCY
from .._version import __version__
from . import _bulk, _commands, _demo

__all__ = ["PROG", "build_parser"]

PROG = "mirako-async"

_DESCRIPTION = "Command-line client for the Mirako avatar API."

_EPILOG = """\
environment variables:
  MIRAKO_API_KEY     API key (MIRAKO_API_TOKEN is read when it is unset)
  MIRAKO_BASE_URL    API base URL (MIRAKO_API_URL is read when it is unset;
                     the default is https://mirako.co)
  MIRAKO_LOG         set to debug or info to log requests or retries to stderr

exit codes:
  0    success
  1    an API call or a download failed (in bulk commands, any one of them),
       a wait ended without a ready avatar, or a deletion was cancelled
  2    invalid usage: a bad option, a missing API key, an invalid avatar id,
       or delete without --yes when stdin is not a terminal
  130  interrupted with Ctrl-C

Run 'mirako-async demo' to try every step against a local emulator, with no
API key and no network access.
"""


def positive_seconds(text: str) -> float:
    """Parse a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"the number of seconds must be positive, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse an integer of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the value must be at least 1, got {value}")
    return value


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key. Prefer the MIRAKO_API_KEY environment variable: other users "
        "of this machine can read command-line arguments in the process list.",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="API base URL; default: MIRAKO_BASE_URL, then MIRAKO_API_URL, then https://mirako.co.",
    )
    parser.add_argument(
        "--timeout",
        dest="request_timeout",
        metavar="SECONDS",
        type=positive_seconds,
        help=f"seconds allowed for each HTTP request attempt (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")


def _add_concurrency_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"maximum number of requests in flight at once (default: {DEFAULT_CONCURRENCY})",
    )


def _add_avatar_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    avatars = subparsers.add_parser(
        "avatars",
        help="list, show, fetch, download, wait for and delete avatars",
        description="Work with the avatars of the account that the API key belongs to.",
    )
    commands = avatars.add_subparsers(dest="avatars_command", metavar="COMMAND", required=True)

    list_parser = commands.add_parser("list", help="list every avatar as a table")
    list_parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    list_parser.set_defaults(handler=_commands.run_list)

    get = commands.add_parser("get", help="show one avatar with its themes and asset links")
    get.add_argument("id", metavar="ID", help="avatar id")
    get.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    get.set_defaults(handler=_commands.run_get)

    delete = commands.add_parser(
        "delete",
        help="delete avatars for good",
        description="Delete avatars for good. On a terminal, asks for confirmation unless --yes is given.",
    )
    delete.add_argument("ids", metavar="ID", nargs="+", help="avatar id")
    delete.add_argument("-y", "--yes", action="store_true", help="delete without asking for confirmation")
    _add_concurrency_option(delete)
    delete.set_defaults(handler=_bulk.run_delete)

    get_many = commands.add_parser(
        "get-many",
        help="fetch several avatars concurrently",
        description="Fetch several avatars concurrently. Failed fetches are listed on stderr "
        "(or as error entries with --json), and the exit code is then 1.",
    )
    get_many.add_argument("ids", metavar="ID", nargs="*", help="avatar id")
    get_many.add_argument(
        "--json", action="store_true", help="print a JSON array with one entry per id, an avatar or an error"
    )
    get_many.add_argument(
        "--all", action="store_true", help="fetch every avatar in the account instead of the ids given"
    )
    _add_concurrency_option(get_many)
    get_many.set_defaults(handler=_bulk.run_get_many)

    download = commands.add_parser(
        "download",
        help="download the key images and live videos of avatars",
        description="Fetch avatars, then download the key image and live video of each theme into DIR.",
    )
    download.add_argument("ids", metavar="ID", nargs="*", help="avatar id")
    download.add_argument("--dir", required=True, metavar="DIR", help="directory to write the files into")
    download.add_argument("--all", action="store_true", help="download the assets of every avatar in the account")
    download.set_defaults(handler=_bulk.run_download)

    wait = commands.add_parser(
        "wait",
        help="wait until an avatar is ready",
        description="Poll an avatar until its status is READY. Exits with 1 if the build "
        "ends in ERROR or the time runs out.",
    )
    wait.add_argument("id", metavar="ID", help="avatar id")
    wait.add_argument(
        "--timeout",
        dest="wait_timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=600.0,
        help="seconds to wait in total before giving up (default: 600)",
    )
    wait.add_argument(
        "--poll-interval",
        metavar="SECONDS",
        type=positive_seconds,
        default=2.0,
        help="seconds before the second poll. Later waits grow by half each time, up to 30 s "
        "or this value if larger (default: 2)",
    )
    wait.add_argument("--json", action="store_true", help="print the ready avatar as a JSON object")
    wait.set_defaults(handler=_commands.run_wait)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser; each command stores its function in the ``handler`` attribute."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser)

    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_avatar_commands(subparsers)
    demo = subparsers.add_parser(
        "demo",
        help="run list, show, delete and list again against a local emulator",
        description="Start the API emulator in this process and run a short session against it: "
        "list the avatars, show one with its themes, delete it and list again. It needs no API key "
        "and ignores --api-key and --base-url, so it never contacts the real API.",
    )
    demo.set_defaults(handler=_demo.run_demo)
    return parser
