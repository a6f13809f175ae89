"""The storage server, which plays S3 serving the presigned asset URLs."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import CIMultiDict

from ._http import BytesBody, Reply, new_request_id
from ._respond import respond
from ._signing import AssetRef
from ._state import EmulatorState

__all__ = ["AssetBody", "handle_storage"]

# Assets are generated in blocks of this size, so that serving a large asset
# never holds more than one block in memory.
BLOCK_SIZE: Final = 64 * 1024
_MAGIC: Final = {
    "key_image": b"\x89PNG\r\n\x1a\n",
    "live_video": b"\x00\x00\x00\x18ftypmp42",
}
_RANGE: Final = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class AssetBody:
    """Deterministic bytes of one asset, generated on the fly.

    The content depends only on the asset's key, so a larger size extends a
    smaller one. It starts with the PNG signature or an MP4 ``ftyp`` box, and
    the rest is pseudo-random.
    """

    asset: AssetRef
    size: int

    @property
    def length(self) -> int:
        """Asset size in bytes."""
        return self.size

    def _block(self, index: int) -> bytes:
        block = random.Random(f"{self.asset.key}:{index}").randbytes(BLOCK_SIZE)
        if index == 0:
            magic = _MAGIC[self.asset.kind]
            block = magic + block[len(magic) :]
        return block

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes from offset ``start`` up to ``end``, one block at a time."""
        end = min(end, self.size)
        offset = start
        while offset < end:
            index, skip = divmod(offset, BLOCK_SIZE)
            take = min(BLOCK_SIZE - skip, end - offset)
            yield self._block(index)[skip : skip + take]
            offset += take


@dataclass(frozen=True, slots=True)
class _RangeBody:
    """A byte range of another body."""

    inner: AssetBody
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        return self.inner.chunks(self.start + start, self.start + end)


def asset_etag(asset: AssetRef, size: int) -> str:
    """Return the quoted ETag of an asset of the given size."""
    return '"' + hashlib.md5(f"{asset.key}:{size}".encode(), usedforsecurity=False).hexdigest() + '"'


def xml_error(status: int, code: str, message: str, *, resource: str, request_id: str) -> Reply:
    """Build an S3-style XML error reply."""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{escape(request_id)}</RequestId></Error>"
    )
    headers = CIMultiDict[str]({"x-amz-request-id": request_id})
    return Reply(status, headers, BytesBody(text.encode()), "application/xml")


def parse_range(header: str, size: int) -> tuple[int, int] | Literal[False] | None:
    """Parse a single-range ``Range`` header.

    Returns:
        ``(start, end)`` with ``end`` exclusive for a satisfiable range,
        None to ignore the header (it is invalid or requests several
        ranges, and S3 then sends the whole object), or False if the range
        cannot be satisfied.
    """
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size
    start = int(first)
    end = size if not last else int(last) + 1
    if last and end <= start:
        return None
    if start >= size:
        return False
    return start, min(end, size)


def _asset_reply(state: EmulatorState, request: web.BaseRequest, request_id: str) -> Reply:
    target = request.raw_path
    resource = target.partition("?")[0]

    if "Authorization" in request.headers:
        return xml_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            resource=resource,
            request_id=request_id,
        )
    if request.method not in ("GET", "HEAD"):
        reply = xml_error(
            405,
            "MethodNotAllowed",
            f"The method {request.method} is not allowed against this resource.",
            resource=resource,
            request_id=request_id,
        )
        reply.headers["Allow"] = "GET, HEAD"
        return reply

    check = state.signer.check(target)
    if check.outcome == "malformed":
        return xml_error(
            400, "AuthorizationQueryParametersError", check.message,
            resource=resource, request_id=request_id,
        )  # fmt: skip
    if check.outcome != "valid" or check.asset is None:
        return xml_error(403, "AccessDenied", check.message, resource=resource, request_id=request_id)

    asset = check.asset
    size = state.store.asset_size(asset.avatar_id, asset.theme, asset.kind)
    if size is None:
        return xml_error(
            404, "NoSuchKey", "The specified key does not exist.",
            resource=resource, request_id=request_id,
        )  # fmt: skip

    headers = CIMultiDict[str](
        {
            "x-amz-request-id": request_id,
            "Accept-Ranges": "bytes",
            "ETag": asset_etag(asset, size),
        }
    )
    body = AssetBody(asset, size)
    range_header = request.headers.get("Range")
    if range_header is None:
        return Reply(200, headers, body, asset.content_type)
    parsed = parse_range(range_header, size)
    if parsed is None:
        return Reply(200, headers, body, asset.content_type)
    if parsed is False:
        reply = xml_error(
            416, "InvalidRange", "The requested range is not satisfiable",
            resource=resource, request_id=request_id,
        )  # fmt: skip
        reply.headers["Content-Range"] = f"bytes */{size}"
        return reply
    start, end = parsed
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return Reply(206, headers, _RangeBody(body, start, end), asset.content_type)


async def handle_storage(state: EmulatorState, request: web.BaseRequest) -> web.StreamResponse:
    """Serve one request on the storage port.

    Faults injected for the ``storage`` route apply before any check, so
    a fault can also hit a request that would have been rejected.
    """
    state.stats.record_storage_request(request.method, request.raw_path, request.headers)
    request_id = new_request_id().replace("-", "").upper()[:16]

    async def process() -> Reply:
        return _asset_reply(state, request, request_id)

    response, _ = await respond(
        request,
        state.faults.pick("storage"),
        closing=state.closing,
        request_id=request_id,
        process=process,
    )
    return response
