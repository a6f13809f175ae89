"""Fault arguments that the emulator rejects, and faults built from their JSON form."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from mirako_async.testing import InvalidJson, Latency, RawResponse, RetryAfter, Stall, Status
from mirako_async.testing._faults import fault_from_dict


@pytest.mark.parametrize(
    ("build", "error"),
    [
        pytest.param(lambda: Latency("1"), TypeError, id="latency-string"),  # type: ignore[arg-type]
        pytest.param(lambda: Latency(float("nan")), ValueError, id="latency-nan"),
        pytest.param(lambda: Latency(-1), ValueError, id="latency-negative"),
        pytest.param(lambda: RetryAfter(429, seconds=1.5), TypeError, id="retry-after-float"),  # type: ignore[arg-type]
        pytest.param(lambda: RetryAfter(429, seconds=-1), ValueError, id="retry-after-negative"),
        pytest.param(lambda: RetryAfter(429, http_date=datetime(2026, 1, 1)), ValueError, id="naive-date"),
        pytest.param(lambda: Stall(after_bytes=1.5), TypeError, id="stall-float"),  # type: ignore[arg-type]
        pytest.param(lambda: Stall(after_bytes=-1), ValueError, id="stall-negative"),
        pytest.param(lambda: RawResponse("text"), TypeError, id="raw-text"),  # type: ignore[arg-type]
    ],
)
def test_invalid_fault_arguments_raise(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_faults_build_from_json_form() -> None:
    body = base64.b64encode(b"{not json").decode()
    data = base64.b64encode(b"HTTP/1.1 200 OK\r\n\r\n").decode()

    assert fault_from_dict({"type": "Status", "code": 503}) == Status(503)
    assert fault_from_dict({"type": "InvalidJson", "body": body}) == InvalidJson(body=b"{not json")
    assert fault_from_dict({"type": "RawResponse", "data": data}) == RawResponse(b"HTTP/1.1 200 OK\r\n\r\n")
    when = fault_from_dict({"type": "RetryAfter", "code": 429, "http_date": "2026-12-04T12:00:03+00:00"})
    assert when == RetryAfter(429, http_date=datetime(2026, 12, 4, 12, 0, 3, tzinfo=UTC))


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ({"type": "Teapot"}, ValueError, "Unknown fault type"),
        ({"type": "Status", "colour": "red"}, ValueError, "Invalid arguments"),
        ({"type": "InvalidJson", "body": 5}, TypeError, "base64"),
        ({"type": "RawResponse", "data": "***"}, ValueError, "not valid base64"),
    ],
)
def test_invalid_fault_specs_raise(spec: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        fault_from_dict(spec)
