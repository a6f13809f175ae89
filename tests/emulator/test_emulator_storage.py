"""The storage server that serves the presigned asset URLs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from mirako_async.testing import Emulator, Status, TruncatedBody

API_AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def exact(url: str) -> URL:
    """Wrap a URL so that aiohttp sends it byte for byte, without encoding it again."""
    return URL(url, encoded=True)


def first_theme(emu: Emulator) -> dict[str, str]:
    avatar = emu.avatars()[0]
    theme: dict[str, str] = avatar["themes"][0]
    return theme


async def fetch(
    session: aiohttp.ClientSession, method: str, url: str | URL, **kwargs: Any
) -> tuple[aiohttp.ClientResponse, bytes]:
    async with session.request(method, url, **kwargs) as response:
        return response, await response.read()


def error_code(body: bytes) -> str:
    text = body.decode()
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


async def test_url_shape(emu: Emulator) -> None:
    url = first_theme(emu)["key_image"]

    assert url.startswith(emu.storage_url + "/assets/")
    assert "/key_image.png?" in url
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=3600" in url
    assert "%2F" in url
    assert "%3D" in url


async def test_exact_url_served(emu: Emulator, session: aiohttp.ClientSession) -> None:
    theme = first_theme(emu)

    response, body = await fetch(session, "GET", exact(theme["key_image"]))
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == "4096"
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    assert body == emu.asset_bytes(theme["key_image"])

    response, body = await fetch(session, "GET", exact(theme["live_video"]))
    assert response.status == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert body[4:8] == b"ftyp"


async def test_assets_deterministic(emu: Emulator, session: aiohttp.ClientSession) -> None:
    theme = first_theme(emu)

    _, first = await fetch(session, "GET", exact(theme["key_image"]))
    _, second = await fetch(session, "GET", exact(theme["key_image"]))
    _, video = await fetch(session, "GET", exact(theme["live_video"]))

    assert first == second
    assert first != video


async def test_reencoded_url_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]
    decoded = url.replace("%2F", "/").replace("%2B", "+").replace("%3D", "=")

    response, body = await fetch(session, "GET", exact(decoded))

    assert response.status == 403
    assert response.headers["Content-Type"] == "application/xml"
    assert error_code(body) == "AccessDenied"


async def test_lowercase_escapes_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"].replace("%2F", "%2f")

    response, body = await fetch(session, "GET", exact(url))

    assert response.status == 403
    assert error_code(body) == "AccessDenied"


async def test_forged_signature_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")

    response, body = await fetch(session, "GET", exact(forged))

    assert response.status == 403
    assert error_code(body) == "AccessDenied"


async def test_other_asset_path_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"].replace("/Default/", "/Studio/")

    response, body = await fetch(session, "GET", exact(url))

    assert response.status == 403
    assert error_code(body) == "AccessDenied"


async def test_unsigned_url_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    path = first_theme(emu)["key_image"].partition("?")[0]

    response, body = await fetch(session, "GET", exact(path))

    assert response.status == 403
    assert error_code(body) == "AccessDenied"


@pytest.mark.parametrize("dropped", ["X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires"])
async def test_malformed_query_is_400(emu: Emulator, session: aiohttp.ClientSession, dropped: str) -> None:
    url = first_theme(emu)["key_image"]
    base, _, query = url.partition("?")
    remaining = [pair for pair in query.split("&") if not pair.startswith(dropped + "=")]

    response, body = await fetch(session, "GET", exact(base + "?" + "&".join(remaining)))

    assert response.status == 400
    assert error_code(body) == "AuthorizationQueryParametersError"
    assert dropped in body.decode()


async def test_bad_expires_is_400(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"].replace("X-Amz-Expires=3600", "X-Amz-Expires=soon")

    response, body = await fetch(session, "GET", exact(url))

    assert response.status == 400
    assert error_code(body) == "AuthorizationQueryParametersError"


async def test_authorization_header_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]

    response, body = await fetch(session, "GET", exact(url), headers=API_AUTH)

    assert response.status == 400
    assert error_code(body) == "InvalidArgument"
    assert "Only one auth mechanism allowed" in body.decode()


async def test_expired_urls_rejected(emu: Emulator, session: aiohttp.ClientSession) -> None:
    old = first_theme(emu)["key_image"]

    emu.expire_assets()

    response, body = await fetch(session, "GET", exact(old))
    assert response.status == 403
    assert error_code(body) == "AccessDenied"
    assert "expired" in body.decode()

    new = first_theme(emu)["key_image"]
    assert new != old
    response, body = await fetch(session, "GET", exact(new))
    assert response.status == 200
    assert body == emu.asset_bytes(old)


async def test_expire_twice_in_one_second(emu: Emulator, session: aiohttp.ClientSession) -> None:
    first = first_theme(emu)["key_image"]
    emu.expire_assets()
    second = first_theme(emu)["key_image"]
    emu.expire_assets()
    third = first_theme(emu)["key_image"]

    assert len({first, second, third}) == 3
    for url, status in ((first, 403), (second, 403), (third, 200)):
        response, _ = await fetch(session, "GET", exact(url))
        assert response.status == status


async def test_fresh_urls_from_api(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.avatars()[0]["id"]
    emu.expire_assets()

    _, body = await fetch(session, "GET", emu.base_url + f"/v1/avatar/{avatar_id}", headers=API_AUTH)
    url = json.loads(body)["data"]["themes"][0]["key_image"]

    response, _ = await fetch(session, "GET", exact(url))
    assert response.status == 200


async def test_deleted_avatar_asset_404(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar = emu.avatars()[0]
    url = avatar["themes"][0]["key_image"]

    await fetch(session, "DELETE", emu.base_url + f"/v1/avatar/{avatar['id']}", headers=API_AUTH)
    response, body = await fetch(session, "GET", exact(url))

    assert response.status == 404
    assert error_code(body) == "NoSuchKey"


async def test_method_not_allowed(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]

    response, body = await fetch(session, "PUT", exact(url), data=b"x")

    assert response.status == 405
    assert error_code(body) == "MethodNotAllowed"


async def test_head_sends_length_only(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]

    response, body = await fetch(session, "HEAD", exact(url))

    assert response.status == 200
    assert response.headers["Content-Length"] == "4096"
    assert body == b""


async def test_range_request(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]
    whole = emu.asset_bytes(url)

    response, body = await fetch(session, "GET", exact(url), headers={"Range": "bytes=10-19"})
    assert response.status == 206
    assert response.headers["Content-Range"] == "bytes 10-19/4096"
    assert body == whole[10:20]

    response, body = await fetch(session, "GET", exact(url), headers={"Range": "bytes=-5"})
    assert response.status == 206
    assert body == whole[-5:]

    response, body = await fetch(session, "GET", exact(url), headers={"Range": "bytes=4000-"})
    assert body == whole[4000:]


async def test_unsatisfiable_range_416(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]

    response, body = await fetch(session, "GET", exact(url), headers={"Range": "bytes=5000-"})

    assert response.status == 416
    assert response.headers["Content-Range"] == "bytes */4096"
    assert error_code(body) == "InvalidRange"


async def test_invalid_range_ignored(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]

    response, body = await fetch(session, "GET", exact(url), headers={"Range": "bytes=1-2,5-6"})

    assert response.status == 200
    assert len(body) == 4096


async def test_requests_logged(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]
    target = url[len(emu.storage_url) :]

    await fetch(session, "GET", exact(url), headers={"X-Probe": "1"})
    await fetch(session, "HEAD", exact(url))

    log = emu.stats.storage_log
    assert [(entry.method, entry.target) for entry in log] == [
        ("GET", target),
        ("HEAD", target),
    ]
    assert log[0].headers["x-probe"] == "1"
    assert log[0].route == "storage"
    assert log[0].path == target.partition("?")[0]
    assert emu.stats.storage_requests == 2
    assert emu.stats.requests == 0


async def test_large_asset_streamed(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatar_id = emu.avatars()[0]["id"]
    size = 24 * 1024 * 1024 + 123
    emu.set_asset_size(avatar_id, size)
    url = first_theme(emu)["live_video"]

    digest = hashlib.sha256()
    received = 0
    async with session.get(exact(url)) as response:
        assert response.headers["Content-Length"] == str(size)
        async for chunk in response.content.iter_chunked(1 << 20):
            digest.update(chunk)
            received += len(chunk)

    assert received == size
    assert digest.hexdigest() == emu.asset_sha256(url)


async def test_asset_size_for_all(emu: Emulator, session: aiohttp.ClientSession) -> None:
    avatars = emu.avatars()
    emu.set_asset_size(avatars[0]["id"], 10)
    emu.set_asset_size(None, 100)

    for avatar in (avatars[0], avatars[1]):
        _, body = await fetch(session, "GET", exact(avatar["themes"][0]["key_image"]))
        assert len(body) == 100


async def test_empty_asset(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.set_asset_size(None, 0)

    response, body = await fetch(session, "GET", exact(first_theme(emu)["key_image"]))

    assert response.status == 200
    assert response.headers["Content-Length"] == "0"
    assert body == b""


async def test_storage_faults(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]
    emu.inject(Status(503, problem=False), "storage", times=1)
    emu.inject(TruncatedBody(sent_bytes=100), "storage", times=1)

    response, _ = await fetch(session, "GET", exact(url))
    assert response.status == 503

    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(session, "GET", exact(url))

    response, _ = await fetch(session, "GET", exact(url))
    assert response.status == 200


async def test_api_faults_skip_storage(emu: Emulator, session: aiohttp.ClientSession) -> None:
    url = first_theme(emu)["key_image"]
    emu.inject(Status(500), "*")

    response, _ = await fetch(session, "GET", exact(url))

    assert response.status == 200


async def test_asset_bytes_rejects_foreign_url(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="not a URL on the storage server"):
        emu.asset_bytes("http://127.0.0.1:1/assets/x/y/key_image.png")
    with pytest.raises(ValueError, match="not issued"):
        emu.asset_bytes(emu.storage_url + "/assets/x/y/key_image.png?X-Amz-Signature=0")


async def test_asset_generation_speed(emu: Emulator) -> None:
    avatar_id = emu.avatars()[0]["id"]
    emu.set_asset_size(avatar_id, 32 * 1024 * 1024)
    url = first_theme(emu)["key_image"]

    started = time.perf_counter()
    emu.asset_sha256(url)
    elapsed = time.perf_counter() - started

    # Generation ran at about 500 MB/s on the 2-core development machine, so
    # 2 s for 32 MiB leaves a wide margin.
    assert elapsed < 2.0
