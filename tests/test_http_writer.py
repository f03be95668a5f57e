"""The response writer on its own: framing, held-back headers, compression, Date (no sockets)."""

import asyncio
import email.utils
import gzip
import zlib
from typing import Optional

import pytest
from multidict import CIMultiDict

from aiohttp import http_writer
from aiohttp.http_writer import StreamWriter, add_field, http_date, serialize_headers


class Transport:
    """Records each write() call separately."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    @property
    def data(self) -> bytes:
        return b"".join(self.writes)


class Protocol:
    def __init__(self) -> None:
        self.transport: Optional[Transport] = Transport()  # type: ignore[assignment]
        self.drains = 0

    async def _drain_helper(self) -> None:
        self.drains += 1


@pytest.fixture
def protocol() -> Protocol:
    return Protocol()


def writes(protocol: Protocol) -> list[bytes]:
    assert protocol.transport is not None
    return protocol.transport.writes  # type: ignore[attr-defined, no-any-return]


def make_writer(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> StreamWriter:
    return StreamWriter(protocol, loop)  # type: ignore[arg-type]


HEADERS = CIMultiDict({"Content-Type": "text/plain"})


async def test_headers_leave_with_the_first_body_bytes(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    await writer.write_headers("HTTP/1.1 200 OK", HEADERS)
    assert writes(protocol) == []
    await writer.write(b"body")
    assert writes(protocol) == [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody"]
    await writer.write_eof()
    assert writes(protocol) == [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody"]


async def test_headers_only_message_is_one_write(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    await writer.write_headers("HTTP/1.1 204 No Content", CIMultiDict())
    await writer.write_eof()
    assert writes(protocol) == [b"HTTP/1.1 204 No Content\r\n\r\n"]


async def test_content_length_framing_never_exceeds_the_length(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    writer.length = 5
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict({"Content-Length": "5"}))
    await writer.write(b"abc")
    await writer.write(b"defgh")
    await writer.write_eof()
    assert b"".join(writes(protocol)).endswith(b"\r\n\r\nabcde")


async def test_chunked_framing(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    writer.enable_chunking()
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict({"Transfer-Encoding": "chunked"}))
    await writer.write(b"hello")
    await writer.write(b"")  # an empty write must not end the body early
    await writer.write(b" world!")
    await writer.write_eof()
    body = b"".join(writes(protocol)).split(b"\r\n\r\n", 1)[1]
    assert body == b"5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n"


async def test_chunked_eof_with_a_last_chunk(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    writer.enable_chunking()
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    await writer.write_eof(b"tail")
    assert writes(protocol) == [b"HTTP/1.1 200 OK\r\n\r\n4\r\ntail\r\n0\r\n\r\n"]


async def test_write_eof_twice_writes_once(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    writer.enable_chunking()
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    await writer.write_eof()
    await writer.write_eof()
    assert b"".join(writes(protocol)).count(b"0\r\n\r\n") == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_chunked_body(protocol: Protocol, loop: asyncio.AbstractEventLoop, encoding: str) -> None:
    writer = make_writer(protocol, loop)
    writer.enable_chunking()
    writer.enable_compression(encoding)
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    for _ in range(100):
        await writer.write(b"repetitive text ")
    await writer.write_eof()
    framed = b"".join(writes(protocol)).split(b"\r\n\r\n", 1)[1]
    packed = b""
    while True:
        size_line, framed = framed.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            break
        packed += framed[:size]
        framed = framed[size + 2 :]
    plain = gzip.decompress(packed) if encoding == "gzip" else zlib.decompress(packed)
    assert plain == b"repetitive text " * 100


async def test_large_writes_wait_for_the_transport(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    await writer.write(b"x" * 100)
    assert protocol.drains == 0
    await writer.write(b"x" * 0x20000)
    assert protocol.drains == 1


async def test_writing_to_a_closing_transport_raises(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    protocol.transport.closing = True  # type: ignore[union-attr]
    with pytest.raises(ConnectionResetError):
        await writer.write(b"late")


async def test_100_continue_only_before_the_response(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    writer.send_continue()
    assert writes(protocol) == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    writer.send_continue()
    assert len(writes(protocol)) == 1
    assert writer.started


async def test_send_headers_flushes_held_back_headers(protocol: Protocol, loop: asyncio.AbstractEventLoop) -> None:
    writer = make_writer(protocol, loop)
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict({"X": "1"}))
    writer.send_headers()
    assert writes(protocol) == [b"HTTP/1.1 200 OK\r\nX: 1\r\n\r\n"]


# -- header serialisation ----------------------------------------------------------


def test_serialize_headers_keeps_order_and_repeats() -> None:
    headers: CIMultiDict[str] = CIMultiDict()
    headers.add("Set-Cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    headers.add("Server", "x")
    assert serialize_headers("HTTP/1.1 200 OK", headers) == (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nServer: x\r\n\r\n"
    )


def test_serialize_headers_encodes_utf8() -> None:
    assert "é".encode() in serialize_headers("HTTP/1.1 200 OK", CIMultiDict({"X-Name": "é"}))


@pytest.mark.parametrize(
    ("status_line", "name", "value"),
    [
        ("HTTP/1.1 200 OK", "X-Evil", "a\r\nSet-Cookie: pwned=1"),
        ("HTTP/1.1 200 OK", "X-Evil", "a\nb"),
        ("HTTP/1.1 200 OK", "X-Evil", "a\rb"),
        ("HTTP/1.1 200 OK", "X-Evil\r\nInjected", "v"),
        ("HTTP/1.1 200 OK\r\nInjected: 1", "X", "v"),
    ],
)
def test_header_injection_is_refused(status_line: str, name: str, value: str) -> None:
    with pytest.raises(ValueError, match="Newline or carriage return"):
        serialize_headers(status_line, CIMultiDict({name: value}))


def test_an_added_field_ends_the_head_and_is_checked_too() -> None:
    """A request id is added to a finished head; its value may not split the response."""
    head = serialize_headers("HTTP/1.1 200 OK", CIMultiDict({"Content-Type": "text/plain"}))
    expected = serialize_headers("HTTP/1.1 200 OK", CIMultiDict({"Content-Type": "text/plain", "X-Request-ID": "ab"}))
    assert add_field(head, "X-Request-ID", "ab") == expected
    for bad in ("a\r\nb", "a\nb", "a\rb"):
        with pytest.raises(ValueError, match="Newline or carriage return"):
            add_field(head, "X-Request-ID", bad)


# -- Date ---------------------------------------------------------------------------------


def test_http_date_is_an_imf_fixdate() -> None:
    assert email.utils.parsedate_to_datetime(http_date()).tzname() == "UTC"


def test_http_date_is_formatted_once_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000_000.1]
    monkeypatch.setattr(http_writer.time, "time", lambda: now[0])
    first = http_date()
    assert first == "Sun, 09 Sep 2001 01:46:40 GMT"
    now[0] = 1_000_000_000.9
    assert http_date() is first  # the cached string, not a new one
    now[0] = 1_000_000_001.0
    assert http_date() == "Sun, 09 Sep 2001 01:46:41 GMT"
