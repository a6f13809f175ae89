"""Broken responses: cut-off bodies, invalid JSON, proxy HTML pages and connections closed while idle."""

from __future__ import annotations

from typing import Literal

import pytest

from mirako_async import (
    APIConnectionError,
    InternalServerError,
    ResponseValidationError,
)
from mirako_async.testing import DropConnection, Emulator, HtmlError, InvalidJson, TruncatedBody

from ._drivers import ClientKind, open_driver
from ._support import free_port
from .conftest import FAST_RETRY, ClientFactory


@pytest.mark.parametrize("sent_bytes", [0, None, 100], ids=["none", "half", "100-bytes"])
async def test_truncated_list_is_retried_whole(
    make_client: ClientFactory, mirako_emulator: Emulator, sent_bytes: int | None
) -> None:
    client = make_client()
    mirako_emulator.inject(TruncatedBody(sent_bytes), "list", times=1)

    avatars = await client.list()

    assert [avatar.id for avatar in avatars] == [avatar["id"] for avatar in mirako_emulator.avatars()]
    assert mirako_emulator.stats.by_route["list"] == 2


async def test_truncated_get_is_retried_whole(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    expected = mirako_emulator.avatars()[0]
    mirako_emulator.inject(TruncatedBody(), "get", times=1)

    avatar = await client.get(expected["id"])

    assert avatar.id == expected["id"]
    assert avatar.name == expected["name"]
    assert mirako_emulator.stats.by_route["get"] == 2


async def test_always_truncated_body_raises_connection_error(
    make_client: ClientFactory, mirako_emulator: Emulator
) -> None:
    client = make_client()
    mirako_emulator.inject(TruncatedBody(), "list")

    with pytest.raises(APIConnectionError) as caught:
        await client.list()

    assert type(caught.value) is APIConnectionError
    assert caught.value.attempts == FAST_RETRY.max_retries + 1
    assert mirako_emulator.stats.by_route["list"] == FAST_RETRY.max_retries + 1


@pytest.mark.parametrize("body", [InvalidJson().body, b"<html>OK</html>", b""], ids=["cut", "html", "empty"])
async def test_invalid_json_is_not_retried(make_client: ClientFactory, mirako_emulator: Emulator, body: bytes) -> None:
    client = make_client()
    mirako_emulator.inject(InvalidJson(body), "list")

    with pytest.raises(ResponseValidationError) as caught:
        await client.list()

    assert caught.value.status_code == 200
    assert caught.value.attempts == 1
    assert mirako_emulator.stats.requests == 1


@pytest.mark.parametrize(
    ("server", "title"),
    [("nginx", "502 Bad Gateway"), ("cloudflare", "127.0.0.1 | 502: Bad Gateway")],
)
async def test_html_502_page_gives_title_excerpt(
    make_client: ClientFactory,
    mirako_emulator: Emulator,
    server: Literal["nginx", "cloudflare"],
    title: str,
) -> None:
    client = make_client()
    mirako_emulator.inject(HtmlError(502, server=server), "list")

    with pytest.raises(InternalServerError) as caught:
        await client.list()

    message = str(caught.value)
    assert caught.value.status_code == 502
    assert f"failed with 502 Bad Gateway: {title}." in message
    assert "<" not in message
    assert caught.value.body is not None
    assert "</html>" in caught.value.body
    assert caught.value.attempts == FAST_RETRY.max_retries + 1


async def test_html_502_page_then_success(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    mirako_emulator.inject(HtmlError(502), "list", times=1)

    avatars = await client.list()

    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 2


async def test_dropped_pooled_connection_is_transparent(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    await client.list()
    mirako_emulator.inject(DropConnection(), "list", times=1)

    avatars = await client.list()

    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 3


async def test_server_closed_idle_connection_replaced(
    client_kind: ClientKind,
) -> None:
    port = free_port()
    async with open_driver(
        client_kind,
        api_key="test-key",
        base_url=f"http://127.0.0.1:{port}",
        timeout=10.0,
        retry=FAST_RETRY,
    ) as client:
        with Emulator.in_thread(port=port):
            await client.list()
        # Stopping that emulator closed the client's idle pooled connection.

        with Emulator.in_thread(port=port) as second:
            avatars = await client.list()
            expected_count = len(second.avatars())
            requests = second.stats.requests
            connections = second.stats.connections

    assert len(avatars) == expected_count
    assert requests == 1
    assert connections == 1
