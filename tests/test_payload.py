"""Payloads: what each kind of value sends, its headers and size, and the registry."""

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from payload_helpers import Collector, new_stream, written

from aiohttp import payload
from aiohttp.payload import (
    READ_CHUNK_SIZE,
    AsyncIterablePayload,
    BufferedReaderPayload,
    BytesIOPayload,
    BytesPayload,
    IOBasePayload,
    JsonPayload,
    Order,
    StreamReaderPayload,
    StringIOPayload,
    StringPayload,
    TextIOPayload,
    get_payload,
    payload_type,
    register_payload,
)


async def test_bytes_payload_sends_value_with_known_size() -> None:
    p = get_payload(b"abc")
    assert isinstance(p, BytesPayload)
    assert p.size == 3
    assert p.content_type == "application/octet-stream"
    assert await written(p) == b"abc"
    assert p.decode() == "abc"


async def test_bytes_payload_accepts_bytearray_and_memoryview() -> None:
    assert get_payload(bytearray(b"xy")).size == 2
    view = memoryview(b"abcd").cast("B")
    assert await written(get_payload(view)) == b"abcd"


def test_bytes_payload_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="bytes"):
        BytesPayload("text")  # type: ignore[arg-type]


async def test_string_payload_defaults_to_utf8_text() -> None:
    p = get_payload("héllo")
    assert isinstance(p, StringPayload)
    assert p.content_type == "text/plain; charset=utf-8"
    assert p.encoding == "utf-8"
    assert p.size == len("héllo".encode())
    assert await written(p) == "héllo".encode()


async def test_string_payload_uses_charset_from_content_type() -> None:
    p = StringPayload("héllo", content_type="text/html; charset=latin-1")
    assert p.encoding == "latin-1"
    assert await written(p) == "héllo".encode("latin-1")


def test_string_payload_with_encoding_builds_content_type() -> None:
    p = StringPayload("x", encoding="utf-16")
    assert p.content_type == "text/plain; charset=utf-16"
    assert p.decode("utf-16") == "x"


async def test_string_io_payload_reads_text_from_position() -> None:
    buf = io.StringIO("skip:keep")
    buf.seek(5)
    p = get_payload(buf)
    assert isinstance(p, StringIOPayload)
    assert await written(p) == b"keep"


async def test_json_payload() -> None:
    p = JsonPayload({"a": [1, "é"]})
    assert p.content_type == "application/json"
    assert json.loads(await written(p)) == {"a": [1, "é"]}


async def test_json_payload_with_custom_dumps() -> None:
    p = JsonPayload({"a": 1}, dumps=lambda v: "custom")
    assert await written(p) == b"custom"


