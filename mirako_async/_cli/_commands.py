"""The single-avatar commands: ``avatars list``, ``get`` and ``wait``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._sync import Mirako
from ._render import format_avatar, format_table, printable, to_json

__all__ = ["UsageError", "open_client", "run_get", "run_list", "run_wait"]


class UsageError(Exception):
    """The command line asks for something that cannot be done; the exit code is 2."""


def open_client(args: argparse.Namespace) -> Mirako:
    """Create the blocking client from the global options and the environment.

    Raises:
        MissingAPIKeyError: No key was given and none is in the environment.
        ValueError: The key, the base URL or the timeout is invalid.
    """
    options: dict[str, Any] = {"base_url": args.base_url}
    if args.request_timeout is not None:
        options["timeout"] = args.request_timeout
    return Mirako(args.api_key, **options)


def run_list(args: argparse.Namespace) -> int:
    """List every avatar as a table, or as a JSON array with ``--json``."""
    with open_client(args) as client:
        avatars = client.avatars.list()

    if args.json:
        print(to_json([avatar.to_dict() for avatar in avatars]))
    elif avatars:
        print(format_table(avatars))
    else:
        print("No avatars found.")
    return 0


def run_get(args: argparse.Namespace) -> int:
    """Show one avatar with its themes, or print it as a JSON object with ``--json``."""
    with open_client(args) as client:
        avatar = client.avatars.get(args.id)

    print(to_json(avatar.to_dict()) if args.json else format_avatar(avatar))
    return 0


def run_wait(args: argparse.Namespace) -> int:
    """Poll an avatar until it is ready, then show it."""
    avatar_id: str = args.id
    if sys.stderr.isatty():
        print(
            f"Waiting up to {args.wait_timeout:g} s for avatar {printable(avatar_id)} to be ready...",
            file=sys.stderr,
        )

    with open_client(args) as client:
        avatar = client.avatars.wait_until_ready(avatar_id, timeout=args.wait_timeout, poll_interval=args.poll_interval)

    if args.json:
        print(to_json(avatar.to_dict()))
    else:
        print(f"Avatar {printable(avatar.id)} is ready.")
        print(format_avatar(avatar))
    return 0
