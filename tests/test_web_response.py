"""Responses over a real socket: framing, headers, cookies, compression, payload bodies."""

import asyncio
import datetime
import io
import json
import logging
import zlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from log_capture import Captured
from raw_http import RawClient, connect, pipelined, read_response, request, serve
from raw_http import get as http_get

from aiohttp import web
from aiohttp.helpers import ETag


async def test_response_text_sets_length_and_type(raw_client: RawClient) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(text="héllo")

    client = await raw_client(handler)
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert resp.headers["Content-Length"] == str(len("héllo".encode()))
    assert await resp.text() == "héllo"
    assert "Transfer-Encoding" not in resp.headers


async def test_response_body_content_type_charset_status_reason_headers(raw_client: RawClient) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(
            body="<p>ok</p>".encode("latin-1"),
            content_type="text/html",
            charset="latin-1",
            status=201,
            reason="Made It",
            headers={"X-Extra": "1"},
        )

    client = await raw_client(handler)
    resp = await client.get("/")
    assert (resp.status, resp.reason) == (201, "Made It")
    assert resp.headers["Content-Type"] == "text/html; charset=latin-1"
    assert resp.headers["X-Extra"] == "1"
    assert await resp.read() == b"<p>ok</p>"


def test_response_argument_errors() -> None:
    with pytest.raises(ValueError):
        web.Response(body=b"x", text="x")
    with pytest.raises(ValueError):
        web.Response(text="x", content_type="text/plain; charset=utf-8")
    with pytest.raises(ValueError):
        web.Response(text="x", headers={"Content-Type": "text/plain"}, content_type="text/html")
    with pytest.raises(TypeError):
        web.Response(text=b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        web.Response(status=42)
    with pytest.raises(ValueError):
        web.Response(reason="bad\r\nX-Injected: 1")


def test_response_properties() -> None:
    resp = web.Response(text="abc")
    assert resp.content_type == "text/plain"
    assert resp.charset == "utf-8"
    assert resp.content_length == 3
    resp.charset = "latin-1"
    assert resp.headers["Content-Type"] == "text/plain; charset=latin-1"
    resp.content_type = "text/csv"
    assert resp.headers["Content-Type"] == "text/csv; charset=latin-1"
    resp.last_modified = 0
    assert resp.last_modified == datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    assert resp.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    resp.etag = "v1"
    assert resp.headers["ETag"] == '"v1"'
    resp.etag = ETag(value="v2", is_weak=True)
    assert resp.headers["ETag"] == 'W/"v2"'
    assert resp.etag == ETag(value="v2", is_weak=True)
    with pytest.raises(ValueError):
        resp.etag = 'bad"tag'
    with pytest.raises(RuntimeError):
        resp.content_length = 10


async def test_json_response_and_custom_dumps(raw_client: RawClient) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        if request.path == "/custom":
            return web.json_response({"b": 1, "a": 2}, dumps=lambda o: json.dumps(o, sort_keys=True))
        return web.json_response({"ok": True, "n": [1, 2]}, status=202)

    client = await raw_client(handler)
    plain = await client.get("/")
    custom = await client.get("/custom")
    assert plain.status == 202
    assert plain.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await plain.json() == {"ok": True, "n": [1, 2]}
    assert await custom.read() == b'{"a": 2, "b": 1}'
    with pytest.raises(ValueError):
        web.json_response({"a": 1}, text="{}")


async def test_stream_response_chunked_writes() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        for i in range(3):
            await resp.write(f"part{i};".encode())
            await resp.drain()
        await resp.write_eof()
        return resp

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in resp.headers
    assert resp.body == b"part0;part1;part2;"


async def test_stream_response_with_content_length_is_not_chunked() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = 6
        await resp.prepare(request)
        await resp.write(b"abc")
        await resp.write(b"def")
        return resp  # the server finishes it

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.headers["Content-Length"] == "6"
    assert "Transfer-Encoding" not in resp.headers
    assert resp.body == b"abcdef"


async def test_enable_chunked_encoding_explicitly() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        return resp

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert resp.body == b"x" * 10

    resp2 = web.StreamResponse()
    resp2.content_length = 3
    with pytest.raises(RuntimeError):
        resp2.enable_chunked_encoding()


async def test_http10_stream_without_length_closes_connection() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"until close")
        return resp

    async with serve(handler) as server:
        resp = await request(server, b"GET / HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
    assert "Transfer-Encoding" not in resp.headers
    assert resp.body == b"until close"


async def test_write_before_prepare_and_after_eof_fail() -> None:
    seen: list[str] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        try:
            await resp.write(b"x")
        except RuntimeError:
            seen.append("before")
        await resp.prepare(request)
        await resp.write_eof(b"done")
        try:
            await resp.write(b"x")
        except RuntimeError:
            seen.append("after")
        return resp

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.body == b"done"
    assert seen == ["before", "after"]


async def test_head_sends_headers_only() -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(text="a body that HEAD must not carry")

    async with serve(handler) as server:
        data = b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        head, follow = await pipelined(server, data, 2, heads=1)
    assert head.headers["Content-Length"] == str(len("a body that HEAD must not carry"))
    # The next response on the same connection starts right after the head.
    assert follow.status == 200
    assert follow.text() == "a body that HEAD must not carry"


@pytest.mark.parametrize("status", [204, 304])
async def test_no_body_statuses(status: int) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(status=status, text="ignored")

    async with serve(handler) as server:
        data = b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        first, second = await pipelined(server, data, 2)
    assert first.status == status
    assert "Content-Length" not in first.headers
    assert "Transfer-Encoding" not in first.headers
    assert second.status == status  # no stray body bytes in between


async def test_cookies_round_trip() -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        resp = web.Response(text=json.dumps(dict(request.cookies), sort_keys=True))
        resp.set_cookie(
            "session",
            "abc 123",
            max_age=3600,
            domain="example.test",
            path="/app",
            secure=True,
            httponly=True,
            samesite="Strict",
        )
        resp.set_cookie("chip", "1", partitioned=True, secure=True, samesite="None")
        resp.set_cookie("exp", "2", expires="Wed, 01 Jan 2031 00:00:00 GMT")
        resp.del_cookie("old", path="/app")
        return resp

    async with serve(handler) as server:
        resp = await http_get(server, headers='Cookie: a=1; b="two words"; broken; c=3\r\n')
    assert json.loads(resp.body) == {"a": "1", "b": "two words", "c": "3"}
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.getall("Set-Cookie")}
    session = cookies["session"]
    assert session.startswith('session="abc 123"')
    for part in ("Domain=example.test", "HttpOnly", "Max-Age=3600", "Path=/app", "SameSite=Strict", "Secure"):
        assert part in session
    assert "Partitioned" in cookies["chip"]
    assert "expires=Wed, 01 Jan 2031 00:00:00 GMT" in cookies["exp"]
    old = cookies["old"]
    assert old.startswith('old=""')
    assert "Max-Age=0" in old
    assert "expires=Thu, 01 Jan 1970 00:00:00 GMT" in old


