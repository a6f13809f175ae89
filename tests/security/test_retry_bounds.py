"""A hostile server cannot make the client send more requests, or wait longer, than its settings allow."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mirako_async import (
    APIConnectionError,
    APITimeoutError,
    MirakoError,
    RateLimitError,
    RetryPolicy,
)

from ._raw_server import RawServer, Reply, http_response, json_response, scripted
from ._support import API_KEY, Flavor

DROP = Reply(b"")  # Close the connection without a response.
NOT_FOUND = Reply(json_response(404, {"title": "Not Found"}))


def client_options(server: RawServer, **overrides: Any) -> dict[str, Any]:
    """Return client arguments aimed at ``server``, with millisecond backoff."""
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": server.origin,
        "timeout": 2.0,
        "connect_timeout": 2.0,
        "retry": RetryPolicy(max_retries=0, initial_backoff=0.001, max_backoff=0.002),
    }
    options.update(overrides)
    return options


@pytest.mark.parametrize(
    ("method", "arguments"),
    [("list", ()), ("get", ("av-1",)), ("delete", ("av-1",))],
    ids=["list", "get", "delete"],
)
def test_max_retries_zero_sends_one_request(
    flavor: Flavor, api_server: RawServer, method: str, arguments: tuple[str, ...]
) -> None:
    # aiohttp 3.14 resends an idempotent request once on its own when a
    # connection drops; the client turns that off so that it counts every request.
    api_server.responder = lambda _request: DROP

    with pytest.raises(APIConnectionError) as info:
        flavor.call(client_options(api_server), method, *arguments)

    assert info.value.attempts == 1
    assert len(api_server.requests) == 1


def test_attempts_count_every_request_sent(flavor: Flavor, api_server: RawServer) -> None:
    api_server.responder = lambda _request: DROP
    options = client_options(api_server, retry=RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002))

    with pytest.raises(APIConnectionError) as info:
        flavor.call(options, "delete", "av-1")

    assert info.value.attempts == 3
    assert len(api_server.requests) == 3


def test_dropped_delete_is_not_reported_as_not_found(flavor: Flavor, api_server: RawServer) -> None:
    # The first DELETE may have removed the avatar before the connection
    # dropped, so a 404 to a resend the caller never asked for is misleading.
    api_server.responder = scripted([DROP, NOT_FOUND])

    with pytest.raises(APIConnectionError):
        flavor.call(client_options(api_server), "delete", "av-1")

    assert len(api_server.requests) == 1


def test_retried_delete_after_drop_treats_404_as_deleted(flavor: Flavor, api_server: RawServer) -> None:
    api_server.responder = scripted([DROP, NOT_FOUND])
    options = client_options(api_server, retry=RetryPolicy(max_retries=1, initial_backoff=0.001, max_backoff=0.002))

    assert flavor.call(options, "delete", "av-1") is None

    assert len(api_server.requests) == 2


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("retry_after", ["3600", "Fri, 31 Dec 9999 23:59:59 GMT", "999999999999999"])
def test_long_retry_after_raises_at_once(flavor: Flavor, api_server: RawServer, status: int, retry_after: str) -> None:
    api_server.reply_with(json_response(status, {"title": "Slow down"}, [("Retry-After", retry_after)]))
    options = client_options(api_server, retry=RetryPolicy(max_retries=3, max_retry_after=1.0))
    started = time.monotonic()

    with pytest.raises(MirakoError) as info:
        flavor.call(options, "get", "av-1")

    assert time.monotonic() - started < 5.0
    assert len(api_server.requests) == 1
    if status == 429:
        assert isinstance(info.value, RateLimitError)
        assert info.value.retry_after is not None
        assert info.value.retry_after > 1.0


def test_bulk_call_ends_by_deadline(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(json_response(429, {"title": "Slow down"}, [("Retry-After", "3600")]))
    options = client_options(api_server, deadline=0.5)
    started = time.monotonic()

    outcomes = flavor.call(options, "get_many", ["av-1", "av-2"], concurrency=1, time_limit=5.0)

    assert time.monotonic() - started < 3.0
    assert all(isinstance(outcome, MirakoError) for outcome in outcomes)


def test_bulk_call_honours_max_retry_after(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(json_response(429, {"title": "Slow down"}, [("Retry-After", "3600")]))
    options = client_options(api_server, retry=RetryPolicy(max_retries=0, max_retry_after=1.0))
    started = time.monotonic()

    outcomes = flavor.call(options, "get_many", ["av-1", "av-2"], concurrency=1, time_limit=6.0)

    # The second id may wait out a pause of up to max_retry_after (1 s), not the hour asked for.
    assert time.monotonic() - started < 4.0
    assert all(isinstance(outcome, RateLimitError) for outcome in outcomes)
    assert all(outcome.retry_after == 3600 for outcome in outcomes)


def test_deadline_bounds_a_silent_server(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", keep_open=True)
    options = client_options(
        api_server,
        timeout=30.0,
        deadline=0.5,
        retry=RetryPolicy(max_retries=5, initial_backoff=0.001, max_backoff=0.002),
    )
    started = time.monotonic()

    with pytest.raises(APITimeoutError):
        flavor.call(options, "list")

    assert time.monotonic() - started < 3.0


def test_timeout_bounds_each_attempt(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(b"", keep_open=True)
    options = client_options(
        api_server,
        timeout=0.3,
        retry=RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002),
    )
    started = time.monotonic()

    with pytest.raises(APITimeoutError) as info:
        flavor.call(options, "get", "av-1")

    assert time.monotonic() - started < 3.0
    assert info.value.attempts == 3


def test_redirect_loop_is_bounded(flavor: Flavor, api_server: RawServer) -> None:
    api_server.reply_with(http_response(307, headers=[("Location", "/v1/avatar/list")]))
    options = client_options(api_server, retry=RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002))

    with pytest.raises(MirakoError):
        flavor.call(options, "list")

    # Redirect errors are not retried: one attempt of six requests.
    assert len(api_server.requests) == 6
