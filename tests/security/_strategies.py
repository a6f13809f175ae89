"""Hypothesis strategies for hostile server responses: raw HTTP bytes, avatar bodies and problem bodies."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from ._raw_server import Reply, summarize_bytes

__all__ = [
    "avatar_bodies",
    "json_values",
    "problem_bodies",
    "raw_responses",
    "retry_after_values",
    "valid_avatars",
]


class Payload(bytes):
    """Bytes that Hypothesis prints briefly: a body can be hundreds of kilobytes."""

    def __repr__(self) -> str:
        return f"Payload({summarize_bytes(self)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


AVATAR_FIELDS = ("id", "user_id", "name", "status", "created_at", "supported_interactive_models", "themes")
THEME_FIELDS = ("name", "key_image", "live_video")

# Any JSON document, with the values that trip decoders: NaN and infinities
# (which json.dumps writes and json.loads reads), integers far beyond 64
# bits, empty keys and non-ASCII text.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=12),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def rfc3339_times(draw: st.DrawFn) -> str:
    """Draw an RFC 3339 date-time with a zone, as the API may send it."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"{draw(st.sampled_from('Tt '))}{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    digits = draw(st.integers(min_value=0, max_value=9))
    if digits:
        text += "." + draw(st.text(alphabet="0123456789", min_size=digits, max_size=digits))
    offset_minutes = draw(st.one_of(st.none(), st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1)))
    if offset_minutes is None:
        return text + draw(st.sampled_from("Zz"))
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


link_values = st.one_of(st.none(), st.text(max_size=20), st.just("https://storage.mirako.invalid/a.png?sig=1"))
valid_themes = st.fixed_dictionaries(
    {"name": st.text(max_size=12)},
    optional={"key_image": link_values, "live_video": link_values, "extra": json_values},
)
valid_avatars = st.fixed_dictionaries(
    {
        "id": st.text(max_size=12),
        "user_id": st.text(max_size=12),
        "name": st.text(max_size=12),
        "status": st.one_of(st.sampled_from(["PENDING", "BUILDING", "READY", "ERROR"]), st.text(max_size=8)),
        "created_at": rfc3339_times(),
    },
    optional={
        "supported_interactive_models": st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=3)),
        "themes": st.one_of(st.none(), st.lists(valid_themes, max_size=3)),
        "unknown_field": json_values,
    },
)

# Strings that look like RFC 3339 but are not valid dates, or nearly match the pattern.
broken_times = st.sampled_from(
    [
        "2024-02-30T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:60Z",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+23:60",
        "2024-01-01T00:00:00",
        "2024-01-01",
        "2024-01-01T00:00:00.1234567890Z",
        "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",  # Fullwidth digits, which \\d matches without re.ASCII.
        "2024-01-01T00:00:00Z\n",
        "",
    ]
)


@st.composite
def mutated_avatars(draw: st.DrawFn) -> Any:
    """Draw a valid avatar, then break one field: a wrong type, a bad value, or removal."""
    avatar: dict[str, Any] = dict(draw(valid_avatars))
    target = draw(st.sampled_from([*AVATAR_FIELDS, "theme"]))
    if target == "theme":
        theme: dict[str, Any] = dict(draw(valid_themes))
        field = draw(st.sampled_from(THEME_FIELDS))
        if draw(st.booleans()):
            theme.pop(field, None)
        else:
            theme[field] = draw(json_values)
        avatar["themes"] = [theme]
        return avatar
    action = draw(st.sampled_from(["remove", "replace", "broken-time"]))
    if action == "remove":
        avatar.pop(target, None)
    elif action == "broken-time":
        avatar["created_at"] = draw(broken_times)
    else:
        avatar[target] = draw(json_values)
    return avatar


def _nested(depth: int, opening: str, closing: str) -> bytes:
    return (opening * depth + closing * depth).encode()


# Bodies that JSON decoders get wrong: nesting deeper than the recursion
# limit, huge integers, invalid UTF-8, byte order marks and other encodings.
awkward_bodies = st.one_of(
    st.builds(lambda depth: b'{"data": ' + _nested(depth, "[", "]") + b"}", st.integers(1, 20_000)),
    st.builds(lambda depth: _nested(depth, '{"a":', "}").replace(b"}", b"1}", 1), st.integers(1, 5_000)),
    st.builds(lambda digits: b'{"data": ' + b"9" * digits + b"}", st.integers(4_000, 20_000)),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"{}",
            b'{"data": null}',
            b'{"data": []}',
            b'{"data": "\xff\xfe"}',
            b"\xef\xbb\xbf" + b'{"data": []}',
            '{"data": []}'.encode("utf-16"),
            '{"data": []}'.encode("utf-32-le"),
            b'{"data": NaN}',
            b'{"data": [], "data": {}}',
            b'{"data": [1e999]}',
            b"\x00" * 16,
            b'{"data": [' + b'{"id": "x"},' * 2_000 + b"{}]}",
        ]
    ),
)


