"""Multipart: writer -> reader round trips, reading real-world bodies, and refusing bad ones.

The reader runs on untrusted uploads, so every malformed body must end in a clear
``MultipartParseError`` (a ValueError and a 400 BadHttpMessage), bounded in time and memory.
"""

import asyncio
import base64
import gzip
import io
import warnings
import zlib
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy
from payload_helpers import Collector, new_stream, stream_of, written

from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.multipart import (
    MAX_NESTING_DEPTH,
    BadContentDispositionHeader,
    BadContentDispositionParam,
    BodyPartReader,
    MultipartParseError,
    MultipartReader,
    MultipartWriter,
    UnsupportedEncodingError,
    content_disposition_filename,
    parse_content_disposition,
)
from aiohttp.payload import BytesPayload, StringPayload
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader

BOUNDARY = "b0undary"
CT = {"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"}
FORM_CT = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
TIMEOUT = 5


def reader_of(
    body: bytes, headers: Optional[dict[str, str]] = None, piece: Optional[int] = None
) -> MultipartReader:
    return MultipartReader(CT if headers is None else headers, stream_of(body, piece))


async def serialize(writer: MultipartWriter) -> bytes:
    return await written(writer)


async def read_all(reader: MultipartReader) -> list[Any]:
    """Every part as (headers, body) or, for nested multiparts, a list of those."""

    async def collect(r: MultipartReader) -> list[Any]:
        result: list[Any] = []
        async for part in r:
            if isinstance(part, MultipartReader):
                result.append(await collect(part))
            else:
                result.append((dict(part.headers), bytes(await part.read(decode=True))))
        return result

    return await asyncio.wait_for(collect(reader), TIMEOUT)


# -- round trips --------------------------------------------------------------


async def test_mixed_round_trip_with_exact_size() -> None:
    with MultipartWriter("mixed", boundary=BOUNDARY) as writer:
        writer.append("text part")
        writer.append(b"\x00\xffbinary")
        writer.append_json({"key": ["value", 1]})
        writer.append_form([("a", "1"), ("b", "x y")])
    body = await serialize(writer)
    assert writer.size == len(body)
    assert len(writer) == 4

    reader = reader_of(body, dict(writer.headers))
    parts = await read_all(reader)
    assert [p[1] for p in parts] == [
        b"text part",
        b"\x00\xffbinary",
        b'{"key": ["value", 1]}',
        b"a=1&b=x+y",
    ]
    assert parts[0][0]["Content-Type"] == "text/plain; charset=utf-8"
    assert reader.at_eof()


async def test_reader_helpers_text_json_form() -> None:
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append(StringPayload("héllo", content_type="text/plain; charset=latin-1"))
    writer.append_json({"n": 1})
    writer.append_form({"q": "a&b", "empty": ""})
    reader = reader_of(await serialize(writer))
    text_part = await reader.next()
    assert isinstance(text_part, BodyPartReader)
    assert text_part.get_charset(default="utf-8") == "latin-1"
    assert await text_part.text() == "héllo"
    json_part = await reader.next()
    assert isinstance(json_part, BodyPartReader)
    assert await json_part.json() == {"n": 1}
    form_part = await reader.next()
    assert isinstance(form_part, BodyPartReader)
    assert await form_part.form() == [("q", "a&b"), ("empty", "")]
    assert await reader.next() is None
    assert await reader.next() is None


async def test_form_data_round_trip_with_files_and_filenames() -> None:
    upload = bytes(range(256)) * 200  # larger than one read chunk
    writer = MultipartWriter("form-data", boundary=BOUNDARY)
    writer.append("plain value").set_content_disposition("form-data", name="field")
    writer.append(io.BytesIO(upload)).set_content_disposition(
        "form-data", name="file", filename="report 2024.bin"
    )
    writer.append(b"x").set_content_disposition(
        "form-data", name="doc", filename='résumé "final".txt'
    )
    writer.append(b"y").set_content_disposition(
        "form-data", quote_fields=False, name="поле", filename="файл.txt"
    )
    body = await serialize(writer)
    assert writer.size == len(body)

    reader = reader_of(body, dict(writer.headers), piece=997)
    seen = []
    async for part in reader:
        assert isinstance(part, BodyPartReader)
        seen.append((part.name, part.filename, bytes(await part.read())))
    assert seen == [
        ("field", None, b"plain value"),
        ("file", "report 2024.bin", upload),
        ("doc", 'résumé "final".txt', b"x"),
        ("поле", "файл.txt", b"y"),
    ]


