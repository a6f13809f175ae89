"""The three flows of the Mirako guide to managing avatars, end to end against the emulator.

The guide lists avatars and prints their themes, fetches one avatar and
shows its theme links, and deletes an avatar, expecting status 204.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from mirako_async import Avatar, AvatarStatus, NotFoundError
from mirako_async.testing import Emulator
from tests.integration._support import AvatarsApi, ResponseRecorder


def print_themes(avatars: Sequence[Avatar]) -> None:
    """Print each avatar with its theme names, or a line that it has none."""
    print(f"Found {len(avatars)} avatar(s)")
    for avatar in avatars:
        print(f"Avatar: {avatar.name} ({avatar.id}), {avatar.status}, created {avatar.created_at:%Y-%m-%d}")
        if not avatar.themes:
            print("  No themes available")
        for theme in avatar.themes:
            print(f"  - {theme.name}")


async def test_list_prints_every_theme(
    avatars: AvatarsApi,
    served: ResponseRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = await avatars.list()
    print_themes(listed)

    output = capsys.readouterr().out
    sent = json.loads(served.last("list").body)["data"]
    assert [avatar.id for avatar in listed] == [avatar["id"] for avatar in sent]
    assert output.startswith(f"Found {len(sent)} avatar(s)\n")
    for avatar, raw in zip(listed, sent, strict=True):
        raw_themes = raw["themes"] or []
        assert [theme.name for theme in avatar.themes] == [theme["name"] for theme in raw_themes]
        assert f"Avatar: {raw['name']} ({raw['id']})" in output
        for theme in raw_themes:
            assert f"  - {theme['name']}\n" in output
    without_themes = [raw for raw in sent if not raw["themes"]]
    assert without_themes, "the seed avatars include some without themes"
    assert output.count("  No themes available\n") == len(without_themes)


async def test_get_keeps_presigned_urls_byte_for_byte(
    avatars: AvatarsApi,
    served: ResponseRecorder,
    seed_ids: dict[str, str],
) -> None:
    avatar = await avatars.get(seed_ids["Aiko"])

    sent = json.loads(served.last("get").body)["data"]
    assert avatar.id == sent["id"]
    assert avatar.status == AvatarStatus.READY
    assert len(avatar.themes) == len(sent["themes"]) == 3
    for theme, raw in zip(avatar.themes, sent["themes"], strict=True):
        assert theme.name == raw["name"]
        assert theme.key_image == raw.get("key_image")
        assert theme.live_video == raw.get("live_video")
    first_url = avatar.themes[0].key_image
    assert first_url is not None
    assert "%2F" in first_url, "presigned URLs carry percent escapes that must survive decoding"
    assert avatar.themes[2].live_video is None, "the Outdoor theme has no live video"


async def test_delete_then_get_raises_not_found(
    avatars: AvatarsApi,
    mirako_emulator: Emulator,
    seed_ids: dict[str, str],
) -> None:
    doomed = seed_ids["Kenji"]
    before = await avatars.list()

    await avatars.delete(doomed)

    assert mirako_emulator.stats.statuses.get(204) == 1
    with pytest.raises(NotFoundError) as caught:
        await avatars.get(doomed)
    assert caught.value.status_code == 404
    after = await avatars.list()
    assert len(after) == len(before) - 1
    assert doomed not in {avatar.id for avatar in after}
