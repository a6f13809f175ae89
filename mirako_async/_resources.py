"""The ``avatars`` resource of the asynchronous client."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._converter import BodyDecodeError, decode_avatar, decode_avatar_list
from ._exceptions import ResponseValidationError
from ._models import Avatar
from ._validation import avatar_path

if TYPE_CHECKING:
    from ._client import AsyncMirako, Response

__all__ = ["AsyncAvatars"]

T = TypeVar("T")
_LIST_PATH = "/v1/avatar/list"


def _decode(response: Response, method: str, decode: Callable[[bytes], T]) -> T:
    """Decode a 2xx body, turning any misfit into one ``ResponseValidationError``."""
    try:
        return decode(response.body)
    except BodyDecodeError as exc:
        message = f"{method} {response.url.path} returned {response.status} with an invalid body. {exc.reason}"
        if exc.paths:
            message += " Failing fields: " + "; ".join(exc.paths[:20])
            if len(exc.paths) > 20:
                message += f"; and {len(exc.paths) - 20} more"
            message += "."
        raise ResponseValidationError(
            message,
            method=method,
            url=str(response.url),
            status_code=response.status,
            paths=tuple(path.partition(":")[0] for path in exc.paths),
            attempts=response.attempts,
        ) from exc.__cause__


class AsyncAvatars:
    """List, fetch and delete avatars: ``client.avatars``."""

    def __init__(self, client: AsyncMirako) -> None:
        self._client = client

    async def list(self, *, timeout: float | None = None) -> list[Avatar]:
        """List every avatar of the current user.

        Args:
            timeout: Seconds allowed for each attempt; the client's by default.

        Returns:
            The avatars, in the server's order; empty when there are none.

        Raises:
            MirakoError: A subclass says what failed; see ``mirako_async``.
        """
        response = await self._client.request("GET", _LIST_PATH, timeout=timeout)
        return _decode(response, "GET", decode_avatar_list)

    async def get(self, avatar_id: str, *, timeout: float | None = None) -> Avatar:
        """Fetch one avatar, with fresh presigned links to its theme assets.

        Args:
            avatar_id: The avatar's id.
            timeout: Seconds allowed for each attempt; the client's by default.

        Raises:
            ValueError: ``avatar_id`` is empty, ``.``, ``..`` or ``list``.
            NotFoundError: No avatar has this id.
            MirakoError: Another subclass says what failed.
        """
        response = await self._client.request("GET", avatar_path(avatar_id), timeout=timeout)
        return _decode(response, "GET", decode_avatar)

    async def delete(self, avatar_id: str, *, timeout: float | None = None) -> None:
        """Delete an avatar for good.

        A retried delete that ends in 404 returns normally, because the
        earlier attempt may have deleted the avatar before its answer was
        lost. A 404 on the first attempt raises ``NotFoundError``.

        Args:
            avatar_id: The avatar's id.
            timeout: Seconds allowed for each attempt; the client's by default.

        Raises:
            ValueError: ``avatar_id`` is empty, ``.``, ``..`` or ``list``.
            NotFoundError: No avatar has this id.
            MirakoError: Another subclass says what failed.
        """
        await self._client.request("DELETE", avatar_path(avatar_id), timeout=timeout)
