"""Asset downloads against the emulator's storage server: bytes, URLs, expiry, failures and file names."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from mirako_async import AssetDownloadError, AssetExpiredError, Avatar, RetryPolicy
from mirako_async.testing import Emulator, Fault, Status, Theme, TruncatedBody
from tests.integration._support import AvatarsApi, OpenAvatars

# One retry after at most 10 ms, so a failing download gives up quickly.
ONE_FAST_RETRY = RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.01)
LARGE_ASSET_BYTES = 64 * 1024 * 1024
MEMORY_LIMIT_BYTES = 16 * 1024 * 1024


def asset_urls(avatar: Avatar) -> list[str]:
    """List the avatar's asset URLs in download order: theme order, key image before live video."""
    urls: list[str] = []
    for theme in avatar.themes:
        urls += [url for url in (theme.key_image, theme.live_video) if url is not None]
    return urls


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


async def test_download_writes_asset_bytes(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str], tmp_path: Path
) -> None:
    avatar = await avatars.get(seed_ids["Aiko"])
    urls = asset_urls(avatar)
    calls: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        calls.append((done, total))

    paths = await avatars.download_assets(avatar, tmp_path / "assets", on_progress=record)

    assert [path.name for path in paths] == [
        f"{avatar.id}_Default_key_image.png",
        f"{avatar.id}_Default_live_video.mp4",
        f"{avatar.id}_Studio_key_image.png",
        f"{avatar.id}_Studio_live_video.mp4",
        f"{avatar.id}_Outdoor_key_image.png",
    ]
    for path, url in zip(paths, urls, strict=True):
        assert path.parent == tmp_path / "assets"
        assert path.read_bytes() == mirako_emulator.asset_bytes(url), path.name
    assert sorted(path.name for path in (tmp_path / "assets").iterdir()) == sorted(path.name for path in paths)
    assert calls == [(done, len(urls)) for done in range(1, len(urls) + 1)]


async def test_storage_gets_exact_urls_without_api_key(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str], tmp_path: Path
) -> None:
    avatar = await avatars.get(seed_ids["Night Shift"])
    urls = asset_urls(avatar)

    await avatars.download_assets(avatar, tmp_path)

    log = mirako_emulator.stats.storage_log
    origin = mirako_emulator.storage_url
    assert sorted(record.target for record in log) == sorted(url.removeprefix(origin) for url in urls)
    for record in log:
        assert "Authorization" not in record.headers, record.target
        assert mirako_emulator.api_key not in str(record.headers), record.target
        assert "%2F" in record.target, "percent escapes in the signed query stay as issued"
    assert any("%20" in record.target for record in log), "the theme 'Evening Studio' is sent escaped"


async def test_expired_links_raise_asset_expired(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str], tmp_path: Path
) -> None:
    avatar = await avatars.get(seed_ids["Aiko"])
    mirako_emulator.expire_assets()

    with pytest.raises(AssetExpiredError) as caught:
        await avatars.download_assets(avatar, tmp_path)

    error = caught.value
    assert error.status_code == 403
    assert "Fetch the avatar again" in str(error)
    assert "X-Amz-Signature" not in str(error), "the message leaves out the signed query"
    assert list(tmp_path.iterdir()) == []
    fresh = await avatars.get(avatar.id)
    paths = await avatars.download_assets(fresh, tmp_path)
    assert len(paths) == len(asset_urls(fresh))


@pytest.mark.parametrize(
    ("fault", "status_code"),
    [(TruncatedBody(), None), (Status(500, problem=False), 500)],
    ids=["truncated-body", "status-500"],
)
async def test_failed_download_leaves_no_file(
    open_avatars: OpenAvatars,
    mirako_emulator: Emulator,
    tmp_path: Path,
    fault: Fault,
    status_code: int | None,
) -> None:
    avatars = open_avatars(retry=ONE_FAST_RETRY)
    added = mirako_emulator.add_avatar(themes=[Theme("Only", live_video=False)])
    avatar = await avatars.get(added["id"])
    mirako_emulator.inject(fault, "storage")

    with pytest.raises(AssetDownloadError) as caught:
        await avatars.download_assets(avatar, tmp_path)

    assert caught.value.status_code == status_code
    assert mirako_emulator.stats.storage_requests == ONE_FAST_RETRY.max_retries + 1
    assert list(tmp_path.iterdir()) == [], "no partial file and no temporary file is left"


