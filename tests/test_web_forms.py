"""request.post() and request.multipart() over a real socket: fields, files, limits, bad input."""

import io
import json
from typing import Any

import pytest
from raw_http import RawResponse, request, serve

from aiohttp import web
from aiohttp.formdata import FormData


async def form_echo(req: web.BaseRequest) -> web.Response:
    """Describe every field of the posted form, files included."""
    form = await req.post()
    out: list[Any] = []
    for name, value in form.items():
        if isinstance(value, web.FileField):
            out.append(
                [name, {"filename": value.filename, "type": value.content_type, "data": value.file.read().decode()}]
            )
        elif isinstance(value, bytes):
            out.append([name, {"bytes": value.decode("latin-1")}])
        else:
            out.append([name, value])
    return web.json_response(out)


async def post_form(port: int, form: FormData, path: str = "/") -> RawResponse:
    payload = form()
    body = await payload.as_bytes()
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {payload.content_type}"
    boundary = payload.headers.get("Content-Type", "")
    if "boundary" in boundary:
        head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {boundary}"
    data = f"{head}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    return await request(port, data)


async def post_raw(port: int, content_type: str, body: bytes, method: str = "POST") -> RawResponse:
    data = (
        f"{method} / HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    return await request(port, data)


async def test_urlencoded_form() -> None:
    async with serve(form_echo) as port:
        resp = await post_form(port, FormData([("a", "1"), ("b", "two words"), ("a", "ü")]))
    assert json.loads(resp.body) == [["a", "1"], ["b", "two words"], ["a", "ü"]]


async def test_urlencoded_form_in_latin1() -> None:
    async with serve(form_echo) as port:
        resp = await post_raw(port, "application/x-www-form-urlencoded; charset=latin-1", b"name=Jos%E9&e=")
    assert json.loads(resp.body) == [["name", "José"], ["e", ""]]


async def test_multipart_form_with_file_uploads() -> None:
    form = FormData()
    form.add_field("title", "holiday")
    form.add_field("photo", io.BytesIO(b"JPEGDATA"), filename="beach.jpg", content_type="image/jpeg")
    form.add_field("notes", io.BytesIO(b"line1\nline2"), filename="notes.txt", content_type="text/plain")
    async with serve(form_echo) as port:
        resp = await post_form(port, form)
    assert resp.status == 200
    assert json.loads(resp.body) == [
        ["title", "holiday"],
        ["photo", {"filename": "beach.jpg", "type": "image/jpeg", "data": "JPEGDATA"}],
        ["notes", {"filename": "notes.txt", "type": "text/plain", "data": "line1\nline2"}],
    ]


async def test_multipart_binary_field_without_filename_stays_bytes() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="blob"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
        b"\xff\x00raw\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="text"\r\n\r\n'
        b"plain\r\n"
        b"--XyZ--\r\n"
    )
    async with serve(form_echo) as port:
        resp = await post_raw(port, "multipart/form-data; boundary=XyZ", body)
    assert json.loads(resp.body) == [["blob", {"bytes": "\xff\x00raw"}], ["text", "plain"]]


async def test_multipart_reader_in_a_handler() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        reader = await req.multipart()
        names = []
        async for part in reader:
            names.append([part.name, (await part.read()).decode()])  # type: ignore[union-attr]
        return web.json_response(names)

    form = FormData(default_to_multipart=True)
    form.add_field("a", "1")
    form.add_field("b", "2")
    async with serve(handler) as port:
        resp = await post_form(port, form)
    assert json.loads(resp.body) == [["a", "1"], ["b", "2"]]


async def test_post_on_get_or_other_content_type_is_empty() -> None:
    async with serve(form_echo) as port:
        on_get = await post_raw(port, "application/x-www-form-urlencoded", b"a=1", method="GET")
        json_body = await post_raw(port, "application/json", b'{"a": 1}')
    assert json.loads(on_get.body) == []
    assert json.loads(json_body.body) == []


async def test_post_is_cached() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        first = await req.post()
        second = await req.post()
        return web.json_response(first is second)

    async with serve(handler) as port:
        resp = await post_raw(port, "application/x-www-form-urlencoded", b"a=1")
    assert json.loads(resp.body) is True


async def test_multipart_over_limit_gets_413() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return await form_echo(req.clone(client_max_size=100))

    form = FormData()
    form.add_field("file", io.BytesIO(b"x" * 500), filename="big.bin")
    async with serve(handler) as port:
        resp = await post_form(port, form)
    assert resp.status == 413


async def test_multipart_field_over_limit_with_chunked_body_gets_413() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return await form_echo(req.clone(client_max_size=100))

    part = b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\n' + b"y" * 300 + b"\r\n--B--\r\n"
    data = (
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(part), part)
    )
    async with serve(handler) as port:
        resp = await request(port, data)
    assert resp.status == 413


async def test_urlencoded_over_limit_gets_413() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return await form_echo(req.clone(client_max_size=10))

    async with serve(handler) as port:
        resp = await post_raw(port, "application/x-www-form-urlencoded", b"a=" + b"1" * 50)
    assert resp.status == 413


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--B\r\n\r\nx\r\n--B--\r\n"),  # no boundary parameter
        ("multipart/form-data; boundary=B", b"garbage without any boundary"),
        ("multipart/form-data; boundary=B", b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated'),
        ("application/x-www-form-urlencoded", b"a=\xff\xfe"),  # not valid utf-8
    ],
)
async def test_malformed_forms_get_400(content_type: str, body: bytes) -> None:
    async with serve(form_echo) as port:
        resp = await post_raw(port, content_type, body)
    assert resp.status == 400
