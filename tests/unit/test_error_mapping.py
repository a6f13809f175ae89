"""Mapping of error responses to exceptions, checked with aioresponses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aioresponses import aioresponses

from mirako_async import (
    APIStatusError,
    AsyncMirako,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorDetail,
    InsufficientCreditsError,
    InternalServerError,
    MirakoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)

BASE = "https://api.test.invalid"
LIST_URL = f"{BASE}/v1/avatar/list"
PROBLEM = "application/problem+json"


@pytest.fixture
async def client() -> AsyncIterator[AsyncMirako]:
    async with AsyncMirako(api_key="unit-key", base_url=BASE, max_retries=0) as client:
        yield client


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (418, APIStatusError),
        (500, InternalServerError),
        (503, InternalServerError),
        (520, InternalServerError),
        (599, InternalServerError),
    ],
)
async def test_status_maps_to_exception(
    client: AsyncMirako, mocked: aioresponses, status: int, exception: type[APIStatusError]
) -> None:
    mocked.get(LIST_URL, status=status, payload={"title": "T", "status": status, "detail": "D"}, content_type=PROBLEM)

    with pytest.raises(exception) as info:
        await client.avatars.list()

    assert type(info.value) is exception
    assert info.value.status_code == status
    assert isinstance(info.value, MirakoError)


async def test_problem_fields_are_read(client: AsyncMirako, mocked: aioresponses) -> None:
    problem = {
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "validation failed",
        "type": "https://mirako.co/problems/validation",
        "instance": "https://mirako.co/errors/abc",
        "errors": [{"location": "path.id", "message": "bad id", "value": "x y"}, {"message": "only a message"}],
    }
    mocked.get(LIST_URL, status=422, payload=problem, content_type=PROBLEM, headers={"X-Request-Id": "req-42"})

    with pytest.raises(UnprocessableEntityError) as info:
        await client.avatars.list()

    error = info.value
    assert error.title == "Unprocessable Entity"
    assert error.detail == "validation failed"
    assert error.type == "https://mirako.co/problems/validation"
    assert error.instance == "https://mirako.co/errors/abc"
    assert error.errors == (ErrorDetail("path.id", "bad id", "x y"), ErrorDetail(None, "only a message", None))
    assert error.request_id == "req-42"
    assert error.body is None
    assert "validation failed" in str(error)
    assert "req-42" in str(error)


@pytest.mark.parametrize("errors", [None, "not a list", [1, "x"]], ids=["null", "string", "bad-items"])
async def test_missing_or_bad_errors_give_empty_tuple(
    client: AsyncMirako, mocked: aioresponses, errors: object
) -> None:
    mocked.get(LIST_URL, status=400, payload={"title": "Bad Request", "errors": errors}, content_type=PROBLEM)

    with pytest.raises(BadRequestError) as info:
        await client.avatars.list()

    assert info.value.errors == ()


async def test_plain_json_error_body_is_read(client: AsyncMirako, mocked: aioresponses) -> None:
    mocked.get(LIST_URL, status=403, payload={"title": "Forbidden", "detail": "not yours"})

    with pytest.raises(PermissionDeniedError) as info:
        await client.avatars.list()

    assert info.value.detail == "not yours"


async def test_http_status_wins_over_body_status(client: AsyncMirako, mocked: aioresponses) -> None:
    mocked.get(LIST_URL, status=404, payload={"title": "Internal", "status": 500}, content_type=PROBLEM)

    with pytest.raises(NotFoundError) as info:
        await client.avatars.list()

    assert info.value.status_code == 404


async def test_html_page_gives_typed_error_with_excerpt(client: AsyncMirako, mocked: aioresponses) -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center>" + "x" * 5000 + "</body></html>"
    )
    mocked.get(LIST_URL, status=502, body=page, content_type="text/html")

    with pytest.raises(InternalServerError) as info:
        await client.avatars.list()

    assert info.value.body == page
    assert info.value.title is None
    assert "502 Bad Gateway" in str(info.value)
    assert len(str(info.value)) < 400


async def test_unauthorized_message_names_both_variables(client: AsyncMirako, mocked: aioresponses) -> None:
    mocked.get(LIST_URL, status=401, payload={"title": "Unauthorized"}, content_type=PROBLEM)

    with pytest.raises(AuthenticationError) as info:
        await client.avatars.list()

    assert "MIRAKO_API_KEY" in str(info.value)
    assert "MIRAKO_API_TOKEN" in str(info.value)
    assert "unit-key" not in str(info.value)


async def test_rate_limit_carries_retry_after(client: AsyncMirako, mocked: aioresponses) -> None:
    mocked.get(
        LIST_URL, status=429, payload={"title": "Too Many Requests"}, content_type=PROBLEM, headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimitError) as info:
        await client.avatars.list()

    assert info.value.retry_after == 7.0
    assert info.value.attempts == 1


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        pytest.param("{not json", "application/json", id="invalid-json"),
        pytest.param("<html>oops</html>", "text/html", id="html-200"),
        pytest.param('{"data": {"id": 1}}', "application/json", id="wrong-shape"),
    ],
)
async def test_bad_success_body_raises_validation_error(
    client: AsyncMirako, mocked: aioresponses, payload: str, content_type: str
) -> None:
    mocked.get(f"{BASE}/v1/avatar/abc", status=200, body=payload, content_type=content_type)

    with pytest.raises(ResponseValidationError) as info:
        await client.avatars.get("abc")

    error = info.value
    assert error.status_code == 200
    assert error.method == "GET"
    assert error.url == f"{BASE}/v1/avatar/abc"
    assert "GET /v1/avatar/abc returned 200" in str(error)
    assert error.__cause__ is not None


async def test_validation_error_names_failing_paths(client: AsyncMirako, mocked: aioresponses) -> None:
    mocked.get(LIST_URL, status=200, body='{"data": [{"id": "a"}]}', content_type="application/json")

    with pytest.raises(ResponseValidationError) as info:
        await client.avatars.list()

    assert "data[0].user_id" in info.value.paths
    assert "data[0].created_at" in info.value.paths
    assert re.search(r"data\[0\]\.created_at: required field missing", str(info.value))