async def test_boundary_split_across_every_feed_position() -> None:
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append(b"first\r\n--b0und")  # looks like the start of a delimiter
    writer.append(b"\r\n\r\n")
    body = await serialize(writer)
    for piece in (1, 2, 3, 7, 13):
        parts = await read_all(reader_of(body, piece=piece))
        assert [p[1] for p in parts] == [b"first\r\n--b0und", b"\r\n\r\n"]


async def test_base64_and_quoted_printable_parts() -> None:
    raw = bytes(range(256)) * 3
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append(raw, {"Content-Transfer-Encoding": "base64"})
    writer.append("naïve = text\n" * 20, {"Content-Transfer-Encoding": "quoted-printable"})
    body = await serialize(writer)
    assert writer.size is None  # encoded parts make the length unknown ahead of time
    assert "naïve".encode() not in body

    reader = reader_of(body)
    b64 = await reader.next()
    assert isinstance(b64, BodyPartReader)
    encoded = bytes(await b64.read())
    assert base64.b64decode(encoded) == raw
    assert b64.decode(encoded) == raw
    qp = await reader.next()
    assert isinstance(qp, BodyPartReader)
    assert await qp.text() == "naïve = text\n" * 20


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_content_encoded_parts(encoding: str) -> None:
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append(b"squeeze me " * 100, {"Content-Encoding": encoding})
    body = await serialize(writer)
    assert b"squeeze me squeeze me" not in body
    parts = await read_all(reader_of(body))
    assert parts[0][1] == b"squeeze me " * 100


async def test_reads_raw_deflate_and_gzip_from_other_clients() -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = compressor.compress(b"raw") + compressor.flush()
    body = (
        b"--b0undary\r\nContent-Encoding: deflate\r\n\r\n" + raw_deflate + b"\r\n"
        b"--b0undary\r\nContent-Encoding: gzip\r\n\r\n" + gzip.compress(b"gz") + b"\r\n"
        b"--b0undary--\r\n"
    )
    parts = await read_all(reader_of(body))
    assert [p[1] for p in parts] == [b"raw", b"gz"]


async def test_nested_multipart_round_trip() -> None:
    inner = MultipartWriter("alternative", boundary="inner-boundary")
    inner.append("plain")
    inner.append("<b>html</b>", {"Content-Type": "text/html"})
    outer = MultipartWriter("mixed", boundary=BOUNDARY)
    outer.append("before")
    outer.append(inner)
    outer.append("after")
    body = await serialize(outer)
    assert outer.size == len(body)

    parts = await read_all(reader_of(body, dict(outer.headers)))
    assert parts[0][1] == b"before"
    assert [p[1] for p in parts[1]] == [b"plain", b"<b>html</b>"]
    assert parts[2][1] == b"after"


async def test_skipping_a_nested_multipart_moves_to_the_next_part() -> None:
    inner = MultipartWriter("mixed", boundary="inner")
    inner.append("one")
    inner.append("two")
    outer = MultipartWriter(boundary=BOUNDARY)
    outer.append(inner)
    outer.append("after")
    reader = reader_of(await serialize(outer))
    nested = await reader.next()
    assert isinstance(nested, MultipartReader)
    first = await nested.next()
    assert isinstance(first, BodyPartReader)
    last = await reader.next()  # releases the rest of the nested multipart
    assert isinstance(last, BodyPartReader)
    assert await last.text() == "after"
    assert await reader.next() is None


async def test_writer_without_close_boundary_and_decode() -> None:
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append("x")
    out = Collector()
    await writer.write(out, close_boundary=False)
    assert not out.data.endswith(b"--b0undary--\r\n")
    assert writer.decode() == out.data.decode() + "--b0undary--\r\n"


async def test_writer_iterates_its_parts() -> None:
    writer = MultipartWriter()
    payload = writer.append(b"data")
    assert [p for p, _, _ in writer] == [payload]
    assert writer.boundary and len(writer.boundary) <= 70
    assert writer.content_type == f"multipart/mixed; boundary={writer.boundary}"


# -- what real clients send ---------------------------------------------------


async def test_preamble_epilogue_and_linear_whitespace_after_boundaries() -> None:
    body = (
        b"This is the preamble.\r\n"
        b"--b0undary  \r\n"
        b"Content-Type: text/plain\r\n\r\n"
        b"one\r\n"
        b"--b0undary\t\r\n"
        b"\r\n"
        b"two (no headers)\r\n"
        b"--b0undary--\r\n"
        b"This is the epilogue."
    )
    parts = await read_all(reader_of(body))
    assert parts == [({"Content-Type": "text/plain"}, b"one"), ({}, b"two (no headers)")]


