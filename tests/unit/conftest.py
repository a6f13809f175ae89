"""Fixtures for unit tests that fake the network with aioresponses."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses


class _CompatibleResponse(aiohttp.ClientResponse):
    """A ClientResponse that aioresponses 0.7.9 can build on aiohttp 3.14.

    aiohttp 3.14 added the required keyword argument ``stream_writer``,
    which aioresponses 0.7.9 does not pass. A finished
    upload is what a mocked response has, so a writer that reports zero
    bytes is enough.
    """

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class CompatibleAioresponses(aioresponses):
    """aioresponses that builds ``_CompatibleResponse`` unless a test passes another class."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatibleResponse)
        super().add(*args, **kwargs)


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    """Fake every aiohttp request made in the test; unmatched ones fail."""
    with CompatibleAioresponses() as mock:
        yield mock
