"""Error statuses from the emulator reach callers as the matching exception, with the problem fields read."""

from __future__ import annotations

import pytest

from mirako_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorDetail,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from mirako_async.testing import Emulator, HtmlError, Status
from tests.integration._support import FAST_RETRY, AvatarsApi, OpenAvatars

WRONG_KEY = "wrong-key-5f0c9d"


async def test_wrong_key_raises_authentication_error(open_avatars: OpenAvatars, mirako_emulator: Emulator) -> None:
    avatars = open_avatars(api_key=WRONG_KEY)

    with pytest.raises(AuthenticationError) as caught:
        await avatars.list()

    error = caught.value
    message = str(error)
    assert error.status_code == 401
    assert "MIRAKO_API_KEY" in message
    assert "MIRAKO_API_TOKEN" in message
    assert WRONG_KEY not in message
    assert WRONG_KEY not in repr(error)
    assert WRONG_KEY not in str(dict(error.headers))
    assert error.detail == "The API key is invalid."
    assert error.attempts == 1
    assert mirako_emulator.stats.requests == 1, "a 401 is not retried"


async def test_unknown_id_raises_not_found(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    with pytest.raises(NotFoundError) as caught:
        await avatars.get("no-such-avatar")

    error = caught.value
    assert error.status_code == 404
    assert error.title == "Not Found"
    assert error.detail == "Avatar no-such-avatar was not found."
    assert error.instance == "/v1/avatar/no-such-avatar"
    assert error.request_id is not None
    assert error.request_id == error.headers["X-Request-Id"]
    assert "no-such-avatar" in str(error)
    assert mirako_emulator.stats.by_route["get"] == 1, "a 404 is not retried"


async def test_delete_of_unknown_id_raises_not_found(avatars: AvatarsApi) -> None:
    with pytest.raises(NotFoundError) as caught:
        await avatars.delete("no-such-avatar")

    assert caught.value.method == "DELETE"
    assert caught.value.attempts == 1


@pytest.mark.parametrize(
    ("code", "exception_type", "title", "retried"),
    [
        (400, BadRequestError, "Bad Request", False),
        (402, InsufficientCreditsError, "Payment Required", False),
        (403, PermissionDeniedError, "Forbidden", False),
        (409, ConflictError, "Conflict", False),
        (422, UnprocessableEntityError, "Unprocessable Entity", False),
        (429, RateLimitError, "Too Many Requests", True),
        (500, InternalServerError, "Internal Server Error", True),
        (520, InternalServerError, "Unknown", True),
    ],
)
async def test_status_raises_matching_error(
    open_avatars: OpenAvatars,
    mirako_emulator: Emulator,
    seed_ids: dict[str, str],
    code: int,
    exception_type: type[APIStatusError],
    title: str,
    retried: bool,
) -> None:
    avatars = open_avatars(retry=FAST_RETRY)
    avatar_id = seed_ids["Aiko"]
    detail = f"Injected {code} for the test."
    errors = [{"location": "path.id", "message": "rejected by the test", "value": avatar_id}]
    mirako_emulator.inject(Status(code, detail=detail, errors=errors), "get")

    with pytest.raises(APIStatusError) as caught:
        await avatars.get(avatar_id)

    error = caught.value
    expected_attempts = FAST_RETRY.max_retries + 1 if retried else 1
    assert type(error) is exception_type
    assert error.status_code == code
    assert error.title == title
    assert error.detail == detail
    assert error.type == "about:blank"
    assert error.instance == f"/v1/avatar/{avatar_id}"
    assert error.errors == (ErrorDetail(location="path.id", message="rejected by the test", value=avatar_id),)
    assert error.request_id == error.headers["X-Request-Id"]
    assert error.body is None, "a problem body is read into fields, not kept as text"
    assert str(code) in str(error)
    assert detail.rstrip(".") in str(error)
    assert error.attempts == expected_attempts
    assert mirako_emulator.stats.by_route["get"] == expected_attempts


@pytest.mark.parametrize(
    ("page", "title"),
    [
        (HtmlError(502, "nginx"), "502 Bad Gateway"),
        (HtmlError(504, "cloudflare"), "127.0.0.1 | 504: Gateway Timeout"),
    ],
    ids=["nginx", "cloudflare"],
)
async def test_html_error_page_gives_readable_message(
    open_avatars: OpenAvatars,
    mirako_emulator: Emulator,
    page: HtmlError,
    title: str,
) -> None:
    avatars = open_avatars(retry=FAST_RETRY)
    mirako_emulator.inject(page, "list")

    with pytest.raises(InternalServerError) as caught:
        await avatars.list()

    error = caught.value
    message = str(error)
    assert error.status_code == page.code
    assert error.title is None
    assert error.detail is None
    assert error.body is not None
    assert error.body.lstrip().startswith(("<html>", "<!DOCTYPE html>"))
    assert title in message
    assert "<" not in message, "the message carries the page title, not its markup"
    assert error.attempts == FAST_RETRY.max_retries + 1