async def test_empty_bodies_in_both_rfc_forms() -> None:
    body = (
        b"--b0undary\r\nX-A: 1\r\n\r\n\r\n"  # header block, blank line, then CRLF--boundary
        b"--b0undary\r\nX-B: 2\r\n\r\n"  # header block, blank line, boundary straight after
        b"--b0undary--\r\n"
    )
    parts = await read_all(reader_of(body))
    assert parts == [({"X-A": "1"}, b""), ({"X-B": "2"}, b"")]


async def test_empty_multipart() -> None:
    reader = reader_of(b"--b0undary--\r\n")
    assert await reader.next() is None
    assert reader.at_eof()


async def test_bare_lf_bodies_are_read() -> None:
    body = b"--b0undary\nContent-Type: text/plain\n\nline1\nline2\n--b0undary--\n"
    parts = await read_all(reader_of(body))
    assert parts == [({"Content-Type": "text/plain"}, b"line1\nline2")]


async def test_folded_header_and_non_utf8_header_values() -> None:
    body = (
        b"--b0undary\r\n"
        b"X-Folded: first\r\n   second\r\n"
        b'Content-Disposition: form-data; name="f"; filename="caf\xe9.txt"\r\n\r\n'
        b"x\r\n--b0undary--\r\n"
    )
    reader = reader_of(body, FORM_CT)
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    assert part.headers["X-Folded"] == "first second"
    assert part.filename == "café.txt"
    await reader.release()


async def test_charset_field_sets_default_charset_for_form_parts() -> None:
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\n'
        b"latin-1\r\n"
        b'--b0undary\r\nContent-Disposition: form-data; name="t"\r\n\r\n'
        b"caf\xe9\r\n--b0undary--\r\n"
    )
    reader = reader_of(body, FORM_CT)
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    assert part.name == "t"
    assert await part.text() == "café"


async def test_readline_and_read_chunk() -> None:
    body = b"--b0undary\r\n\r\nline one\r\nline two\r\n--b0undary--\r\n"
    reader = reader_of(body, piece=3)
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    assert await part.readline() == b"line one\r\n"
    assert await part.read_chunk(4) == b"line"
    assert await part.readline() == b" two"
    assert await part.readline() == b""
    assert part.at_eof()
    with pytest.raises(ValueError, match="size"):
        await part.read_chunk(0)


async def test_read_chunk_is_bounded_for_a_large_part() -> None:
    payload = b"z" * 300_000
    body = b"--b0undary\r\n\r\n" + payload + b"\r\n--b0undary--\r\n"
    reader = reader_of(body)
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    total = 0
    async for chunk in part:
        assert 0 < len(chunk) <= BodyPartReader.chunk_size
        total += len(chunk)
    assert total == len(payload)


async def test_release_skips_all_parts() -> None:
    writer = MultipartWriter(boundary=BOUNDARY)
    for i in range(5):
        writer.append(f"part {i}")
    reader = reader_of(await serialize(writer))
    await asyncio.wait_for(reader.release(), TIMEOUT)
    assert reader.at_eof()


async def test_from_response_releases_the_response_at_the_end() -> None:
    class FakeResponse:
        def __init__(self, content: StreamReader) -> None:
            self.headers = CT
            self.content = content
            self.released = False

        def release(self) -> None:
            self.released = True

    response = FakeResponse(stream_of(b"--b0undary\r\n\r\nx\r\n--b0undary--\r\n"))
    wrapper = MultipartReader.from_response(response)
    part = await wrapper.next()
    assert isinstance(part, BodyPartReader)
    assert await part.read() == b"x"
    assert await wrapper.next() is None
    assert response.released