def test_set_cookie_after_delete_drops_expiry() -> None:
    resp = web.Response()
    resp.del_cookie("name")
    resp.set_cookie("name", "value")
    out = resp.cookies["name"].OutputString()
    assert out == "name=value; Path=/"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip;q=0, deflate", "deflate"),
        ("identity", None),
        ("", None),
    ],
)
async def test_compression_negotiation(accept: str, expected: "str | None") -> None:
    body = b"compress me " * 200

    async def handler(request: web.BaseRequest) -> web.Response:
        resp = web.Response(body=body, content_type="text/plain")
        resp.enable_compression()
        return resp

    async with serve(handler) as server:
        resp = await http_get(server, headers=f"Accept-Encoding: {accept}\r\n" if accept else "")
    assert resp.headers.get("Content-Encoding") == expected
    if expected is not None:
        assert resp.headers["Vary"] == "Accept-Encoding"
        assert int(resp.headers["Content-Length"]) == len(resp.body) < len(body)
    assert resp.decoded() == body


async def test_forced_compression_ignores_accept_encoding() -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        resp = web.Response(text="forced " * 50)
        resp.enable_compression(web.ContentCoding.gzip)
        return resp

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.decoded() == b"forced " * 50


async def test_streamed_compression_is_chunked() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_compression()
        await resp.prepare(request)
        for _ in range(5):
            await resp.write(b"stream " * 100)
        return resp

    async with serve(handler) as server:
        resp = await http_get(server, headers="Accept-Encoding: deflate\r\n")
    assert resp.headers["Content-Encoding"] == "deflate"
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert zlib.decompress(resp.body) == b"stream " * 500


