"""Both clients against Prism returning the examples of docs/openapi.yaml.

Every request goes through the ``PreferProxy``, which records Prism's
response and, for the error cases, adds ``Prefer: code=401`` or
``Prefer: code=404``.
"""

from __future__ import annotations

import json
from typing import Final

import pytest

from mirako_async import APIStatusError, AuthenticationError, NotFoundError

from ._prism import Exchange, PreferProxy
from ._sdk import (
    EXAMPLE_AVATAR_ID,
    assert_matches_example,
    async_client,
    example_avatar,
    example_avatar_list,
    example_problem,
    sync_client,
)

pytestmark = pytest.mark.contract

_AVATAR_PATH: Final = "/v1/avatar/{id}"
_LIST_PATH: Final = "/v1/avatar/list"


def _assert_clean(exchange: Exchange, status: int) -> None:
    """Assert that Prism responded with ``status`` and found no violation in request or response."""
    assert exchange.status == status, exchange
    assert exchange.violations is None, f"Prism reported violations: {exchange.violations}"


def _assert_problem(error: APIStatusError, problem: dict[str, object], status: int) -> None:
    assert error.status_code == status
    assert error.title == problem["title"]
    assert error.detail == problem["detail"]
    assert problem["status"] == status


# --- success, async client -------------------------------------------------


async def test_list_async(static_prism: PreferProxy) -> None:
    async with async_client(static_prism.base_url()) as client:
        avatars = await client.avatars.list()

    _assert_clean(static_prism.last_exchange(), 200)
    expected = example_avatar_list()
    assert len(avatars) == len(expected)
    for avatar, example in zip(avatars, expected, strict=True):
        assert_matches_example(avatar, example)
    assert avatars[1].themes == ()
    assert avatars[1].supported_interactive_models == ()


async def test_list_null_data_async(static_prism: PreferProxy) -> None:
    async with async_client(static_prism.base_url("example=noAvatars")) as client:
        avatars = await client.avatars.list()

    exchange = static_prism.last_exchange()
    _assert_clean(exchange, 200)
    assert json.loads(exchange.body) == {"data": None}
    assert avatars == []


async def test_get_async(static_prism: PreferProxy) -> None:
    async with async_client(static_prism.base_url()) as client:
        avatar = await client.avatars.get(EXAMPLE_AVATAR_ID)

    exchange = static_prism.last_exchange()
    _assert_clean(exchange, 200)
    assert exchange.path == f"/v1/avatar/{EXAMPLE_AVATAR_ID}"
    assert_matches_example(avatar, example_avatar())


async def test_delete_async(static_prism: PreferProxy) -> None:
    async with async_client(static_prism.base_url()) as client:
        await client.avatars.delete(EXAMPLE_AVATAR_ID)

    exchange = static_prism.last_exchange()
    _assert_clean(exchange, 204)
    assert exchange.method == "DELETE"
    assert exchange.body == b""


# --- success, blocking client ----------------------------------------------


def test_list_sync(static_prism: PreferProxy) -> None:
    with sync_client(static_prism.base_url()) as client:
        avatars = client.avatars.list()

    _assert_clean(static_prism.last_exchange(), 200)
    expected = example_avatar_list()
    assert len(avatars) == len(expected)
    for avatar, example in zip(avatars, expected, strict=True):
        assert_matches_example(avatar, example)


def test_list_null_data_sync(static_prism: PreferProxy) -> None:
    with sync_client(static_prism.base_url("example=noAvatars")) as client:
        avatars = client.avatars.list()

    _assert_clean(static_prism.last_exchange(), 200)
    assert avatars == []


def test_get_sync(static_prism: PreferProxy) -> None:
    with sync_client(static_prism.base_url()) as client:
        avatar = client.avatars.get(EXAMPLE_AVATAR_ID)

    _assert_clean(static_prism.last_exchange(), 200)
    assert_matches_example(avatar, example_avatar())


def test_delete_sync(static_prism: PreferProxy) -> None:
    with sync_client(static_prism.base_url()) as client:
        client.avatars.delete(EXAMPLE_AVATAR_ID)

    exchange = static_prism.last_exchange()
    _assert_clean(exchange, 204)
    assert exchange.method == "DELETE"


# --- request headers -----------------------------------------------------


async def test_accept_admits_problem_json(static_prism: PreferProxy) -> None:
    async with async_client(static_prism.base_url("code=404")) as client:
        with pytest.raises(NotFoundError):
            await client.avatars.get(EXAMPLE_AVATAR_ID)

    accept = static_prism.last_exchange().accept or ""
    media_ranges = {part.split(";")[0].strip() for part in accept.split(",")}
    assert media_ranges & {"application/problem+json", "application/*", "*/*"}, f"Accept: {accept}"


# --- 401 and 404, async client ---------------------------------------------


@pytest.mark.parametrize("operation", ["list", "get", "delete"])
async def test_unauthorized_async(static_prism: PreferProxy, operation: str) -> None:
    path, method = (_LIST_PATH, "get") if operation == "list" else (_AVATAR_PATH, operation)
    async with async_client(static_prism.base_url("code=401")) as client:
        with pytest.raises(AuthenticationError) as caught:
            if operation == "list":
                await client.avatars.list()
            elif operation == "get":
                await client.avatars.get(EXAMPLE_AVATAR_ID)
            else:
                await client.avatars.delete(EXAMPLE_AVATAR_ID)

    _assert_clean(static_prism.last_exchange(), 401)
    _assert_problem(caught.value, example_problem(path, method, 401), 401)


@pytest.mark.parametrize("operation", ["get", "delete"])
async def test_not_found_async(static_prism: PreferProxy, operation: str) -> None:
    async with async_client(static_prism.base_url("code=404")) as client:
        with pytest.raises(NotFoundError) as caught:
            if operation == "get":
                await client.avatars.get(EXAMPLE_AVATAR_ID)
            else:
                await client.avatars.delete(EXAMPLE_AVATAR_ID)

    _assert_clean(static_prism.last_exchange(), 404)
    _assert_problem(caught.value, example_problem(_AVATAR_PATH, operation, 404), 404)
    assert caught.value.attempts == 1


# --- 401 and 404, blocking client ------------------------------------------


@pytest.mark.parametrize("operation", ["list", "get", "delete"])
def test_unauthorized_sync(static_prism: PreferProxy, operation: str) -> None:
    path, method = (_LIST_PATH, "get") if operation == "list" else (_AVATAR_PATH, operation)
    with sync_client(static_prism.base_url("code=401")) as client, pytest.raises(AuthenticationError) as caught:
        if operation == "list":
            client.avatars.list()
        elif operation == "get":
            client.avatars.get(EXAMPLE_AVATAR_ID)
        else:
            client.avatars.delete(EXAMPLE_AVATAR_ID)

    _assert_clean(static_prism.last_exchange(), 401)
    _assert_problem(caught.value, example_problem(path, method, 401), 401)


@pytest.mark.parametrize("operation", ["get", "delete"])
def test_not_found_sync(static_prism: PreferProxy, operation: str) -> None:
    with sync_client(static_prism.base_url("code=404")) as client, pytest.raises(NotFoundError) as caught:
        if operation == "get":
            client.avatars.get(EXAMPLE_AVATAR_ID)
        else:
            client.avatars.delete(EXAMPLE_AVATAR_ID)

    _assert_clean(static_prism.last_exchange(), 404)
    _assert_problem(caught.value, example_problem(_AVATAR_PATH, operation, 404), 404)