def _json_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


avatar_documents = st.one_of(
    st.builds(lambda avatar: {"data": avatar}, st.one_of(valid_avatars, mutated_avatars())),
    st.builds(lambda avatars: {"data": avatars}, st.lists(st.one_of(valid_avatars, mutated_avatars()), max_size=3)),
    st.builds(lambda value: {"data": value}, json_values),
    json_values,
)
avatar_bodies = st.one_of(avatar_documents.map(_json_bytes), awkward_bodies, st.binary(max_size=64)).map(Payload)

problem_documents = st.fixed_dictionaries(
    {},
    optional={
        "type": json_values,
        "title": st.one_of(st.text(max_size=40), json_values),
        "status": json_values,
        "detail": st.one_of(st.text(max_size=300), json_values),
        "instance": json_values,
        "errors": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"location": json_values, "message": json_values, "value": json_values}
                ),
                max_size=3,
            ),
            json_values,
        ),
    },
)
problem_bodies = st.one_of(
    problem_documents.map(_json_bytes),
    json_values.map(_json_bytes),
    awkward_bodies,
    st.sampled_from([b"<html><head><title>502 Bad Gateway</title></head></html>", b"<title>" + b"x" * 5000]),
    st.binary(max_size=64),
).map(Payload)

RETRY_AFTER_SAMPLES = [
    "0",
    "1",
    "-1",
    "0.001",
    "1.5",
    "1e999",
    "nan",
    "inf",
    "-inf",
    "99999999999999999999",
    "0x10",
    "١٢",  # Arabic-Indic digits, which str.isdigit() accepts.
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 0001 00:00:00 +2359",
    "Mon, 99 Foo 2024 99:99:99 GMT",
    "",
    " ",
]
# Values a server can send in a well-formed header line: no control characters.
retry_after_values = st.one_of(
    st.sampled_from(RETRY_AFTER_SAMPLES),
    st.text(alphabet=st.characters(min_codepoint=0x20, exclude_categories=["Cc", "Cs"]), max_size=30),
)

status_codes = st.one_of(
    st.sampled_from([200, 201, 204, 206, 301, 302, 303, 307, 308, 400, 401, 404, 408, 429, 500, 502, 503]),
    st.integers(min_value=100, max_value=999),
)
well_formed_status_lines = st.builds(
    lambda version, code, reason: version + b" " + str(code).encode() + b" " + reason,
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]),
    status_codes,
    st.sampled_from([b"OK", b"", b"Some Reason", b"\xff\xfe reason"]),
)
malformed_status_lines = st.one_of(
    st.sampled_from(
        [
            b"HTTP/1.1 200",
            b"HTTP/1.1 abc OK",
            b"HTTP/1.1  200 OK",
            b"HTTP/1.1 2000 OK",
            b"HTTP/1.1 -200 OK",
            b"HTTP/1.1 099 Low",
            b"HTTP/2 200 OK",
            b"HTTP/9.9 200 OK",
            b"http/1.1 200 ok",
            b"ICY 200 OK",
            b"HTTP/1.1 200 OK\rX-Split: 1",
            b"",
            b"\x00\x01\x02",
        ]
    ),
    st.binary(max_size=30),
)

header_names = st.sampled_from(
    [
        b"Content-Type",
        b"Retry-After",
        b"Location",
        b"X-Request-Id",
        b"Content-Length",
        b"Transfer-Encoding",
        b"Content-Encoding",
        b"Connection",
        b"Set-Cookie",
        b"Upgrade",
    ]
)
interesting_header_values = st.sampled_from(
    [
        b"application/json",
        b"application/problem+json",
        b"text/html; charset=utf-8",
        b"chunked",
        b"gzip",
        b"close",
        b"keep-alive",
        b"-1",
        b"abc",
        b"5, 6",
        b"99999999999999999999",
        b"/v1/avatar/list",
        b"http://127.0.0.1:1/",
        b"\xff\xfe",
        b"",
    ]
)
well_formed_header_lines = st.one_of(
    st.builds(lambda name, value: name + b": " + value, header_names, interesting_header_values),
    st.builds(lambda value: b"Retry-After: " + value.encode("utf-8"), retry_after_values),
    st.builds(lambda value: b"X-Request-Id: " + value.encode("utf-8"), retry_after_values),
)
malformed_header_lines = st.one_of(
    well_formed_header_lines,
    st.builds(lambda name, value: name + b": " + value, header_names, st.binary(max_size=24)),
    st.builds(lambda size: b"X-Large: " + b"a" * size, st.integers(min_value=8_000, max_value=20_000)),
    st.builds(lambda count: b"\r\n".join(b"X-Many-%d: 1" % n for n in range(count)), st.integers(100, 300)),
    st.binary(max_size=24),
)

