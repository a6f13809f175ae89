"""Download theme assets from presigned storage links, streamed and written atomically."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Final

import aiohttp
from attrs import frozen
from yarl import URL

from ._exceptions import AssetDownloadError, AssetExpiredError
from ._logging import logger
from ._models import Avatar
from ._proxy import ProxySettings
from ._retry import RetryPolicy

__all__ = ["AssetJob", "asset_jobs", "download_asset", "safe_name"]

CHUNK_BYTES: Final = 256 * 1024
MAX_PARALLEL_DOWNLOADS: Final = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Budgets for the parts of a file name, so the whole stays well under the
# 255-byte limit of common file systems: id + theme + kind + counter + suffix.
_MAX_ID_CHARS: Final = 64
_MAX_THEME_CHARS: Final = 96
_DEFAULT_SUFFIX = {"key_image": ".png", "live_video": ".mp4"}


@frozen
class AssetJob:
    """One asset to download: where from and where to."""

    url: str
    path: Path


def safe_name(text: str, max_chars: int = _MAX_THEME_CHARS) -> str:
    """Turn arbitrary text into a file-name part that cannot leave its directory.

    Only ASCII letters, digits, ``.``, ``_`` and ``-`` survive; runs of
    anything else become one ``_``. Leading dots are dropped, so the result
    is never ``.``, ``..`` or a hidden file, and it is never empty. Text
    longer than ``max_chars`` keeps its start and ends with a short hash of
    the whole, so two long names stay distinct.
    """
    name = _UNSAFE.sub("_", text).lstrip(".") or "_"
    if len(name) > max_chars:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        name = f"{name[: max_chars - 11]}-{digest}"
    return name


def _suffix(url: str, kind: str) -> str:
    try:
        suffix = PurePosixPath(URL(url, encoded=True).path).suffix.lower()
    except ValueError:
        suffix = ""  # The download reports the invalid link.
    if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        return suffix
    return _DEFAULT_SUFFIX.get(kind, ".bin")


def asset_jobs(avatar: Avatar, directory: Path) -> list[AssetJob]:
    """List the downloads of an avatar's assets, each to a unique, sanitised file name.

    Names are ``<avatar id>_<theme>_<kind><suffix>``. Two themes whose
    names sanitise alike get ``-2``, ``-3``... so no download overwrites
    another.
    """
    jobs: list[AssetJob] = []
    used: set[str] = set()
    for theme in avatar.themes:
        for kind, url in (("key_image", theme.key_image), ("live_video", theme.live_video)):
            if not url:
                continue
            stem = f"{safe_name(avatar.id, _MAX_ID_CHARS)}_{safe_name(theme.name)}_{kind}"
            suffix = _suffix(url, kind)
            name = stem + suffix
            counter = 2
            while name.lower() in used:
                name = f"{stem}-{counter}{suffix}"
                counter += 1
            used.add(name.lower())
            jobs.append(AssetJob(url=url, path=directory / name))
    return jobs


def redact(url: str) -> str:
    """Drop the query of a presigned link: its signature grants access."""
    try:
        return str(URL(url, encoded=True).with_query(None).with_fragment(None))
    except ValueError:
        return "<invalid URL>"


def _check_url(url: str) -> URL:
    try:
        parsed = URL(url, encoded=True)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise AssetDownloadError(f"The asset link {redact(url)!r} is not an absolute http(s) URL.", url=redact(url))
    return parsed


async def download_asset(
    session: aiohttp.ClientSession,
    job: AssetJob,
    *,
    proxies: ProxySettings,
    policy: RetryPolicy,
    read_timeout: float,
    connect_timeout: float,
    on_chunk: Callable[[int], None] | None = None,
) -> Path:
    """Stream one asset to ``job.path`` through a temporary file, retrying transient failures.

    The link is requested byte for byte as given (its percent escapes are
    not re-encoded) and with no API credentials. ``read_timeout`` bounds
    each wait for data, not the whole transfer, so large files are fine.

    Raises:
        AssetExpiredError: Storage returned 400 or 403, most often because
            the link expired; fetch the avatar again for fresh links.
        AssetDownloadError: Any other failure, after retries.
    """
    url = _check_url(job.url)
    timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)
    attempt = 0
    while True:
        attempt += 1
        try:
            await _download_once(session, url, job, timeout, proxies, on_chunk)
            return job.path
        except AssetDownloadError as exc:
            transfer_failed = isinstance(exc.__cause__, aiohttp.ClientError | TimeoutError)
            retryable = transfer_failed or exc.status_code in (408, 429) or (exc.status_code or 0) >= 500
            if not retryable or attempt > policy.max_retries:
                raise
            wait = policy.backoff(attempt - 1, random.random())
            logger.info("Retrying download of %s after: %s; waiting %.2f s", redact(job.url), exc, wait)
            await asyncio.sleep(wait)


async def _download_once(
    session: aiohttp.ClientSession,
    url: URL,
    job: AssetJob,
    timeout: aiohttp.ClientTimeout,
    proxies: ProxySettings,
    on_chunk: Callable[[int], None] | None,
) -> None:
    shown = redact(job.url)
    try:
        job.path.parent.mkdir(parents=True, exist_ok=True)
        # Not a with block: the file must outlive the handle so it can be renamed.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=job.path.parent, prefix=".mirako-", suffix=".part", delete=False
        )
    except OSError as exc:
        raise AssetDownloadError(
            f"Cannot write {job.path.name} in {job.path.parent}: {exc.strerror or exc}.", url=shown
        ) from exc
    temporary = Path(handle.name)
    try:
        with handle:
            try:
                proxy, proxy_headers = proxies.for_url(url)
                # A plain-HTTP proxy reads its credentials from the request itself.
                headers = proxy_headers if proxy_headers and url.scheme == "http" else None
                async with session.get(
                    url,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=True,
                    proxy=proxy,
                    proxy_headers=proxy_headers,
                ) as resp:
                    if resp.status in (400, 403):
                        raise AssetExpiredError(
                            f"Storage rejected the asset link {shown} with {resp.status}; presigned links "
                            "expire. Fetch the avatar again to get fresh links, then retry the download.",
                            url=shown,
                            status_code=resp.status,
                        )
                    if resp.status != 200:
                        raise AssetDownloadError(
                            f"Downloading {shown} failed with status {resp.status}.",
                            url=shown,
                            status_code=resp.status,
                        )
                    async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
                        handle.write(chunk)
                        if on_chunk is not None:
                            on_chunk(len(chunk))
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise AssetDownloadError(
                    f"Downloading {shown} failed ({type(exc).__name__}: {exc}).", url=shown
                ) from exc
        try:
            os.replace(temporary, job.path)
        except OSError as exc:
            raise AssetDownloadError(f"Cannot write {job.path}: {exc.strerror or exc}.", url=shown) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
