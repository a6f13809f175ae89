"""The commands that act on several avatars: ``avatars delete``, ``get-many`` and ``download``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._exceptions import AssetExpiredError, MirakoError
from .._sync import Mirako
from .._validation import check_avatar_id
from ._commands import UsageError, open_client
from ._progress import ProgressBar
from ._render import error_entry, error_message, format_table, printable, to_json

__all__ = ["run_delete", "run_download", "run_get_many"]


def _checked_ids(ids: Sequence[str], *, unique: bool) -> list[str]:
    """Check every id before any request is sent; with ``unique``, drop repeats and keep the order.

    Raises:
        ValueError: An id is empty, ``.``, ``..`` or ``list``.
    """
    checked = [check_avatar_id(avatar_id) for avatar_id in ids]
    return list(dict.fromkeys(checked)) if unique else checked


def _requested_ids(args: argparse.Namespace, *, unique: bool) -> list[str]:
    """Return the checked ids from the command line; empty when ``--all`` was given.

    Raises:
        UsageError: Both ids and ``--all`` were given, or neither.
    """
    ids: list[str] = args.ids
    if args.all and ids:
        raise UsageError("Pass avatar ids or --all, not both.")
    if not args.all and not ids:
        raise UsageError("Pass at least one avatar id, or --all for every avatar.")
    return _checked_ids(ids, unique=unique)


def _report_failures(failures: Sequence[tuple[str, BaseException]], total: int, outcome: str) -> int:
    """Print one line per failure and a summary on stderr; return the exit code."""
    for avatar_id, error in failures:
        print(f"error: {printable(avatar_id)}: {error_message(error)}", file=sys.stderr)
    if not failures:
        return 0
    noun = "avatar" if total == 1 else "avatars"
    print(f"error: {len(failures)} of {total} {noun} could not be {outcome}.", file=sys.stderr)
    return 1


def _confirm_delete(ids: Sequence[str]) -> bool:
    """Ask on the terminal whether to delete ``ids``; return True if the user typed y or yes.

    Raises:
        UsageError: stdin is not a terminal, so nobody can answer.
    """
    if not sys.stdin.isatty():
        raise UsageError(
            "stdin is not a terminal, so the deletion cannot be confirmed. Pass --yes to delete without confirmation."
        )

    if len(ids) == 1:
        question = f"Delete avatar {printable(ids[0])} for good? [y/N] "
    else:
        listing = "".join(f"  {printable(avatar_id)}\n" for avatar_id in ids)
        question = f"These {len(ids)} avatars will be deleted for good:\n{listing}Delete them? [y/N] "
    sys.stderr.write(question)
    sys.stderr.flush()

    reply = sys.stdin.readline().strip().lower()
    return reply in ("y", "yes")


def run_delete(args: argparse.Namespace) -> int:
    """Delete one or more avatars, after confirmation on a terminal unless ``--yes`` was given."""
    ids = _checked_ids(args.ids, unique=True)

    with open_client(args) as client:
        if not args.yes and not _confirm_delete(ids):
            print("Deletion cancelled; no avatar was deleted.", file=sys.stderr)
            return 1

        if len(ids) == 1:
            client.avatars.delete(ids[0])
            print(f"Deleted avatar {printable(ids[0])}.")
            return 0

        with ProgressBar("Deleting", len(ids)) as bar:
            results = client.avatars.delete_many(ids, concurrency=args.concurrency, on_progress=bar.update)

    failures = []
    for avatar_id, error in zip(ids, results, strict=True):
        if error is None:
            print(f"Deleted avatar {printable(avatar_id)}.")
        else:
            failures.append((avatar_id, error))
    return _report_failures(failures, len(ids), "deleted")


def run_get_many(args: argparse.Namespace) -> int:
    """Fetch several avatars concurrently and print them with the failures."""
    ids = _requested_ids(args, unique=False)

    with open_client(args) as client:
        if args.all:
            ids = [avatar.id for avatar in client.avatars.list()]
        with ProgressBar("Fetching", len(ids)) as bar:
            results = client.avatars.get_many(ids, concurrency=args.concurrency, on_progress=bar.update)

    pairs = list(zip(ids, results, strict=True))
    failures = [(avatar_id, result) for avatar_id, result in pairs if isinstance(result, MirakoError)]
    avatars = [result for _, result in pairs if not isinstance(result, MirakoError)]

    if args.json:
        entries = [
            error_entry(avatar_id, result) if isinstance(result, MirakoError) else result.to_dict()
            for avatar_id, result in pairs
        ]
        print(to_json(entries))
    elif avatars:
        print(format_table(avatars))
    elif not ids:
        print("No avatars found.")
    return _report_failures(failures, len(ids), "fetched")


def _download_one(client: Mirako, avatar_id: str, directory: Path) -> list[Path]:
    """Fetch an avatar and download its assets, fetching once more if a link has expired.

    Each avatar is fetched just before its download, but presigned links
    expire, and a slow download of several large files can outlast one.
    """
    avatar = client.avatars.get(avatar_id)
    try:
        return client.avatars.download_assets(avatar, directory)
    except AssetExpiredError:
        avatar = client.avatars.get(avatar_id)
        return client.avatars.download_assets(avatar, directory)


def run_download(args: argparse.Namespace) -> int:
    """Download the key image and live video of each theme of the avatars into ``--dir``."""
    ids = _requested_ids(args, unique=True)
    directory = Path(args.dir)
    failures: list[tuple[str, BaseException]] = []
    written = 0

    with open_client(args) as client:
        if args.all:
            ids = [avatar.id for avatar in client.avatars.list()]
        with ProgressBar("Downloading", len(ids)) as bar:
            for avatar_id in ids:
                try:
                    paths = _download_one(client, avatar_id, directory)
                except MirakoError as error:
                    failures.append((avatar_id, error))
                else:
                    written += len(paths)
                    for path in paths:
                        bar.write_line(printable(str(path)))
                bar.advance()

    if not ids:
        print("No avatars found.")
    elif written == 0 and not failures:
        print("The avatars have no assets to download.", file=sys.stderr)
    return _report_failures(failures, len(ids), "downloaded")
