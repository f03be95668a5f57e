"""request.post() and request.multipart() over a real socket: fields, files, limits, bad input."""

import io
from typing import Any

import pytest
from raw_http import Handler, RawClient, request

from aiohttp import ClientResponse, web
from aiohttp.formdata import FormData
from aiohttp.pytest_plugin import AiohttpRawServer
from aiohttp.test_utils import TestClient


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


Client = TestClient[web.BaseRequest, None]


async def post_raw(client: Client, content_type: str, body: bytes, method: str = "POST") -> ClientResponse:
    return await client.request(method, "/", data=body, headers={"Content-Type": content_type})


def limited(max_size: int) -> Handler:
    """``form_echo`` on a request that may be at most ``max_size`` bytes."""

    async def handler(req: web.BaseRequest) -> web.Response:
        return await form_echo(req.clone(client_max_size=max_size))

    return handler


async def test_urlencoded_form(raw_client: RawClient) -> None:
    client = await raw_client(form_echo)
    resp = await client.post("/", data=FormData([("a", "1"), ("b", "two words"), ("a", "ü")]))
    assert await resp.json() == [["a", "1"], ["b", "two words"], ["a", "ü"]]


async def test_urlencoded_form_in_latin1(raw_client: RawClient) -> None:
    client = await raw_client(form_echo)
    resp = await post_raw(client, "application/x-www-form-urlencoded; charset=latin-1", b"name=Jos%E9&e=")
    assert await resp.json() == [["name", "José"], ["e", ""]]


async def test_multipart_form_with_file_uploads(raw_client: RawClient) -> None:
    form = FormData()
    form.add_field("title", "holiday")
    form.add_field("photo", io.BytesIO(b"JPEGDATA"), filename="beach.jpg", content_type="image/jpeg")
    form.add_field("notes", io.BytesIO(b"line1\nline2"), filename="notes.txt", content_type="text/plain")
    client = await raw_client(form_echo)
    resp = await client.post("/", data=form)
    assert resp.status == 200
    assert await resp.json() == [
        ["title", "holiday"],
        ["photo", {"filename": "beach.jpg", "type": "image/jpeg", "data": "JPEGDATA"}],
        ["notes", {"filename": "notes.txt", "type": "text/plain", "data": "line1\nline2"}],
    ]


async def test_multipart_binary_field_without_filename_stays_bytes(raw_client: RawClient) -> None:
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
    client = await raw_client(form_echo)
    resp = await post_raw(client, "multipart/form-data; boundary=XyZ", body)
    assert await resp.json() == [["blob", {"bytes": "\xff\x00raw"}], ["text", "plain"]]


async def test_multipart_reader_in_a_handler(raw_client: RawClient) -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        reader = await req.multipart()
        names = []
        async for part in reader:
            names.append([part.name, (await part.read()).decode()])  # type: ignore[union-attr]
        return web.json_response(names)

    form = FormData(default_to_multipart=True)
    form.add_field("a", "1")
    form.add_field("b", "2")
    client = await raw_client(handler)
    resp = await client.post("/", data=form)
    assert await resp.json() == [["a", "1"], ["b", "2"]]


async def test_post_on_get_or_other_content_type_is_empty(raw_client: RawClient) -> None:
    client = await raw_client(form_echo)
    on_get = await post_raw(client, "application/x-www-form-urlencoded", b"a=1", method="GET")
    json_body = await post_raw(client, "application/json", b'{"a": 1}')
    assert await on_get.json() == []
    assert await json_body.json() == []


async def test_post_is_cached(raw_client: RawClient) -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        first = await req.post()
        second = await req.post()
        return web.json_response(first is second)

    client = await raw_client(handler)
    resp = await post_raw(client, "application/x-www-form-urlencoded", b"a=1")
    assert await resp.json() is True


async def test_multipart_over_limit_gets_413(raw_client: RawClient) -> None:
    form = FormData()
    form.add_field("file", io.BytesIO(b"x" * 500), filename="big.bin")
    client = await raw_client(limited(100))
    resp = await client.post("/", data=form)
    assert resp.status == 413


async def test_multipart_field_over_limit_with_chunked_body_gets_413(aiohttp_raw_server: AiohttpRawServer) -> None:
    part = b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\n' + b"y" * 300 + b"\r\n--B--\r\n"
    data = (
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(part), part)
    )
    server = await aiohttp_raw_server(limited(100))
    resp = await request(server, data)
    assert resp.status == 413


async def test_urlencoded_over_limit_gets_413(raw_client: RawClient) -> None:
    client = await raw_client(limited(10))
    resp = await post_raw(client, "application/x-www-form-urlencoded", b"a=" + b"1" * 50)
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
async def test_malformed_forms_get_400(raw_client: RawClient, content_type: str, body: bytes) -> None:
    client = await raw_client(form_echo)
    resp = await post_raw(client, content_type, body)
    assert resp.status == 400
