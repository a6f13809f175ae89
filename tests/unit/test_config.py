"""Client settings from arguments and the environment, checked before any I/O."""

from __future__ import annotations

import traceback

import pytest

from mirako_async import AsyncMirako, Mirako, MissingAPIKeyError, RetryPolicy
from mirako_async._config import resolve_api_key, resolve_base_url

CLIENTS = [AsyncMirako, Mirako]
SECRET = "mi-super-secret-value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MIRAKO_API_KEY", "MIRAKO_API_TOKEN", "MIRAKO_BASE_URL", "MIRAKO_API_URL"):
        monkeypatch.delenv(name, raising=False)


def test_api_key_argument_wins() -> None:
    key = resolve_api_key("from-arg", {"MIRAKO_API_KEY": "from-env"})

    assert key.reveal() == "from-arg"


def test_api_key_environment_fallback_order() -> None:
    assert resolve_api_key(None, {"MIRAKO_API_KEY": "k1", "MIRAKO_API_TOKEN": "k2"}).reveal() == "k1"
    assert resolve_api_key(None, {"MIRAKO_API_TOKEN": "k2"}).reveal() == "k2"
    assert resolve_api_key(None, {"MIRAKO_API_KEY": "  ", "MIRAKO_API_TOKEN": "k2"}).reveal() == "k2"


def test_api_key_whitespace_is_stripped() -> None:
    assert resolve_api_key("  mi-key\n", {}).reveal() == "mi-key"


@pytest.mark.parametrize("client_class", CLIENTS)
def test_missing_key_names_both_variables(client_class: type[AsyncMirako | Mirako]) -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        client_class()

    assert "MIRAKO_API_KEY" in str(info.value)
    assert "MIRAKO_API_TOKEN" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize("bad", ["mi-\r\nX-Evil: 1", "mi-\x00", "mi\tkey", "mi key", "mi-ключ"])
def test_key_with_control_characters_is_rejected(client_class: type[AsyncMirako | Mirako], bad: str) -> None:
    with pytest.raises(ValueError, match="invalid character") as info:
        client_class(api_key=bad)

    assert bad.strip() not in str(info.value)


@pytest.mark.parametrize("client_class", CLIENTS)
def test_key_never_shows_in_repr(client_class: type[AsyncMirako | Mirako]) -> None:
    client = client_class(api_key=SECRET, base_url="http://127.0.0.1:9")

    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    assert SECRET not in repr(vars(client))
    if isinstance(client, Mirako):
        client.close()


def sdk_frame_locals(exc: BaseException) -> str:
    """Format the locals of every SDK frame in a traceback, as error trackers capture them."""
    summary = traceback.TracebackException.from_exception(exc, capture_locals=True)
    frames = [frame for frame in summary.stack if "mirako_async" in frame.filename]
    return repr([frame.locals for frame in frames])


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": -1}, {"base_url": "ftp://x"}, {"api_key": SECRET + "\n\x00"}],
    ids=["bad-timeout", "bad-url", "bad-key"],
)
def test_key_never_shows_in_traceback_locals(
    client_class: type[AsyncMirako | Mirako], kwargs: dict[str, object]
) -> None:
    arguments: dict[str, object] = {"api_key": SECRET, "base_url": "http://127.0.0.1:9", **kwargs}

    with pytest.raises(ValueError) as info:
        client_class(**arguments)  # type: ignore[arg-type]

    assert SECRET not in sdk_frame_locals(info.value)
    assert SECRET not in str(info.value)


def test_base_url_falls_back_in_order() -> None:
    assert str(resolve_base_url(None, environ={})) == "https://mirako.co"
    assert str(resolve_base_url(None, environ={"MIRAKO_API_URL": "https://b.example"})) == "https://b.example"
    both = {"MIRAKO_BASE_URL": "https://a.example/", "MIRAKO_API_URL": "https://b.example"}
    assert str(resolve_base_url(None, environ=both)) == "https://a.example"
    assert str(resolve_base_url("https://c.example/prefix/", environ=both)) == "https://c.example/prefix"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000", "http://127.5.6.7", "https://api.example"],
)
def test_secure_or_loopback_urls_are_accepted(url: str) -> None:
    assert resolve_base_url(url, environ={}).scheme in ("http", "https")


@pytest.mark.parametrize("client_class", CLIENTS)
def test_plain_http_to_remote_host_is_refused(client_class: type[AsyncMirako | Mirako]) -> None:
    with pytest.raises(ValueError, match="plain HTTP"):
        client_class(api_key="k", base_url="http://api.example")


def test_plain_http_allowed_when_asked() -> None:
    client = AsyncMirako(api_key="k", base_url="http://api.example", allow_insecure=True)

    assert client.base_url == "http://api.example"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://api.example", "absolute http"),
        ("api.example", "absolute http"),
        ("https://user:pass@api.example", "user name or password"),
        ("https://api.example/?x=1", "query or fragment"),
        ("https://api.example/\r\nX: y", "control characters"),
    ],
)
def test_invalid_base_url_is_rejected(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        resolve_base_url(url, environ={})


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": "5"}, TypeError),
        ({"deadline": 0}, ValueError),
        ({"max_retries": -1}, ValueError),
        ({"max_connections": 0}, ValueError),
        ({"retry": {"max_retries": 1}}, TypeError),
        ({"api_key": 123}, TypeError),
        ({"base_url": 123}, TypeError),
    ],
)
def test_invalid_arguments_raise_typed_errors(
    client_class: type[AsyncMirako | Mirako], kwargs: dict[str, object], error: type[Exception]
) -> None:
    arguments: dict[str, object] = {"api_key": "k", "base_url": "http://127.0.0.1:9", **kwargs}

    with pytest.raises(error):
        client_class(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("client_class", CLIENTS)
def test_max_retries_overrides_policy(client_class: type[AsyncMirako | Mirako]) -> None:
    client = client_class(
        api_key="k", base_url="http://127.0.0.1:9", retry=RetryPolicy(initial_backoff=0.1), max_retries=5
    )

    assert client.retry == RetryPolicy(max_retries=5, initial_backoff=0.1)
    if isinstance(client, Mirako):
        client.close()


@pytest.mark.parametrize("client_class", CLIENTS)
def test_with_options_copies_settings(client_class: type[AsyncMirako | Mirako]) -> None:
    client = client_class(api_key="k", base_url="http://127.0.0.1:9", timeout=30)

    copy = client.with_options(timeout=5, deadline=20, max_retries=0)

    assert (copy.timeout, copy.deadline, copy.retry.max_retries) == (5, 20, 0)
    assert (client.timeout, client.deadline, client.retry.max_retries) == (30, None, 2)
    assert copy.with_options(deadline=None).deadline is None
    if isinstance(client, Mirako):
        client.close()
