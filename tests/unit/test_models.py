"""Decoding of response bodies into models, and back with to_dict()."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mirako_async import Avatar, AvatarStatus, AvatarTheme
from mirako_async._converter import BodyDecodeError, decode_avatar, decode_avatar_list, parse_rfc3339

AVATAR: dict[str, Any] = {
    "id": "a1b2c3d4-e5f6-7890-1234-567890abcdef",
    "user_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "name": "Studio host",
    "status": "READY",
    "created_at": "2025-03-14T09:26:53.589793238Z",
    "supported_interactive_models": ["metis-2.5"],
    "themes": [
        {
            "name": "Default",
            "key_image": "https://store.example/k.png?sig=a%2Fb",
            "live_video": "https://store.example/v.mp4",
        },
        {"name": "Bare"},
    ],
}


def body(data: object) -> bytes:
    return json.dumps({"data": data}).encode()


def test_decode_avatar_reads_every_field() -> None:
    avatar = decode_avatar(body(AVATAR))

    assert avatar.id == AVATAR["id"]
    assert avatar.user_id == AVATAR["user_id"]
    assert avatar.name == "Studio host"
    assert avatar.status is AvatarStatus.READY
    assert avatar.created_at == datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
    assert avatar.supported_interactive_models == ("metis-2.5",)
    assert avatar.themes == (
        AvatarTheme("Default", "https://store.example/k.png?sig=a%2Fb", "https://store.example/v.mp4"),
        AvatarTheme("Bare", None, None),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2025-03-14T09:26:53Z", datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC), id="no-fraction"),
        pytest.param("2025-03-14T09:26:53.5Z", datetime(2025, 3, 14, 9, 26, 53, 500000, tzinfo=UTC), id="1-digit"),
        pytest.param("2025-03-14T09:26:53.123Z", datetime(2025, 3, 14, 9, 26, 53, 123000, tzinfo=UTC), id="3-digits"),
        pytest.param(
            "2025-03-14T09:26:53.123456Z", datetime(2025, 3, 14, 9, 26, 53, 123456, tzinfo=UTC), id="6-digits"
        ),
        pytest.param(
            "2025-03-14T09:26:53.123456789Z", datetime(2025, 3, 14, 9, 26, 53, 123456, tzinfo=UTC), id="9-digits"
        ),
        pytest.param("2025-03-14t09:26:53z", datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC), id="lower-case"),
        pytest.param(
            "2025-03-14T17:26:53.1+08:00",
            datetime(2025, 3, 14, 17, 26, 53, 100000, tzinfo=timezone(timedelta(hours=8))),
            id="positive-offset",
        ),
        pytest.param(
            "2025-03-14T04:56:53-04:30",
            datetime(2025, 3, 14, 4, 56, 53, tzinfo=timezone(-timedelta(hours=4, minutes=30))),
            id="negative-offset",
        ),
    ],
)
def test_parse_rfc3339_accepts_go_formats(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)

    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    ["2025-03-14T09:26:53", "2025-03-14", "2025-03-14T09:26:53.1234567890Z", "2025-13-14T09:26:53Z", "yesterday", ""],
)
def test_parse_rfc3339_rejects_invalid(text: str) -> None:
    with pytest.raises(ValueError, match=r"RFC 3339|range|month"):
        parse_rfc3339(text)


def test_unknown_status_stays_a_plain_string() -> None:
    avatar = decode_avatar(body(dict(AVATAR, status="ARCHIVED")))

    assert avatar.status == "ARCHIVED"
    assert not isinstance(avatar.status, AvatarStatus)


@pytest.mark.parametrize("value", [None, "missing"], ids=["null", "missing"])
def test_null_or_missing_lists_become_empty_tuples(value: object) -> None:
    data = dict(AVATAR)
    for name in ("supported_interactive_models", "themes"):
        if value == "missing":
            del data[name]
        else:
            data[name] = value

    avatar = decode_avatar(body(data))

    assert avatar.supported_interactive_models == ()
    assert avatar.themes == ()


def test_unknown_fields_are_ignored_everywhere() -> None:
    data = dict(AVATAR, new_field={"x": 1}, themes=[{"name": "Default", "thumbnail": "t"}])

    avatar = decode_avatar(json.dumps({"data": data, "meta": {"page": 1}}).encode())

    assert avatar.themes == (AvatarTheme("Default"),)


def test_list_with_null_data_is_empty() -> None:
    assert decode_avatar_list(b'{"data": null}') == []


def test_list_keeps_server_order() -> None:
    second = dict(AVATAR, id="second")

    avatars = decode_avatar_list(body([AVATAR, second]))

    assert [avatar.id for avatar in avatars] == [AVATAR["id"], "second"]


def test_invalid_items_report_every_path() -> None:
    broken = dict(AVATAR, created_at=5, name=None)
    bad_theme = dict(AVATAR, themes=[{"name": 3}, "x"])

    with pytest.raises(BodyDecodeError) as info:
        decode_avatar_list(body([AVATAR, broken, bad_theme]))

    paths = [entry.partition(":")[0] for entry in info.value.paths]
    assert paths == ["data[1].name", "data[1].created_at", "data[2].themes[0].name", "data[2].themes[1]"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(b"<html>502</html>", "not valid JSON", id="html"),
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b'{"data": "\xff"}', "not valid UTF-8", id="bad-utf8"),
        pytest.param(b"[]", "JSON object was expected", id="array"),
        pytest.param(b"[" * 100_000, "could not be decoded", id="deep-nesting"),
        pytest.param(b'{"data": [' + b"9" * 5000 + b"]}", "could not be decoded", id="huge-number"),
        pytest.param(b'{"data": {}}', "does not fit", id="object-for-list"),
        pytest.param(b'{"other": []}', "does not fit", id="missing-data"),
    ],
)
def test_list_body_that_does_not_fit_raises(payload: bytes, reason: str) -> None:
    with pytest.raises(BodyDecodeError, match=reason):
        decode_avatar_list(payload)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", 42),
        ("name", ["x"]),
        ("name", True),
        ("status", 1),
        ("created_at", "2025-03-14T09:26:53"),
        ("themes", "Default"),
        ("themes", {"name": "Default"}),
        ("supported_interactive_models", [1, 2]),
    ],
)
def test_wrong_type_is_never_coerced(field: str, value: object) -> None:
    with pytest.raises(BodyDecodeError) as info:
        decode_avatar(body(dict(AVATAR, **{field: value})))

    assert any(entry.startswith(f"data.{field}") for entry in info.value.paths)


def test_missing_required_field_is_named() -> None:
    data = dict(AVATAR)
    del data["user_id"]

    with pytest.raises(BodyDecodeError) as info:
        decode_avatar(body(data))

    assert info.value.paths == ("data.user_id: required field missing",)


def test_to_dict_round_trips_in_api_field_names() -> None:
    avatar = decode_avatar(body(dict(AVATAR, created_at="2025-03-14T09:26:53.5+08:00")))

    data = avatar.to_dict()

    assert data == {
        "id": AVATAR["id"],
        "user_id": AVATAR["user_id"],
        "name": "Studio host",
        "status": "READY",
        "created_at": "2025-03-14T09:26:53.500000+08:00",
        "supported_interactive_models": ["metis-2.5"],
        "themes": [
            {
                "name": "Default",
                "key_image": AVATAR["themes"][0]["key_image"],
                "live_video": AVATAR["themes"][0]["live_video"],
            },
            {"name": "Bare", "key_image": None, "live_video": None},
        ],
    }
    assert json.loads(json.dumps(data)) == data
    assert decode_avatar(body(data)) == avatar


def test_to_dict_writes_utc_with_z() -> None:
    avatar = decode_avatar(body(AVATAR))

    assert avatar.to_dict()["created_at"] == "2025-03-14T09:26:53.589793Z"


def test_models_are_frozen_and_slotted() -> None:
    avatar = decode_avatar(body(AVATAR))

    with pytest.raises(AttributeError):
        avatar.name = "other"  # type: ignore[misc]
    assert not hasattr(avatar, "__dict__")
    assert isinstance(avatar, Avatar)
    assert hash(avatar) == hash(decode_avatar(body(AVATAR)))