async def test_large_body_compressed_in_executor() -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    used: list[str] = []
    body = bytes(range(256)) * 64  # 16 KiB

    def tracking_submit(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        used.append(getattr(fn, "__name__", "?"))
        return ThreadPoolExecutor.submit(executor, fn, *args, **kwargs)

    executor.submit = tracking_submit  # type: ignore[method-assign]

    async def handler(request: web.BaseRequest) -> web.Response:
        resp = web.Response(body=body, zlib_executor_size=1024, zlib_executor=executor)
        resp.enable_compression()
        return resp

    try:
        async with serve(handler) as server:
            resp = await http_get(server, headers="Accept-Encoding: gzip\r\n")
    finally:
        executor.shutdown()
    assert resp.decoded() == body
    assert used, "the body was expected to be compressed in the given executor"


async def test_payload_bodies_file_object_and_async_iterable() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"chunk{i}".encode()

    async def handler(request: web.BaseRequest) -> web.Response:
        if request.path == "/file":
            return web.Response(body=io.BytesIO(b"from a file object"))
        return web.Response(body=chunks())

    async with serve(handler) as server:
        from_file = await http_get(server, "/file")
        from_iter = await http_get(server, "/iter")
    assert from_file.body == b"from a file object"
    assert from_file.headers["Content-Length"] == str(len(b"from a file object"))
    assert from_iter.body == b"chunk0chunk1chunk2"
    assert from_iter.headers["Transfer-Encoding"] == "chunked"


def test_unsupported_body_type() -> None:
    with pytest.raises(ValueError):
        web.Response(body=object())


async def test_force_close_and_keep_alive() -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        resp = web.Response(text="bye")
        if request.path == "/close":
            resp.force_close()
        return resp

    async with serve(handler) as server:
        reader, writer = await connect(server)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            kept = await read_response(reader)
            writer.write(b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n")
            closed = await read_response(reader)
            rest = await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()
    assert "Connection" not in kept.headers
    assert closed.headers["Connection"] == "close"
    assert rest == b""


async def test_reused_heads_answer_each_request_as_a_fresh_one() -> None:
    """A whole response reuses a head seen before; every input that shapes a head still counts.

    Each request goes twice, so the second answer comes from the remembered head; both must
    be what the request asks for, and the access log must see the completed fields.
    """

    async def handler(request: web.BaseRequest) -> web.Response:
        query = request.query
        resp = web.Response(
            text=query.get("text", "hello"),
            status=int(query.get("status", "200")),
            reason=query.get("reason"),
            headers={"X-A": query["a"]} if "a" in query else None,
        )
        if "close" in query:
            resp.force_close()
        return resp

    cases = [
        # (request line and fields, start line, Content-Length, Connection, X-A)
        ("GET / HTTP/1.1\r\nHost: t", "HTTP/1.1 200 OK", "5", None, None),
        ("GET /?text=hello%20world HTTP/1.1\r\nHost: t", "HTTP/1.1 200 OK", "11", None, None),
        ("GET /?a=1 HTTP/1.1\r\nHost: t", "HTTP/1.1 200 OK", "5", None, "1"),
        ("GET /?a=2 HTTP/1.1\r\nHost: t", "HTTP/1.1 200 OK", "5", None, "2"),
        ("GET /?status=201 HTTP/1.1\r\nHost: t", "HTTP/1.1 201 Created", "5", None, None),
        ("GET /?reason=Fine HTTP/1.1\r\nHost: t", "HTTP/1.1 200 Fine", "5", None, None),
        ("GET /?close=1 HTTP/1.1\r\nHost: t", "HTTP/1.1 200 OK", "5", "close", None),
        ("GET / HTTP/1.1\r\nHost: t\r\nConnection: close", "HTTP/1.1 200 OK", "5", "close", None),
        ("GET / HTTP/1.0", "HTTP/1.0 200 OK", "5", None, None),
        ("GET / HTTP/1.0\r\nConnection: keep-alive", "HTTP/1.0 200 OK", "5", "keep-alive", None),
    ]
    captured = Captured()
    access = logging.getLogger("test.reused_heads")
    access.addHandler(captured)
    access.setLevel(logging.INFO)
    try:
        async with serve(handler, access_log=access, access_log_format="%{Content-Length}o %{Connection}o") as server:
            heads: dict[str, list[list[bytes]]] = {}
            for _ in range(2):
                for fields, start_line, length, connection, extra in cases:
                    resp = await request(server, f"{fields}\r\n\r\n".encode())
                    assert resp.head.split(b"\r\n")[0].decode() == start_line, fields
                    assert resp.headers["Content-Length"] == length == str(len(resp.body)), fields
                    assert resp.headers.get("Connection") == connection, fields
                    assert resp.headers.get("X-A") == extra, fields
                    assert resp.headers["Server"] and resp.headers["Date"]
                    assert captured.records[-1].message == f"{length} {connection or '-'}", fields
                    lines = [line for line in resp.head.split(b"\r\n") if not line.startswith(b"Date:")]
                    heads.setdefault(fields, []).append(lines)
    finally:
        access.removeHandler(captured)
    for fields, (first, second) in heads.items():
        assert first == second, fields


async def test_response_state_mapping_with_typed_keys() -> None:
    key = web.ResponseKey("timing", float)
    resp = web.Response()
    resp[key] = 1.5
    resp["plain"] = "still works"
    assert resp[key] == 1.5
    assert dict(resp) == {key: 1.5, "plain": "still works"}
    assert "ResponseKey" in repr(key)


async def test_status_cannot_change_after_prepare() -> None:
    errors: list[Exception] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            resp.set_status(500)
        except AssertionError as exc:
            errors.append(exc)
        return resp

    async with serve(handler) as server:
        resp = await http_get(server)
    assert resp.status == 200
    assert len(errors) == 1


async def test_compressed_payload_bodies_are_chunked() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"abc" * 100
        yield b"def" * 100

    async def handler(request: web.BaseRequest) -> web.Response:
        body = io.BytesIO(b"x" * 5000) if request.path == "/file" else chunks()
        resp = web.Response(body=body)
        resp.enable_compression()
        return resp

    async with serve(handler) as server:
        from_file = await http_get(server, "/file", headers="Accept-Encoding: gzip\r\n")
        from_iter = await http_get(server, "/iter", headers="Accept-Encoding: gzip\r\n")
    for resp in (from_file, from_iter):
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in resp.headers
    assert from_file.decoded() == b"x" * 5000
    assert from_iter.decoded() == b"abc" * 100 + b"def" * 100


async def test_http10_body_of_unknown_length_is_close_delimited() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"one "
        yield b"two"

    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(body=chunks())

    async with serve(handler) as server:
        resp = await request(server, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert "Transfer-Encoding" not in resp.headers
    assert "Content-Length" not in resp.headers
    assert resp.body == b"one two"
