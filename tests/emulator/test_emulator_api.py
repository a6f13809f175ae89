"""The emulator's avatar endpoints, checked over real sockets with a plain aiohttp client."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from mirako_async.testing import Emulator, Theme
from tests.schema import validate_response

API_KEY = "api-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
PROBLEM_KEYS = {"title", "status", "detail", "type", "instance", "errors"}


def check_schema(route: str, status: int, content_type: str | None, body: bytes) -> None:
    """Validate every documented response against docs/openapi.yaml."""
    if route != "other":
        validate_response(route, status, body)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key=API_KEY, on_response=check_schema) as emulator:
        yield emulator
    assert emulator.hook_errors == []


@pytest.fixture
async def session(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as client:
        yield client


async def fetch(
    session: aiohttp.ClientSession, method: str, path: str | URL, **kwargs: Any
) -> tuple[aiohttp.ClientResponse, bytes]:
    async with session.request(method, path, **kwargs) as response:
        return response, await response.read()


async def test_list_shape(session: aiohttp.ClientSession, emu: Emulator) -> None:
    response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == str(len(body))
    validate_response("list", 200, body)
    avatars = json.loads(body)["data"]
    assert len(avatars) == 6
    assert {avatar["status"] for avatar in avatars} == {
        "PENDING",
        "BUILDING",
        "READY",
        "ERROR",
    }
    assert {avatar["user_id"] for avatar in avatars} == {emu.user_id}
    assert len({avatar["id"] for avatar in avatars}) == 6


async def test_list_covers_edge_cases(session: aiohttp.ClientSession) -> None:
    _, body = await fetch(session, "GET", "/v1/avatar/list")
    avatars = json.loads(body)["data"]

    assert any(avatar["themes"] is None for avatar in avatars)
    assert any(avatar["themes"] == [] for avatar in avatars)
    assert any(avatar["supported_interactive_models"] is None for avatar in avatars)
    themes = [theme for avatar in avatars for theme in avatar["themes"] or []]
    assert {"Default", "Studio", "Outdoor"} <= {theme["name"] for theme in themes}
    assert any("live_video" not in theme for theme in themes)
    assert any("key_image" not in theme for theme in themes)
    assert any(not name.isascii() for name in (avatar["name"] for avatar in avatars))


async def test_created_at_forms_vary(session: aiohttp.ClientSession) -> None:
    _, body = await fetch(session, "GET", "/v1/avatar/list")
    stamps = [avatar["created_at"] for avatar in json.loads(body)["data"]]
    pattern = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")

    matches = [pattern.fullmatch(stamp) for stamp in stamps]
    assert all(matches), stamps
    digits = {len(match.group(1) or "") for match in matches if match}
    zones = {match.group(2) for match in matches if match}
    assert digits == {0, 3, 6, 9}
    assert "Z" in zones
    assert zones - {"Z"}, "expected at least one numeric offset"


async def test_list_data_null_without_avatars() -> None:
    async with (
        Emulator(api_key=API_KEY, avatar_count=0) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session,
    ):
        response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 200
    assert json.loads(body) == {"data": None}


async def test_clear_avatars_sends_null(session: aiohttp.ClientSession, emu: Emulator) -> None:
    emu.clear_avatars()

    _, body = await fetch(session, "GET", "/v1/avatar/list")

    assert json.loads(body) == {"data": None}


async def test_get_matches_list_entry(session: aiohttp.ClientSession) -> None:
    _, body = await fetch(session, "GET", "/v1/avatar/list")
    first = json.loads(body)["data"][0]

    response, body = await fetch(session, "GET", f"/v1/avatar/{first['id']}")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"data": first}


async def test_request_ids_unique(session: aiohttp.ClientSession) -> None:
    ids = set()
    for path in (
        "/v1/avatar/list",
        "/v1/avatar/list",
        "/v1/avatar/missing",
        "/nowhere",
    ):
        response, _ = await fetch(session, "GET", path)
        ids.add(response.headers["X-Request-Id"])

    assert len(ids) == 4


@pytest.mark.parametrize(
    ("headers", "detail_word"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer wrong-key"}, "invalid"),
        ({"Authorization": f"Basic {API_KEY}"}, "Bearer"),
        ({"Authorization": "Bearer "}, "Bearer"),
    ],
)
async def test_bad_token_is_401(emu: Emulator, headers: dict[str, str], detail_word: str) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=headers) as session:
        response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "X-Request-Id" in response.headers
    problem = json.loads(body)
    assert set(problem) == PROBLEM_KEYS
    assert problem["status"] == 401
    assert problem["title"] == "Unauthorized"
    assert problem["type"] == "about:blank"
    assert problem["instance"] == "/v1/avatar/list"
    assert problem["errors"] is None
    assert detail_word in problem["detail"]


async def test_bearer_scheme_case_insensitive(emu: Emulator) -> None:
    headers = {"Authorization": f"bearer {API_KEY}"}
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=headers) as session:
        response, _ = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 200


async def test_unknown_id_is_404(session: aiohttp.ClientSession) -> None:
    response, body = await fetch(session, "GET", "/v1/avatar/no-such-avatar")

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert set(problem) == PROBLEM_KEYS
    assert problem["title"] == "Not Found"
    assert problem["instance"] == "/v1/avatar/no-such-avatar"
    assert "no-such-avatar" in problem["detail"]


async def test_delete_then_404(session: aiohttp.ClientSession, emu: Emulator) -> None:
    avatar_id = emu.avatars()[0]["id"]

    response, body = await fetch(session, "DELETE", f"/v1/avatar/{avatar_id}")
    assert response.status == 204
    assert body == b""
    assert "Content-Type" not in response.headers
    assert "X-Request-Id" in response.headers

    response, _ = await fetch(session, "GET", f"/v1/avatar/{avatar_id}")
    assert response.status == 404
    response, _ = await fetch(session, "DELETE", f"/v1/avatar/{avatar_id}")
    assert response.status == 404
    _, body = await fetch(session, "GET", "/v1/avatar/list")
    assert avatar_id not in {avatar["id"] for avatar in json.loads(body)["data"]}


async def test_id_with_slash_is_one_segment(session: aiohttp.ClientSession, emu: Emulator) -> None:
    emu.add_avatar(avatar_id="team/a b", name="Slashed")
    path = URL("/v1/avatar/team%2Fa%20b", encoded=True)

    response, body = await fetch(session, "GET", path)
    assert response.status == 200
    assert json.loads(body)["data"]["id"] == "team/a b"

    response, _ = await fetch(session, "DELETE", path)
    assert response.status == 204
    assert emu.avatar("team/a b") is None


async def test_slash_in_path_is_not_id(session: aiohttp.ClientSession, emu: Emulator) -> None:
    emu.add_avatar(avatar_id="team/a", name="Slashed")

    response, body = await fetch(session, "GET", URL("/v1/avatar/team/a", encoded=True))

    assert response.status == 404
    assert json.loads(body)["status"] == 404


async def test_encoded_list_is_id(session: aiohttp.ClientSession, emu: Emulator) -> None:
    emu.add_avatar(avatar_id="list", name="Named list")

    response, body = await fetch(session, "GET", URL("/v1/avatar/%6Cist", encoded=True))
    assert response.status == 200
    assert json.loads(body)["data"]["name"] == "Named list"

    response, _ = await fetch(session, "DELETE", "/v1/avatar/list")
    assert response.status == 204


@pytest.mark.parametrize("path", ["/v1/avatar/", "/v1/avatar", "/v2/avatar/list", "/", "/v1/avatar/a/"])
async def test_unknown_path_is_404(session: aiohttp.ClientSession, emu: Emulator, path: str) -> None:
    response, body = await fetch(session, "GET", URL(path, encoded=True))

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["instance"] == path
    assert emu.stats.by_route["other"] == 1


async def test_wrong_method_is_405(session: aiohttp.ClientSession) -> None:
    response, body = await fetch(session, "POST", "/v1/avatar/list")

    assert response.status == 405
    assert response.headers["Allow"] == "GET, DELETE"
    assert json.loads(body)["status"] == 405


async def test_malformed_escape_is_400(session: aiohttp.ClientSession) -> None:
    response, body = await fetch(session, "GET", URL("/v1/avatar/ab%zz", encoded=True))

    assert response.status == 400
    problem = json.loads(body)
    assert problem["errors"] == [{"location": "path.id", "message": "invalid percent-encoding", "value": "ab%zz"}]


async def test_query_string_ignored(session: aiohttp.ClientSession) -> None:
    response, body = await fetch(session, "GET", "/v1/avatar/list?page=2")

    assert response.status == 200
    assert len(json.loads(body)["data"]) == 6


async def test_json_escapes_like_go(session: aiohttp.ClientSession) -> None:
    _, body = await fetch(session, "GET", "/v1/avatar/list")

    assert b"<" not in body
    assert b"\\u003cSupport\\u003e \\u0026 Sales" in body
    assert body.endswith(b"\n")
    assert "李伟".encode() in body


async def test_add_avatar_returns_api_form(session: aiohttp.ClientSession, emu: Emulator) -> None:
    # The unknown status and the extra member are outside the schema on purpose.
    emu.on_response = None
    added = emu.add_avatar(
        name="Custom",
        status="ARCHIVED",
        themes=["Default", Theme("Night", key_image=True, live_video=False)],
        supported_interactive_models=["model-x"],
        created_at="2025-01-02T03:04:05.1Z",
        extra={"voice": "alto"},
    )

    _, body = await fetch(session, "GET", f"/v1/avatar/{added['id']}")
    served = json.loads(body)["data"]
    assert served == added
    assert served["status"] == "ARCHIVED"
    assert served["voice"] == "alto"
    assert served["created_at"] == "2025-01-02T03:04:05.1Z"
    assert [theme["name"] for theme in served["themes"]] == ["Default", "Night"]
    assert "live_video" not in served["themes"][1]
    assert served["themes"][0]["key_image"].startswith(emu.storage_url + "/assets/")


async def test_add_avatar_duplicate_id(emu: Emulator) -> None:
    avatar_id = emu.avatars()[0]["id"]

    with pytest.raises(ValueError, match="already exists"):
        emu.add_avatar(avatar_id=avatar_id)


async def test_add_avatar_default_timestamp(emu: Emulator) -> None:
    created_at = emu.add_avatar()["created_at"]

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z", created_at)


async def test_seed_is_deterministic() -> None:
    async with (
        Emulator(seed=7) as first,
        Emulator(seed=7) as second,
        Emulator(seed=8) as third,
    ):
        first_ids = [avatar["id"] for avatar in first.avatars()]
        assert first_ids == [avatar["id"] for avatar in second.avatars()]
        assert first_ids != [avatar["id"] for avatar in third.avatars()]
        assert [a["name"] for a in first.avatars()] == [a["name"] for a in second.avatars()]


async def test_many_avatars_fast() -> None:
    started = time.perf_counter()
    emulator = Emulator(avatar_count=10_000)
    created = time.perf_counter() - started

    async with (
        emulator,
        aiohttp.ClientSession(base_url=emulator.base_url, headers={"Authorization": "Bearer test-key"}) as session,
    ):
        _, body = await fetch(session, "GET", "/v1/avatar/list")

    avatars = json.loads(body)["data"]
    assert len(avatars) == 10_000
    assert len({avatar["id"] for avatar in avatars}) == 10_000
    assert created < 2.0, f"creating 10,000 avatars took {created:.2f} s"
    validate_response("list", 200, {"data": avatars[:200]})


async def test_response_hook_sees_normal_replies(emu: Emulator) -> None:
    seen: list[tuple[str, int, str | None, bytes]] = []
    emu.on_response = lambda *args: seen.append(args)
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        await fetch(session, "GET", "/v1/avatar/list")
        await fetch(session, "GET", "/v1/avatar/missing")
        await fetch(session, "DELETE", "/v1/avatar/missing")

    assert [(route, status) for route, status, _, _ in seen] == [
        ("list", 200),
        ("get", 404),
        ("delete", 404),
    ]
    assert seen[0][2] == "application/json"
    assert seen[1][2] == "application/problem+json"
    assert json.loads(seen[0][3])["data"]


async def test_response_hook_errors_kept() -> None:
    def reject(route: str, status: int, content_type: str | None, body: bytes) -> None:
        raise AssertionError(f"rejected {route}")

    async with (
        Emulator(on_response=reject) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers={"Authorization": "Bearer test-key"}) as session,
    ):
        response, body = await fetch(session, "GET", "/v1/avatar/list")

    assert response.status == 200
    assert json.loads(body)["data"]
    assert [str(error) for error in emu.hook_errors] == ["rejected list"]


async def test_concurrent_requests_served(session: aiohttp.ClientSession) -> None:
    results = await asyncio.gather(*(fetch(session, "GET", "/v1/avatar/list") for _ in range(20)))

    assert {response.status for response, _ in results} == {200}


async def test_not_running_raises() -> None:
    emulator = Emulator()

    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.base_url
    with pytest.raises(RuntimeError, match="not running"):
        emulator.add_avatar()


async def test_list_follows_changes(session: aiohttp.ClientSession, emu: Emulator) -> None:
    async def listed() -> list[dict[str, Any]]:
        _, body = await fetch(session, "GET", "/v1/avatar/list")
        avatars: list[dict[str, Any]] = json.loads(body)["data"] or []
        return avatars

    first = await listed()
    assert await listed() == first

    added = emu.add_avatar(name="Late", status="PENDING", themes=["Default"])
    assert (await listed())[-1] == added

    emu.schedule_build(added["id"], [("BUILDING", 0.2), ("READY", None)])
    assert (await listed())[-1]["status"] == "BUILDING"
    await asyncio.sleep(0.25)
    assert (await listed())[-1]["status"] == "READY"

    old_url = (await listed())[0]["themes"][0]["key_image"]
    emu.expire_assets()
    assert (await listed())[0]["themes"][0]["key_image"] != old_url

    await fetch(session, "DELETE", f"/v1/avatar/{added['id']}")
    assert [avatar["id"] for avatar in await listed()] == [avatar["id"] for avatar in first]