async def test_one_failed_download_keeps_only_whole_files(
    open_avatars: OpenAvatars, mirako_emulator: Emulator, seed_ids: dict[str, str], tmp_path: Path
) -> None:
    avatars = open_avatars(max_retries=0)
    avatar = await avatars.get(seed_ids["Aiko"])
    bytes_by_name = {
        f"{avatar.id}_{theme.name}_{kind}": mirako_emulator.asset_bytes(url)
        for theme in avatar.themes
        for kind, url in (("key_image", theme.key_image), ("live_video", theme.live_video))
        if url is not None
    }
    mirako_emulator.inject(TruncatedBody(), "storage", times=1)

    with pytest.raises(AssetDownloadError):
        await avatars.download_assets(avatar, tmp_path)

    for path in tmp_path.iterdir():
        assert not path.name.startswith("."), f"temporary file {path.name} was left behind"
        assert path.read_bytes() == bytes_by_name[path.stem], f"{path.name} is incomplete"


HOSTILE_THEME_NAMES = [
    "../../etc/passwd",
    "..",
    ".",
    "/abs",
    "a\\b",
    "ünïcødé 名前",
    "",
    "x" * 300,
    "x" * 300 + "y",
    "a/b",
    "a_b",
    "Default",
    "default",
    ".hidden",
    "nul\x00byte",
]


async def test_hostile_theme_names_stay_inside_directory(
    avatars: AvatarsApi, mirako_emulator: Emulator, tmp_path: Path
) -> None:
    added = mirako_emulator.add_avatar(avatar_id="../../evil id", themes=HOSTILE_THEME_NAMES)
    avatar = await avatars.get(added["id"])
    target = tmp_path / "assets"

    paths = await avatars.download_assets(avatar, target)

    assert len(paths) == 2 * len(HOSTILE_THEME_NAMES)
    assert len({path.name.lower() for path in paths}) == len(paths), "no two downloads share a name"
    for path, url in zip(paths, asset_urls(avatar), strict=True):
        assert path.parent == target, path
        assert path.resolve().parent == target.resolve(), path
        assert not path.name.startswith("."), path.name
        assert len(path.name.encode()) <= 255, path.name
        assert path.read_bytes() == mirako_emulator.asset_bytes(url), f"{path.name} was overwritten"
    assert [entry.name for entry in tmp_path.iterdir()] == ["assets"], "nothing was written outside"
    assert len(list(target.iterdir())) == len(paths)


async def test_long_names_fit_file_name_limit(avatars: AvatarsApi, mirako_emulator: Emulator, tmp_path: Path) -> None:
    added = mirako_emulator.add_avatar(avatar_id="i" * 300, themes=["x" * 300, "x" * 301])
    avatar = await avatars.get(added["id"])

    paths = await avatars.download_assets(avatar, tmp_path)

    assert len(paths) == 4
    for path, url in zip(paths, asset_urls(avatar), strict=True):
        assert len(path.name.encode()) <= 255, path.name
        assert path.read_bytes() == mirako_emulator.asset_bytes(url)


async def test_large_asset_streams_with_bounded_memory(
    avatars: AvatarsApi, mirako_emulator: Emulator, tmp_path: Path
) -> None:
    added = mirako_emulator.add_avatar(themes=[Theme("Large", live_video=False)])
    mirako_emulator.set_asset_size(added["id"], LARGE_ASSET_BYTES)
    avatar = await avatars.get(added["id"])
    url = asset_urls(avatar)[0]

    tracemalloc.start()
    try:
        (path,) = await avatars.download_assets(avatar, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert path.stat().st_size == LARGE_ASSET_BYTES
    assert peak < MEMORY_LIMIT_BYTES, f"peak {peak / 2**20:.1f} MiB"
    assert file_sha256(path) == mirako_emulator.asset_sha256(url)