# -- Content-Disposition parsing ---------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("attachment", ("attachment", {})),
        (
            'form-data; name="a;b"; filename="x.txt"',
            ("form-data", {"name": "a;b", "filename": "x.txt"}),
        ),
        ("INLINE; FileName=plain.txt", ("inline", {"filename": "plain.txt"})),
        ('attachment; filename="a\\"b.txt"', ("attachment", {"filename": 'a"b.txt'})),
        (
            "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
            ("attachment", {"filename*": "€ rates.txt"}),
        ),
        ("attachment; filename*=iso-8859-1'en'%A3.txt", ("attachment", {"filename*": "£.txt"})),
        (
            'attachment; filename*0="long "; filename*1="name.txt"',
            ("attachment", {"filename": "long name.txt"}),
        ),
        (
            "attachment; filename*0*=utf-8''%E2%82%AC; filename*1=.txt",
            ("attachment", {"filename*": "€.txt"}),
        ),
        ("attachment;", ("attachment", {})),
    ],
)
def test_parse_content_disposition(header: str, expected: tuple[str, dict[str, str]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_content_disposition(header) == expected


@pytest.mark.parametrize(
    ("header", "warning"),
    [
        ('"quoted-type"; name=x', BadContentDispositionHeader),
        ('form-data; name="unterminated', BadContentDispositionHeader),
        ("form-data; name=a b", BadContentDispositionParam),
        ("form-data; novalue", BadContentDispositionHeader),
        ("form-data; name=a; name=b", BadContentDispositionParam),
        ("attachment; filename*=no-quotes", BadContentDispositionParam),
        ("attachment; filename*=unknown-charset''x", BadContentDispositionParam),
        ("attachment; filename*0=a; filename*2=c", BadContentDispositionParam),
    ],
)
def test_parse_content_disposition_bad_headers_warn(header: str, warning: type[Warning]) -> None:
    with pytest.warns(warning):
        assert parse_content_disposition(header) == (None, {})


def test_content_disposition_filename_prefers_extended_form() -> None:
    assert content_disposition_filename({"filename": "a", "filename*": "b"}) == "b"
    assert content_disposition_filename({"filename": "a"}) == "a"
    assert content_disposition_filename({"filename*0": "x", "filename*1": "y"}) == "xy"
    assert content_disposition_filename({}) is None
    assert content_disposition_filename({"name": "n"}, "name") == "n"


async def test_part_with_broken_disposition_has_no_name() -> None:
    body = b'--b0undary\r\nContent-Disposition: form-data; name="x\r\n\r\nv\r\n--b0undary--\r\n'
    reader = reader_of(body, FORM_CT)
    with pytest.warns(BadContentDispositionHeader):
        part = await reader.next()
    assert isinstance(part, BodyPartReader)
    assert part.name is None
    assert await part.read() == b"v"


# -- bad writer arguments -------------------------------------------------------


@pytest.mark.parametrize(
    "boundary", ["", "x" * 71, "bad\nline", "ends with space ", "naïve", 'quo"te']
)
def test_writer_rejects_bad_boundaries(boundary: str) -> None:
    with pytest.raises(ValueError, match="boundary"):
        MultipartWriter(boundary=boundary)


def test_writer_accepts_rfc_boundary_characters() -> None:
    writer = MultipartWriter(boundary="a'()+_,-./:=? b")
    assert writer.content_type == 'multipart/mixed; boundary="a\'()+_,-./:=? b"'


def test_writer_rejects_unknown_encodings_and_header_injection() -> None:
    writer = MultipartWriter()
    with pytest.raises(RuntimeError, match="Content-Encoding"):
        writer.append(b"x", {"Content-Encoding": "snappy"})
    with pytest.raises(RuntimeError, match="Content-Transfer-Encoding"):
        writer.append(b"x", {"Content-Transfer-Encoding": "uuencode"})
    with pytest.raises(ValueError, match="header"):
        writer.append(b"x", {"X-Evil": "a\r\nInjected: 1"})
    with pytest.raises(TypeError):
        writer.append(object())


# -- malformed input never hangs and always ends in MultipartParseError --------


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({}, "Content-Type"),
        ({"Content-Type": "text/plain; boundary=x"}, "not multipart"),
        ({"Content-Type": "multipart/mixed"}, "no boundary"),
        ({"Content-Type": "multipart/mixed; boundary="}, "no boundary"),
        ({"Content-Type": "multipart/mixed; boundary=" + "x" * 71}, "Invalid multipart boundary"),
        ({"Content-Type": 'multipart/mixed; boundary="a\\"b"'}, "Invalid multipart boundary"),
        ({"Content-Type": 'multipart/mixed; boundary="trailing "'}, "Invalid multipart boundary"),
        ({"Content-Type": "multipart/mixed; boundary=a{b}"}, "Invalid multipart boundary"),
    ],
)
async def test_bad_content_type_is_refused(headers: dict[str, str], match: str) -> None:
    with pytest.raises(MultipartParseError, match=match) as info:
        reader_of(b"", headers)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, BadHttpMessage)
    assert info.value.code == 400


BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "empty body": (b"", "no boundary"),
    "no boundary anywhere": (b"just some text\r\nand more\r\n", "no boundary"),
    "wrong boundary": (b"--other\r\n\r\nx\r\n--other--\r\n", "no boundary"),
    "huge preamble": (b"p\r\n" * 30_000 + b"--b0undary--\r\n", "first"),
    "preamble line too long": (b"p" * 20_000 + b"\r\n--b0undary--\r\n", "longer than"),
    "truncated in headers": (b"--b0undary\r\nContent-Type: text/pl", "inside part headers"),
    "no blank line after headers": (
        b"--b0undary\r\nContent-Type: text/plain\r\n",
        "inside part headers",
    ),
    "truncated in body": (b"--b0undary\r\n\r\nsome data with no end", "not found"),
    "truncated mid delimiter": (b"--b0undary\r\n\r\ndata\r\n--b0und", "not found"),
    "missing close delimiter": (b"--b0undary\r\n\r\ndata\r\n--b0undary", "right after a boundary"),
    "header without colon": (
        b"--b0undary\r\nNoColonHere\r\n\r\nx\r\n--b0undary--\r\n",
        "Invalid part header",
    ),
    "header with bad name": (
        b"--b0undary\r\nBad Name: v\r\n\r\nx\r\n--b0undary--\r\n",
        "Invalid part header",
    ),
    "empty header name": (b"--b0undary\r\n: v\r\n\r\nx\r\n--b0undary--\r\n", "Invalid part header"),
    "leading continuation": (
        b"--b0undary\r\n  folded\r\n\r\nx\r\n--b0undary--\r\n",
        "continuation",
    ),
    "header line too long": (
        b"--b0undary\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\n",
        "longer than",
    ),
    "endless header line": (b"--b0undary\r\nX-Long: " + b"a" * 500_000, "longer than"),
    "too many headers": (
        b"--b0undary\r\n" + b"X-H: v\r\n" * 200 + b"\r\nx\r\n--b0undary--\r\n",
        "header lines",
    ),
    "junk after boundary": (
        b"--b0undary\r\n\r\nx\r\n--b0undaryjunk\r\n\r\n--b0undary--\r\n",
        "after multipart boundary",
    ),
    "nested truncated": (
        b"--b0undary\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nx\r\n--b0undary--\r\n",
        "boundary 'in' not found",
    ),
    "nested invalid boundary": (
        b'--b0undary\r\nContent-Type: multipart/mixed; boundary=""\r\n\r\nx\r\n--b0undary--\r\n',
        "no boundary",
    ),
    "bad charset field": (
        b"--b0undary\r\nContent-Disposition: form-data; name=_charset_\r\n\r\nnot-a-codec\r\n--b0undary--\r\n",
        "Unknown charset",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_malformed_body_raises_clear_error(case: str) -> None:
    body, match = BAD_BODIES[case]
    reader = reader_of(body, FORM_CT, piece=4096)
    with pytest.raises(MultipartParseError, match=match):
        await read_all(reader)


async def test_nesting_too_deep_is_refused() -> None:
    body = b""
    closing = b""
    for level in range(MAX_NESTING_DEPTH + 2):
        # Fixed-width names: no boundary may be a prefix of another.
        body += f"--b{level:03}\r\nContent-Type: multipart/mixed; boundary=b{level + 1:03}\r\n\r\n".encode()
        closing = f"\r\n--b{level:03}--\r\n".encode() + closing
    reader = reader_of(body + closing, {"Content-Type": "multipart/mixed; boundary=b000"})
    with pytest.raises(MultipartParseError, match="nested"):
        await read_all(reader)


async def test_invalid_base64_part_is_refused() -> None:
    body = (
        b"--b0undary\r\nContent-Transfer-Encoding: base64\r\n\r\n!!not base64!!\r\n--b0undary--\r\n"
    )
    part = await reader_of(body).next()
    assert isinstance(part, BodyPartReader)
    with pytest.raises(MultipartParseError, match="base64"):
        await part.read(decode=True)


async def test_corrupt_gzip_part_is_refused() -> None:
    body = b"--b0undary\r\nContent-Encoding: gzip\r\n\r\nnot gzip\r\n--b0undary--\r\n"
    part = await reader_of(body).next()
    assert isinstance(part, BodyPartReader)
    with pytest.raises(MultipartParseError, match="gzip"):
        await part.read(decode=True)


async def test_unknown_transfer_encoding_raises_runtime_error() -> None:
    body = b"--b0undary\r\nContent-Transfer-Encoding: x-custom\r\n\r\ndata\r\n--b0undary--\r\n"
    part = await reader_of(body).next()
    assert isinstance(part, BodyPartReader)
    assert await part.read() == b"data"
    with pytest.raises(RuntimeError, match="x-custom") as info:
        part.decode(b"data")
    # Untrusted input: also a 400-class parse error, not a server fault.
    assert isinstance(info.value, UnsupportedEncodingError)
    assert isinstance(info.value, MultipartParseError)


@pytest.mark.parametrize(
    ("headers", "chunk_size"),
    [
        ({"Content-Transfer-Encoding": "base64"}, 5),
        ({"Content-Transfer-Encoding": "base64"}, 1),
        ({"Content-Transfer-Encoding": "quoted-printable"}, 3),
        ({"Content-Encoding": "gzip"}, 7),
        ({"Content-Encoding": "deflate", "Content-Transfer-Encoding": "base64"}, 11),
    ],
)
async def test_decode_works_chunk_by_chunk(headers: dict[str, str], chunk_size: int) -> None:
    # The way a server saves an upload: read_chunk(), decode(), write, repeat.
    original = ("Grüße = déjà vu\r\n" * 40).encode() + bytes(range(256))
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append(original, headers)
    part = await reader_of(await serialize(writer)).next()
    assert isinstance(part, BodyPartReader)
    decoded = b""
    while chunk := await part.read_chunk(chunk_size):
        decoded += part.decode(chunk)
    assert decoded == original


async def test_truncated_gzip_part_is_refused() -> None:
    data = gzip.compress(b"x" * 1000)[:-8]
    body = b"--b0undary\r\nContent-Encoding: gzip\r\n\r\n" + data + b"\r\n--b0undary--\r\n"
    part = await reader_of(body).next()
    assert isinstance(part, BodyPartReader)
    with pytest.raises(MultipartParseError, match="gzip"):
        await part.read(decode=True)


async def test_stream_error_reaches_the_reader(loop: asyncio.AbstractEventLoop) -> None:
    stream = new_stream(loop)
    stream.feed_data(b"--b0undary\r\n\r\npartial")
    reader = MultipartReader(CT, stream)
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    loop.call_soon(stream.set_exception, ConnectionResetError("peer went away"))
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(part.read(), TIMEOUT)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            [
                b"--b0undary",
                b"--b0undary--",
                b"\r\n",
                b"\n",
                b"Content-Type: multipart/mixed; boundary=b0undary",
                b"Content-Type: text/plain",
                b"Content-Transfer-Encoding: base64",
                b"Content-Disposition: form-data; name=\"x\"; filename*=utf-8''%FF",
                b": ",
                b" ",
                b"data",
                b"\xff\x00",
            ]
        ),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=64),
)
def test_fuzzed_bodies_parse_or_fail_cleanly(pieces: list[bytes], piece: int) -> None:
    async def consume() -> None:
        reader = reader_of(b"".join(pieces), CT, piece=piece)

        async def walk(r: MultipartReader) -> None:
            async for part in r:
                if isinstance(part, MultipartReader):
                    await walk(part)
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        part.filename  # noqa: B018
                    await part.read()

        try:
            await asyncio.wait_for(walk(reader), TIMEOUT)
        except MultipartParseError:
            pass

    asyncio.run(consume())


async def test_part_body_can_be_written_back_as_payload() -> None:
    # A proxy pattern: read parts and forward them in a new multipart.
    writer = MultipartWriter(boundary=BOUNDARY)
    writer.append(BytesPayload(b"forward me", headers={"X-Id": "7"}))
    reader = reader_of(await serialize(writer))
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    copy = MultipartWriter(boundary="copy")
    copy.append(bytes(await part.read()), dict(part.headers))
    parts = await read_all(
        reader_of(await serialize(copy), {"Content-Type": "multipart/mixed; boundary=copy"})
    )
    assert parts == [({"Content-Type": "application/octet-stream", "X-Id": "7"}, b"forward me")]


async def test_body_part_reader_over_a_stream_positioned_at_the_body() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/plain"}))
    part = BodyPartReader(b"b0undary", headers, stream_of(b"hello\r\n--b0undary--\r\n"))
    assert await part.text() == "hello"
    assert part.at_eof()


async def test_reader_over_an_empty_body() -> None:
    reader = MultipartReader(CT, EMPTY_PAYLOAD)
    with pytest.raises(MultipartParseError, match="no boundary"):
        await reader.next()
