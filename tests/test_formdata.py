"""FormData: which body a form becomes, and that a server-side reader gets the fields back."""

import io
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from multidict import MultiDict
from payload_helpers import stream_of, written

from aiohttp.formdata import FormData
from aiohttp.multipart import BodyPartReader, MultipartReader, MultipartWriter
from aiohttp.payload import BytesPayload, Payload


async def parts_of(p: Payload) -> list[tuple[str | None, str | None, str, bytes]]:
    """Read a multipart payload back the way a server would: (name, filename, type, data)."""
    stream = stream_of(await written(p))
    result = []
    async for part in MultipartReader(p.headers, stream):
        assert isinstance(part, BodyPartReader)
        result.append(
            (
                part.name,
                part.filename,
                part.headers.get("Content-Type", ""),
                bytes(await part.read(decode=True)),
            )
        )
    return result


async def test_plain_fields_make_an_urlencoded_body() -> None:
    form = FormData({"name": "Zoë", "age": 7})
    assert not form.is_multipart
    p = form()
    assert isinstance(p, BytesPayload)
    assert p.content_type == "application/x-www-form-urlencoded"
    body = await written(p)
    assert p.size == len(body)
    assert parse_qsl(body.decode()) == [("name", "Zoë"), ("age", "7")]


async def test_urlencoded_with_other_charset() -> None:
    form = FormData([("q", "café")], charset="latin-1")
    p = form()
    assert p.content_type == "application/x-www-form-urlencoded; charset=latin-1"
    assert await written(p) == b"q=caf%E9"


def test_urlencoded_refuses_values_it_cannot_encode() -> None:
    form = FormData({"obj": object()})
    with pytest.raises(TypeError, match="obj"):
        form()


async def test_file_makes_a_multipart_body(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\n1,2\n")
    form = FormData()
    form.add_field("title", "Quarterly")
    with path.open("rb") as f:
        form.add_field("upload", f)
        assert form.is_multipart
        p = form()
        assert isinstance(p, MultipartWriter)
        assert p.content_type.startswith("multipart/form-data; boundary=")
        parts = await parts_of(p)
    assert parts == [
        ("title", None, "text/plain; charset=utf-8", b"Quarterly"),
        ("upload", "report.csv", "text/csv", b"a,b\n1,2\n"),
    ]


async def test_bytes_field_is_a_file_named_after_the_field() -> None:
    form = FormData()
    form.add_field("blob", b"\x00\x01")
    assert form.is_multipart
    assert await parts_of(form()) == [("blob", "blob", "application/octet-stream", b"\x00\x01")]


async def test_explicit_filename_and_content_type() -> None:
    form = FormData()
    form.add_field("doc", io.BytesIO(b"%PDF"), filename="отчёт.pdf", content_type="application/pdf")
    assert await parts_of(form()) == [("doc", "отчёт.pdf", "application/pdf", b"%PDF")]


async def test_content_type_alone_makes_multipart() -> None:
    form = FormData()
    form.add_field("meta", '{"a": 1}', content_type="application/json")
    assert form.is_multipart
    assert await parts_of(form()) == [("meta", None, "application/json", b'{"a": 1}')]


async def test_content_transfer_encoding_is_applied() -> None:
    form = FormData()
    form.add_field("b", b"raw bytes", content_transfer_encoding="base64")
    p = form()
    assert b"raw bytes" not in await written(p)
    parts = await parts_of(p)
    assert parts[0][0] == "b" and parts[0][3] == b"raw bytes"


async def test_default_to_multipart() -> None:
    form = FormData({"a": "1"}, default_to_multipart=True)
    assert form.is_multipart
    assert await parts_of(form()) == [("a", None, "text/plain; charset=utf-8", b"1")]


async def test_unquoted_fields_are_sent_as_browsers_do() -> None:
    form = FormData(quote_fields=False, default_to_multipart=True)
    form.add_field("имя", "значение")
    p = form()
    assert 'name="имя"'.encode() in await written(p)
    assert await parts_of(p) == [("имя", None, "text/plain; charset=utf-8", "значение".encode())]


async def test_charset_applies_to_text_parts() -> None:
    form = FormData(charset="latin-1", default_to_multipart=True)
    form.add_field("t", "café")
    assert await parts_of(form()) == [("t", None, "text/plain; charset=latin-1", b"caf\xe9")]


def test_add_fields_accepts_pairs_dicts_multidicts_and_files() -> None:
    form = FormData()
    named = io.BytesIO(b"x")
    named.name = "/tmp/some/dir/photo.jpg"
    form.add_fields(("a", "1"), {"b": "2"}, MultiDict([("c", "3"), ("c", "4")]), named)
    names = [options["name"] for options, _, _ in form._fields]
    assert names == ["a", "b", "c", "c", "photo.jpg"]
    assert form.is_multipart


def test_bad_fields_are_refused() -> None:
    form = FormData()
    with pytest.raises(TypeError, match="pairs"):
        form.add_fields(("a", "b", "c"))
    with pytest.raises(TypeError, match="name"):
        form.add_field(1, "v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="filename"):
        form.add_field("f", b"x", filename=b"bytes.txt")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content_type"):
        form.add_field("f", "x", content_type=1)  # type: ignore[arg-type]


def test_multipart_refuses_values_without_a_payload() -> None:
    form = FormData(default_to_multipart=True)
    form.add_field("n", 42)
    with pytest.raises(TypeError, match="int"):
        form()


def test_calling_twice_gives_the_same_payload_and_freezes_fields() -> None:
    form = FormData({"a": "1"})
    assert form() is form()
    with pytest.raises(RuntimeError, match="processed"):
        form.add_field("b", "2")