async def test_file_payload_streams_in_chunks_with_known_size(tmp_path: Path) -> None:
    content = bytes(range(256)) * (READ_CHUNK_SIZE // 128 + 3)
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with path.open("rb") as f:
        p = get_payload(f)
        assert isinstance(p, BufferedReaderPayload)
        assert p.size == len(content)
        assert p.filename == "photo.png"
        assert p.content_type == "image/png"
        assert p.headers["Content-Disposition"] == 'attachment; filename="photo.png"'
        out = Collector()
        await asyncio.wait_for(p.write(out), 5)
    assert out.data == content
    assert len(out.chunks) > 1
    assert max(len(c) for c in out.chunks) <= READ_CHUNK_SIZE


async def test_file_payload_starts_at_current_position_and_can_be_resent(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"headerBODY")
    with path.open("rb") as f:
        f.seek(6)
        p = get_payload(f)
        assert p.size == 4
        assert await written(p) == b"BODY"
        assert await written(p) == b"BODY"  # e.g. a request retried after a redirect


async def test_text_file_payload_encodes_and_has_unknown_size(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("ünïcode", encoding="utf-8")
    with path.open(encoding="utf-8") as f:
        p = get_payload(f)
        assert isinstance(p, TextIOPayload)
        assert p.size is None
        assert p.content_type == "text/plain; charset=utf-8"
        assert await written(p) == "ünïcode".encode()


async def test_bytes_io_payload() -> None:
    buf = io.BytesIO(b"0123456789")
    buf.seek(2)
    p = get_payload(buf)
    assert isinstance(p, BytesIOPayload)
    assert p.size == 8
    assert await written(p) == b"23456789"
    assert p.decode() == "23456789"


async def test_unseekable_io_payload_has_unknown_size() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._data = [b"ab", b"cd"]

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return self._data.pop(0) if self._data else b""

    p = get_payload(Pipe())
    assert isinstance(p, IOBasePayload)
    assert p.size is None
    assert await written(p) == b"abcd"


async def test_async_iterable_payload_is_sent_once() -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"one "
        yield b""
        yield b"two"

    p = get_payload(gen())
    assert isinstance(p, AsyncIterablePayload)
    assert p.size is None
    assert await written(p) == b"one two"
    assert await written(p) == b""
    with pytest.raises(TypeError):
        p.decode()


async def test_stream_reader_payload_forwards_data(loop: asyncio.AbstractEventLoop) -> None:
    stream = new_stream(loop)
    stream.feed_data(b"proxied ")
    stream.feed_data(b"body")
    stream.feed_eof()
    p = get_payload(stream)
    assert isinstance(p, StreamReaderPayload)
    assert await written(p) == b"proxied body"


def test_get_payload_passes_payloads_through() -> None:
    p = BytesPayload(b"x")
    assert get_payload(p) is p


def test_get_payload_unknown_type_raises_lookup_error() -> None:
    with pytest.raises(payload.LookupError):
        get_payload(object())
    with pytest.raises(LookupError):  # the builtin catches it too
        get_payload(42)


def test_register_payload_and_payload_type_decorator() -> None:
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    @payload_type(Point)
    class PointPayload(BytesPayload):
        def __init__(self, value: Point, *args: object, **kwargs: object) -> None:
            super().__init__(str(value.x).encode(), *args, **kwargs)  # type: ignore[arg-type]

    assert isinstance(get_payload(Point(3)), PointPayload)

    class Loud(str):
        pass

    register_payload(
        lambda v, *a, **kw: StringPayload(v.upper(), *a, **kw), Loud, order=Order.try_first
    )
    assert get_payload(Loud("hi")).decode() == "HI"
    assert get_payload("hi").decode() == "hi"


def test_headers_argument_overrides_defaults() -> None:
    p = BytesPayload(b"x", headers={"Content-Type": "image/gif", "X-Extra": "1"})
    assert p.content_type == "image/gif"
    assert p.headers["X-Extra"] == "1"


def test_filename_guesses_content_type() -> None:
    assert BytesPayload(b"x", filename="a.json").content_type == "application/json"
    assert BytesPayload(b"x", filename="noext").content_type == "application/octet-stream"


@pytest.mark.parametrize(
    ("params", "quote_fields", "expected"),
    [
        ({"name": "field"}, True, 'form-data; name="field"'),
        ({"name": 'a"b\\c'}, True, 'form-data; name="a\\"b\\\\c"'),
        (
            {"filename": "résumé.pdf"},
            True,
            "form-data; filename=\"r%C3%A9sum%C3%A9.pdf\"; filename*=utf-8''r%C3%A9sum%C3%A9.pdf",
        ),
        ({"name": "поле"}, True, "form-data; name*=utf-8''%D0%BF%D0%BE%D0%BB%D0%B5"),
        ({"name": "поле"}, False, 'form-data; name="поле"'),
    ],
)
def test_set_content_disposition(params: dict[str, str], quote_fields: bool, expected: str) -> None:
    p = BytesPayload(b"")
    p.set_content_disposition("form-data", quote_fields=quote_fields, **params)
    assert p.headers["Content-Disposition"] == expected


def test_set_content_disposition_rejects_bad_input() -> None:
    p = BytesPayload(b"")
    with pytest.raises(ValueError, match="disptype"):
        p.set_content_disposition("form data")
    with pytest.raises(ValueError, match="parameter name"):
        p.set_content_disposition("inline", **{"bad key": "v"})
    with pytest.raises(ValueError, match="CR or LF"):
        p.set_content_disposition("inline", quote_fields=False, name="a\r\nX-Injected: 1")
    # With quoting, CR/LF are percent-encoded instead of injected.
    p.set_content_disposition("inline", name="a\r\nb")
    assert "\r" not in p.headers["Content-Disposition"]


async def test_write_with_length_stops_at_the_length() -> None:
    out = Collector()
    await get_payload(b"0123456789").write_with_length(out, 4)
    assert out.data == b"0123"


async def test_as_bytes_collects_the_body() -> None:
    assert await StringPayload("abc").as_bytes() == b"abc"
