"""The retry policy's arithmetic and the Retry-After parser."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mirako_async import RetryPolicy
from mirako_async._retry import parse_retry_after

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def test_defaults() -> None:
    policy = RetryPolicy()

    assert (policy.max_retries, policy.initial_backoff, policy.max_backoff, policy.max_retry_after) == (
        2,
        0.5,
        8.0,
        60.0,
    )


def test_policy_is_immutable() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().max_retries = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"initial_backoff": -0.1}, {"max_backoff": float("inf")}, {"max_retry_after": -1}],
)
def test_invalid_values_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_bool_max_retries_is_rejected() -> None:
    with pytest.raises(TypeError):
        RetryPolicy(max_retries=True)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 520, 599])
def test_retryable_statuses(status: int) -> None:
    assert RetryPolicy().is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422, 499])
def test_other_client_errors_are_not_retried(status: int) -> None:
    assert not RetryPolicy().is_retryable_status(status)


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0)

    ceilings = [policy.backoff(index, 0.999999) for index in range(7)]

    assert ceilings == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0], rel=1e-5)
    assert policy.backoff(1000, 1.0) == 8.0


def test_full_jitter_spreads_over_the_whole_range() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=1.0)
    rng = random.Random(1234)

    waits = [policy.backoff(0, rng.random()) for _ in range(2000)]

    assert min(waits) < 0.01
    assert max(waits) > 0.99
    assert 0.45 < sum(waits) / len(waits) < 0.55


def test_seeded_jitter_is_repeatable() -> None:
    policy = RetryPolicy()

    first = [policy.backoff(n, random.Random(7).random()) for n in range(3)]
    second = [policy.backoff(n, random.Random(7).random()) for n in range(3)]

    assert first == second


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("3", 3.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        (format_datetime(NOW + timedelta(seconds=3), usegmt=True), 3.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("Fri, 04 Dec 2026 12:00:10 GMT", 10.0),
    ],
)
def test_retry_after_both_forms(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "nan", "inf", "Fri, 99 Foo 2026"])
def test_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None
