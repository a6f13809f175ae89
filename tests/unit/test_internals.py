"""Edge cases of internal helpers that the end-to-end suites rarely reach."""

from __future__ import annotations

import asyncio
import logging
import pickle
from pathlib import Path

import pytest
from yarl import URL

from mirako_async import AssetDownloadError, AsyncMirako, Avatar, AvatarStatus, AvatarTheme, ErrorDetail, Mirako
from mirako_async._assets import asset_jobs, redact, safe_name
from mirako_async._bulk import AdaptiveLimiter, run_bulk
from mirako_async._config import MaskedHeaderValue, Secret
from mirako_async._converter import parse_rfc3339
from mirako_async._proxy import ProxySettings

LOOPBACK = "http://127.0.0.1:9"


def make_avatar(*themes: AvatarTheme, avatar_id: str = "a1") -> Avatar:
    return Avatar(
        id=avatar_id,
        user_id="u1",
        name="Test",
        status=AvatarStatus.READY,
        created_at=parse_rfc3339("2025-01-01T00:00:00Z"),
        themes=themes,
    )


def test_theme_and_error_detail_to_dict() -> None:
    theme = AvatarTheme("Default", "https://s.example/k.png")
    detail = ErrorDetail("path.id", "bad id", {"nested": [1]})

    assert theme.to_dict() == {"name": "Default", "key_image": "https://s.example/k.png", "live_video": None}
    assert detail.to_dict() == {"location": "path.id", "message": "bad id", "value": {"nested": [1]}}


def test_secret_compares_without_showing() -> None:
    first = Secret("mi-key")

    assert first == Secret("mi-key")
    assert first != Secret("other")
    assert first != "mi-key"
    assert hash(first) == hash(Secret("mi-key"))
    assert "mi-key" not in repr(first)
    assert "mi-key" not in str(first)


@pytest.mark.parametrize("value", [Secret("mi-key"), MaskedHeaderValue("Bearer mi-key")], ids=["secret", "header"])
def test_secret_values_refuse_pickling(value: object) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(value)


@pytest.mark.parametrize("client_class", [AsyncMirako, Mirako])
def test_clients_refuse_pickling(client_class: type[AsyncMirako | Mirako]) -> None:
    client = client_class(api_key="mi-key", base_url=LOOPBACK)

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)
    if isinstance(client, Mirako):
        client.close()


def test_unparsable_base_url_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a valid URL"):
        AsyncMirako(api_key="k", base_url="http://[::1")


def test_long_name_parts_end_in_a_hash() -> None:
    first = safe_name("x" * 300)
    second = safe_name("x" * 299 + "y")

    assert len(first) <= 96
    assert first != second
    assert safe_name("...") == "_"
    assert safe_name("a/../b") == "a_.._b"


def test_redact_drops_query_and_survives_garbage() -> None:
    assert redact("https://s.example/k.png?X-Amz-Signature=abc#frag") == "https://s.example/k.png"
    assert redact("http://[::1") == "<invalid URL>"


def test_asset_suffix_comes_from_the_link() -> None:
    avatar = make_avatar(
        AvatarTheme("A", "https://s.example/k.JPG?x=1", "https://s.example/v"),
        AvatarTheme("B", "https://s.example/k.toolongsuffix", None),
    )

    names = [job.path.name for job in asset_jobs(avatar, Path("out"))]

    assert names == ["a1_A_key_image.jpg", "a1_A_live_video.mp4", "a1_B_key_image.png"]


@pytest.mark.parametrize("link", ["ftp://s.example/k.png", "not a url", "http://[::1"])
async def test_invalid_asset_link_raises_download_error(link: str, tmp_path: Path) -> None:
    avatar = make_avatar(AvatarTheme("Default", link))

    async with AsyncMirako(api_key="k", base_url=LOOPBACK, trust_env=False) as client:
        with pytest.raises(AssetDownloadError, match="not an absolute http"):
            await client.avatars.download_assets(avatar, tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_proxy_settings_ignore_invalid_entries(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    monkeypatch.setenv("HTTP_PROXY", "http://[::1")
    caplog.set_level(logging.WARNING, logger="mirako_async")

    settings = ProxySettings(trust_env=True)

    assert settings.for_url(URL("https://api.example/v1")) == (None, None)
    assert settings.for_url(URL("http://api.example/v1")) == (None, None)
    assert len(caplog.records) == 2


def test_proxy_credentials_become_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pa%20ss@127.0.0.1:3128")

    proxy, headers = ProxySettings(trust_env=True).for_url(URL("https://api.example/v1"))

    assert proxy == URL("http://127.0.0.1:3128")
    assert headers == {"Proxy-Authorization": "Basic dXNlcjpwYSBzcw=="}


async def test_limiter_cuts_pauses_and_grows_back() -> None:
    limiter = AdaptiveLimiter(8)

    await limiter.observe(429, 0.05)
    await limiter.observe(429, 0.05)  # A response to a request sent before the pause.

    assert limiter.limit == 2.0
    assert limiter.overloads == 2
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with limiter.slot():
        waited = loop.time() - started
    assert waited >= 0.04

    await asyncio.sleep(1.1)  # The calm period: as long again as the pause, and at least 1 s.
    for _ in range(4):
        await limiter.observe(200, None)
    assert limiter.limit == 3.0


async def test_limiter_queues_beyond_its_limit() -> None:
    limiter = AdaptiveLimiter(1)
    order: list[str] = []

    async def hold(name: str) -> None:
        async with limiter.slot():
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(hold("first"), hold("second"))

    assert order == ["first in", "first out", "second in", "second out"]
    assert limiter.in_flight == 0


async def test_bulk_run_reraises_a_non_sdk_error() -> None:
    async def call(item: str, limiter: AdaptiveLimiter) -> str:
        if item == "bad":
            raise KeyError(item)
        await asyncio.sleep(0.01)
        return item

    with pytest.raises(KeyError):
        async for _ in run_bulk(["a", "bad", "c", "d"], call, concurrency=2):
            pass

    await asyncio.sleep(0)
    assert all(task.done() for task in asyncio.all_tasks() if task.get_name().startswith("mirako-bulk"))


@pytest.mark.parametrize("method", ["get_many", "delete_many"])
async def test_uncallable_progress_raises_async(method: str) -> None:
    async with AsyncMirako(api_key="k", base_url=LOOPBACK, trust_env=False) as client:
        with pytest.raises(TypeError, match="on_progress must be a function"):
            await getattr(client.avatars, method)(["a1"], on_progress="print")


@pytest.mark.parametrize("method", ["get_many", "delete_many"])
def test_uncallable_progress_raises_sync(method: str) -> None:
    with (
        Mirako(api_key="k", base_url=LOOPBACK, trust_env=False) as client,
        pytest.raises(TypeError, match="on_progress must be a function"),
    ):
        getattr(client.avatars, method)(["a1"], on_progress="print")