REDIRECT_STATUSES = [301, 302, 303, 307, 308]
redirect_locations = st.one_of(
    st.sampled_from(
        [
            "/v1/avatar/list",
            "/v1/avatar/other",
            "?page=2",
            "//",
            "//127.0.0.1:1/",
            "http://127.0.0.1:1/v1/avatar/list",
            "https://127.0.0.1:1/",
            "http://user:password@127.0.0.1:1/",
            "http://[::1",
            "file:///etc/passwd",
            "mailto:admin@mirako.invalid",
            "data:,x",
            "javascript:alert(1)",
            "https:",
            "x:",
            "\\\\evil.invalid\\share",
            "/%zz",
            "",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, exclude_categories=["Cc", "Cs"]), max_size=24),
)

WELL_FORMED_FRAMINGS = ["length", "length", "close", "chunked"]
MALFORMED_FRAMINGS = ["broken-chunked", "short-length", "long-length", "two-lengths"]
WELL_FORMED_ENCODINGS = ["none", "none", "gzip", "deflate"]
MALFORMED_ENCODINGS = ["fake-gzip", "br", "zstd", "unknown"]
BROKEN_CHUNKS = [
    b"zz\r\nabc\r\n0\r\n\r\n",
    b"-1\r\nabc\r\n0\r\n\r\n",
    b"ffffffffffffffffffff\r\nabc\r\n",
    b"2\r\nabc\r\n0\r\n\r\n",
    b"3;ext=\x00\r\nabc\r\n0\r\n\r\n",
    b"3\r\nabc\r\n",  # No last chunk.
    b"3\r\nabc",
    b"\r\n\r\n",
]


def _encode(body: bytes, encoding: str) -> tuple[bytes, list[bytes]]:
    """Apply a Content-Encoding; the fake and unsupported ones send the body as it is."""
    if encoding == "none":
        return body, []
    if encoding == "gzip":
        return gzip.compress(body), [b"Content-Encoding: gzip"]
    if encoding == "deflate":
        return zlib.compress(body), [b"Content-Encoding: deflate"]
    name = {"fake-gzip": b"gzip", "br": b"br", "zstd": b"zstd", "unknown": b"x-unknown"}[encoding]
    return body, [b"Content-Encoding: " + name]


def _frame(body: bytes, framing: str, broken_chunks: bytes) -> tuple[bytes, list[bytes]]:
    """Frame a body in the way ``framing`` names; return the bytes on the wire and the framing headers."""
    if framing == "length":
        return body, [b"Content-Length: %d" % len(body)]
    if framing == "close":
        return body, []
    if framing == "chunked":
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]) if part)
        return chunks + b"0\r\n\r\n", [b"Transfer-Encoding: chunked"]
    if framing == "broken-chunked":
        return broken_chunks, [b"Transfer-Encoding: chunked"]
    if framing == "short-length":
        return body, [b"Content-Length: %d" % max(0, len(body) - 3)]
    if framing == "long-length":
        return body, [b"Content-Length: %d" % (len(body) + 10)]
    return body, [b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1)]


@st.composite
def raw_responses(draw: st.DrawFn, bodies: st.SearchStrategy[bytes] = avatar_bodies) -> Reply:
    """Draw the bytes of an arbitrary HTTP response.

    About half the examples are well-formed HTTP, so that the client gets
    past parsing to redirects, retries and decoding. In the others, each
    part (status line, header lines, framing, Content-Encoding, bytes
    after the body) may be malformed. The connection is closed after the
    bytes in most examples and left open in a few, so that the client has
    to time out.
    """
    wild = draw(st.booleans())

    def pick(well_formed: st.SearchStrategy[Any], malformed: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(well_formed, malformed) if wild else well_formed)

    status_line = pick(well_formed_status_lines, malformed_status_lines)
    headers = draw(st.lists(malformed_header_lines if wild else well_formed_header_lines, max_size=5))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        # A redirect with a Location drawn for it, which the generic lines rarely produce.
        status_line = b"HTTP/1.1 %d Redirect" % draw(st.sampled_from(REDIRECT_STATUSES))
        headers.append(b"Location: " + draw(redirect_locations).encode("utf-8"))
    encoding = pick(st.sampled_from(WELL_FORMED_ENCODINGS), st.sampled_from(MALFORMED_ENCODINGS))
    framing = pick(st.sampled_from(WELL_FORMED_FRAMINGS), st.sampled_from(MALFORMED_FRAMINGS))
    body, encoding_headers = _encode(draw(bodies), encoding)
    wire_body, framing_headers = _frame(body, framing, draw(st.sampled_from(BROKEN_CHUNKS)))
    trailer = pick(st.just(b""), st.sampled_from([b"stray bytes after the body", b"HTTP/1.1 200 OK\r\n\r\n"]))

    head = b"\r\n".join([status_line, *headers, *encoding_headers, *framing_headers]) + b"\r\n\r\n"
    # Left open in about one example of twenty: each costs the client a timeout.
    keep_open = draw(st.sampled_from([False] * 11 + [True]))
    return Reply(head + wire_body + trailer, keep_open=keep_open)
