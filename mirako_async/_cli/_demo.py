"""The ``demo`` command: a short session against the emulator, which runs in this process."""

from __future__ import annotations

import argparse
from typing import Any

from .._models import Avatar
from .._sync import Mirako
from ._render import format_avatar, format_table, printable

__all__ = ["run_demo"]

_STEPS = 4


def _heading(number: int, title: str, call: str) -> None:
    print()
    print(f"Step {number} of {_STEPS}: {title}")
    print(f"  ({call})")
    print()


def _count(avatars: list[Avatar]) -> str:
    return "1 avatar" if len(avatars) == 1 else f"{len(avatars)} avatars"


def _pick(avatars: list[Avatar]) -> Avatar:
    """Pick the first avatar that has themes, so that step 2 has links to show."""
    for avatar in avatars:
        if avatar.themes:
            return avatar
    return avatars[0]


def _run_steps(client: Mirako) -> int:
    _heading(1, "list the avatars", "client.avatars.list()")
    before = client.avatars.list()
    if not before:
        print("The emulator has no avatars, so there is nothing to show or delete.")
        return 1
    print(format_table(before))
    print(f"\n{_count(before)}.")

    chosen = _pick(before)
    shown_id = printable(chosen.id)
    _heading(2, f"show avatar {shown_id} with its themes", f"client.avatars.get({chosen.id!r})")
    print(format_avatar(client.avatars.get(chosen.id)))

    _heading(3, f"delete avatar {shown_id}", f"client.avatars.delete({chosen.id!r})")
    client.avatars.delete(chosen.id)
    print(f"Deleted avatar {shown_id}.")

    _heading(4, "list the avatars again", "client.avatars.list()")
    after = client.avatars.list()
    print(format_table(after) if after else "No avatars left.")
    print(f"\n{_count(after)}, one fewer than in step 1: {shown_id} is gone.")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Start the emulator on 127.0.0.1 and list, show, delete and list again with the blocking client.

    The key and URL come from the emulator, never from the options or the
    environment, and proxies from the environment are ignored, so no request
    leaves this machine.
    """
    # Imported here so that the other commands do not load the server code.
    from ..testing import Emulator

    options: dict[str, Any] = {"trust_env": False}
    if args.request_timeout is not None:
        options["timeout"] = args.request_timeout

    print("Starting the Mirako API emulator on 127.0.0.1 in this process.")
    with Emulator.in_thread() as emulator:
        print(f"The emulator is listening at {emulator.base_url}; the demo uses its test key.")
        with Mirako(emulator.api_key, base_url=emulator.base_url, **options) as client:
            status = _run_steps(client)
    print("\nThe emulator has stopped. The demo sent requests only to it, on 127.0.0.1.")
    return status
