"""Response bodies at the edges of the format decode end to end, as the emulator sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mirako_async import AvatarStatus, ResponseValidationError
from mirako_async.testing import Emulator, InvalidJson, Theme
from tests.integration._support import AvatarsApi


async def test_null_lists_decode_as_empty(
    avatars: AvatarsApi, mirako_emulator: Emulator, seed_ids: dict[str, str]
) -> None:
    kenji = mirako_emulator.avatar(seed_ids["Kenji"])
    assert kenji is not None
    assert kenji["themes"] is None
    assert kenji["supported_interactive_models"] is None

    avatar = await avatars.get(seed_ids["Kenji"])

    assert avatar.themes == ()
    assert avatar.supported_interactive_models == ()


async def test_list_with_null_data_is_empty(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    mirako_emulator.clear_avatars()

    listed = await avatars.list()

    assert listed == []


async def test_missing_theme_urls_decode_as_none(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    added = mirako_emulator.add_avatar(
        themes=[
            Theme("Image only", live_video=False),
            Theme("Video only", key_image=False),
            Theme("Neither", key_image=False, live_video=False),
        ]
    )

    avatar = await avatars.get(added["id"])

    image_only, video_only, neither = avatar.themes
    assert image_only.key_image is not None
    assert image_only.live_video is None
    assert video_only.key_image is None
    assert video_only.live_video is not None
    assert neither.key_image is None
    assert neither.live_video is None


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2025-02-11T09:30:15.123456789Z", datetime(2025, 2, 11, 9, 30, 15, 123456, tzinfo=UTC)),
        ("2025-02-11T09:30:15.1Z", datetime(2025, 2, 11, 9, 30, 15, 100000, tzinfo=UTC)),
        ("2025-02-11T09:30:15Z", datetime(2025, 2, 11, 9, 30, 15, tzinfo=UTC)),
        (
            "2025-03-04T16:45:09.5+05:30",
            datetime(2025, 3, 4, 16, 45, 9, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        (
            "2025-03-04T16:45:09.987654321-03:30",
            datetime(2025, 3, 4, 16, 45, 9, 987654, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
        ),
    ],
    ids=["nine-digits", "one-digit", "no-fraction", "plus-offset", "minus-offset-nine-digits"],
)
async def test_created_at_keeps_instant_and_offset(
    avatars: AvatarsApi, mirako_emulator: Emulator, sent: str, expected: datetime
) -> None:
    added = mirako_emulator.add_avatar(created_at=sent)

    avatar = await avatars.get(added["id"])

    assert avatar.created_at == expected
    assert avatar.created_at.utcoffset() == expected.utcoffset()
    assert avatar.created_at.microsecond == expected.microsecond


async def test_seed_timestamps_all_decode(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    sent = {avatar["id"]: avatar["created_at"] for avatar in mirako_emulator.avatars()}

    listed = await avatars.list()

    assert {avatar.id for avatar in listed} == set(sent)
    for avatar in listed:
        text = sent[avatar.id]
        assert avatar.created_at.tzinfo is not None
        assert avatar.created_at.strftime("%Y-%m-%dT%H:%M:%S") == text[:19]


async def test_unknown_status_decodes_as_string(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    # docs/openapi.yaml lists four statuses, so this body fails the schema check on purpose.
    mirako_emulator.on_response = None
    added = mirako_emulator.add_avatar(status="ARCHIVED")

    fetched = await avatars.get(added["id"])
    listed = await avatars.list()

    assert fetched.status == "ARCHIVED"
    assert not isinstance(fetched.status, AvatarStatus)
    assert [avatar.status for avatar in listed if avatar.id == added["id"]] == ["ARCHIVED"]


async def test_unknown_fields_are_ignored(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    # docs/openapi.yaml forbids extra members, so this body fails the schema check on purpose.
    mirako_emulator.on_response = None
    added = mirako_emulator.add_avatar(name="Extra fields", extra={"voice": "alto", "tags": [1, {"nested": None}]})

    avatar = await avatars.get(added["id"])

    assert avatar.name == "Extra fields"
    assert "voice" not in avatar.to_dict()
    assert "tags" not in avatar.to_dict()


async def test_wrong_field_type_raises_validation_error(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    # A number in place of the timestamp breaks docs/openapi.yaml on purpose.
    mirako_emulator.on_response = None
    added = mirako_emulator.add_avatar(extra={"created_at": 1735689600})

    with pytest.raises(ResponseValidationError) as caught:
        await avatars.get(added["id"])

    assert caught.value.status_code == 200
    assert caught.value.paths == ("data.created_at",)
    assert "data.created_at" in str(caught.value)


async def test_invalid_json_raises_validation_error(avatars: AvatarsApi, mirako_emulator: Emulator) -> None:
    mirako_emulator.inject(InvalidJson(), "list")

    with pytest.raises(ResponseValidationError) as caught:
        await avatars.list()

    assert caught.value.status_code == 200
    assert "not valid JSON" in str(caught.value)


async def test_unicode_and_markup_names_survive(avatars: AvatarsApi, seed_ids: dict[str, str]) -> None:
    names = ["Li Wei 李伟", "Marta <Support> & Sales", "Zoë (failed build)"]

    fetched = [await avatars.get(seed_ids[name]) for name in names]

    assert [avatar.name for avatar in fetched] == names
