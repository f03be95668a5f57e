"""The connection layer over real loopback sockets: keep-alive, pipelining, bodies, errors."""

import asyncio
import contextvars
import gzip
import json
import logging

import pytest
from wire_helpers import WAIT, close_quietly, exchange, read_response, serve

from aiohttp import web

GET = b"GET %s HTTP/1.1\r\nHost: test\r\n\r\n"


def get(path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: test", *extra, "", ""]
    return "\r\n".join(lines).encode()


# -- keep-alive ------------------------------------------------------------------


async def test_keep_alive_reuses_the_connection() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        for path in ("/one", "/two", "/three"):
            writer.write(get(path))
            resp = await read_response(reader)
            assert resp.status == 200
            assert resp.body == f"GET {path} 0".encode()
            assert not resp.closes
        close_quietly(writer)
        assert served.calls == ["/one", "/two", "/three"]
        assert served.server.requests_count == 3


async def test_connection_close_is_honoured() -> None:
    async with serve() as served:
        data = await exchange(served, get("/", "Connection: close"))
        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nConnection: close\r\n" in data


async def test_http10_closes_unless_keep_alive_is_asked() -> None:
    async with serve() as served:
        data = await exchange(served, b"GET /old HTTP/1.0\r\n\r\n")
        assert data.startswith(b"HTTP/1.0 200 OK\r\n")
        reader, writer = await served.connect()
        writer.write(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        resp = await read_response(reader)
        assert resp.headers["connection"] == "keep-alive"
        writer.write(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert (await read_response(reader)).body == b"GET /b 0"
        close_quietly(writer)


async def test_response_headers_date_and_server() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(get("/"))
        resp = await read_response(reader)
        assert resp.headers["date"].endswith(" GMT")
        assert "aiohttp" in resp.headers["server"]
        assert resp.headers["content-length"] == str(len(resp.body))
        close_quietly(writer)


# -- pipelining --------------------------------------------------------------------


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"".join(get(f"/{i}") for i in range(10)))
        bodies = [(await read_response(reader)).body for _ in range(10)]
        assert bodies == [f"GET /{i} 0".encode() for i in range(10)]
        close_quietly(writer)


async def test_slow_first_request_does_not_let_the_second_overtake() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/slow":
            await asyncio.sleep(0.2)
        return web.Response(text=request.path)

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(get("/slow") + get("/fast"))
        assert (await read_response(reader)).body == b"/slow"
        assert (await read_response(reader)).body == b"/fast"
        close_quietly(writer)


async def test_pipelined_bodies_stay_with_their_requests() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(
            b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
            b"POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
            + get("/c")
        )
        assert [(await read_response(reader)).body for _ in range(3)] == [b"POST /a 3", b"POST /b 2", b"GET /c 0"]
        close_quietly(writer)


async def test_many_pipelined_requests_pause_and_resume_reading() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"".join(get(f"/{i}") for i in range(200)))
        for i in range(200):
            assert (await read_response(reader)).body == f"GET /{i} 0".encode()
        close_quietly(writer)


async def test_each_request_runs_in_a_fresh_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        seen.append(var.get())
        var.set(request.path)
        return web.Response(text="ok")

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(get("/1") + get("/2"))
        await read_response(reader)
        await read_response(reader)
        writer.write(get("/3"))
        await read_response(reader)
        close_quietly(writer)
    assert seen == ["unset", "unset", "unset"]


# -- request bodies ------------------------------------------------------------------


async def test_chunked_request_body() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        chunks = [chunk async for chunk in request.content.iter_any()]
        return web.Response(body=b"|".join(chunks) if len(chunks) > 1 else b"".join(chunks))

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n")
        await asyncio.sleep(0.05)
        writer.write(b"6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
        resp = await read_response(reader)
        assert resp.body.replace(b"|", b"") == b"hello world"
        close_quietly(writer)


async def test_gzip_request_body_is_decoded_for_the_handler() -> None:
    packed = gzip.compress(b'{"n": 1}')
    async with serve() as served:
        head = b"POST /z HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        data = await exchange(served, head % len(packed) + packed)
        assert data.endswith(b"POST /z 8")


async def test_request_attributes() -> None:
    got = {}

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        got.update(
            method=request.method,
            version=tuple(request.version),
            path=request.path,
            raw_path=request.raw_path,
            query=dict(request.query),
            host=request.host,
            scheme=request.scheme,
            remote=request.remote,
            keep_alive=request.keep_alive,
            content_type=request.content_type,
            charset=request.charset,
            content_length=request.content_length,
            can_read_body=request.can_read_body,
            body_exists=request.body_exists,
            transport=request.transport is not None,
            header=request.headers["X-Custom"],
            json=await request.json(),
        )
        return web.json_response({"ok": True})

    async with serve(handler) as served:
        reader, writer = await served.connect()
        body = json.dumps({"a": [1, 2]}).encode()
        writer.write(
            b"PUT /p%%20q?x=1&y=two HTTP/1.1\r\nHost: example.org:81\r\nX-Custom: c\r\n"
            b"Content-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        resp = await read_response(reader)
        assert resp.headers["content-type"] == "application/json; charset=utf-8"
        assert json.loads(resp.body) == {"ok": True}
        close_quietly(writer)
    assert got == {
        "method": "PUT",
        "version": (1, 1),
        "path": "/p q",
        "raw_path": "/p%20q?x=1&y=two",
        "query": {"x": "1", "y": "two"},
        "host": "example.org:81",
        "scheme": "http",
        "remote": "127.0.0.1",
        "keep_alive": True,
        "content_type": "application/json",
        "charset": "utf-8",
        "content_length": len(body),
        "can_read_body": True,
        "body_exists": True,
        "transport": True,
        "header": "c",
        "json": {"a": [1, 2]},
    }


async def test_text_reads_the_declared_charset() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text=await request.text())

    async with serve(handler) as served:
        body = "héllo".encode("latin-1")
        head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain; charset=latin-1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        data = await exchange(served, head % len(body) + body)
        assert data.endswith("héllo".encode())


async def test_unread_body_is_drained_so_keep_alive_survives() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text="ignored the body")

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789" + get("/b"))
        first = await read_response(reader)
        assert not first.closes
        assert (await read_response(reader)).body == b"ignored the body"
        close_quietly(writer)
        assert served.calls == ["/a", "/b"]


async def test_big_unread_body_closes_instead_of_draining() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text="no thanks")

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1000)
        resp = await read_response(reader)
        assert resp.closes and resp.body == b"no thanks"
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        close_quietly(writer)


async def test_large_body_is_streamed_with_flow_control() -> None:
    total = 8 * 1024 * 1024

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size < 1024 * 1024:
                await asyncio.sleep(0.001)  # a slow reader: the server must pause the socket
        return web.Response(text=str(size))

    async with serve(handler, read_bufsize=2**14) as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % total)
        block = b"x" * 65536
        for _ in range(total // len(block)):
            writer.write(block)
            await asyncio.wait_for(writer.drain(), WAIT)
        resp = await read_response(reader)
        assert resp.body == str(total).encode()
        close_quietly(writer)


async def test_full_body_buffer_pauses_the_socket_until_the_handler_reads() -> None:
    states = {}

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        transport = request.transport
        assert transport is not None
        await asyncio.sleep(0.2)  # the client keeps sending meanwhile
        states["while_unread"] = transport.is_reading()
        size = len(await request.read())
        states["after_read"] = transport.is_reading()
        return web.Response(text=str(size))

    async with serve(handler, read_bufsize=2**14) as served:
        reader, writer = await served.connect()
        body = b"x" * (900 * 1024)
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        resp = await read_response(reader)
        assert resp.body == str(len(body)).encode()
        close_quietly(writer)
    assert states == {"while_unread": False, "after_read": True}


# -- 100-continue ------------------------------------------------------------------------


async def test_expect_100_continue_is_sent_when_the_handler_reads() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = await read_response(reader)
        assert interim.status == 100
        writer.write(b"data")
        resp = await read_response(reader)
        assert resp.status == 200 and resp.body == b"POST /up 4"
        close_quietly(writer)


async def test_no_100_continue_when_the_handler_answers_without_reading() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        raise web.HTTPForbidden()

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 403 and resp.closes
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        close_quietly(writer)


async def test_over_limit_body_gets_413_at_once_and_no_100_continue() -> None:
    async with serve() as served:  # read() refuses bodies over client_max_size (1 MiB)
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 413 and resp.closes
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        close_quietly(writer)


async def test_over_limit_chunked_body_gets_413() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        try:
            for _ in range(20):
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), WAIT)
        except ConnectionError:
            pass
        resp = await read_response(reader)
        assert resp.status == 413
        close_quietly(writer)


# -- responses ------------------------------------------------------------------------------


async def test_streamed_response_is_chunked() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for part in (b"one ", b"two ", b"three"):
            await resp.write(part)
        await resp.write_eof()
        return resp

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(get("/"))
        resp = await read_response(reader)
        assert resp.headers["transfer-encoding"] == "chunked"
        assert resp.body == b"one two three"
        writer.write(get("/again"))
        assert (await read_response(reader)).body == b"one two three"
        close_quietly(writer)


async def test_streamed_response_to_http10_ends_with_close() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"old client")
        return resp

    async with serve(handler) as served:
        data = await exchange(served, b"GET / HTTP/1.0\r\n\r\n")
        assert data.endswith(b"\r\n\r\nold client")
        assert b"transfer-encoding" not in data.lower()


async def test_head_response_has_no_body() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after"))
        head = await read_response(reader, head_only=True)
        assert head.status == 200 and head.headers["content-length"] == str(len(b"HEAD /h 0"))
        assert (await read_response(reader)).body == b"GET /after 0"
        close_quietly(writer)


@pytest.mark.parametrize("status", [204, 304])
async def test_bodiless_statuses_send_no_body(status: int) -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(status=status)

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(get("/1") + get("/2"))
        for _ in range(2):
            resp = await read_response(reader)
            assert resp.status == status
            assert "transfer-encoding" not in resp.headers
        close_quietly(writer)


async def test_handler_error_is_a_500_without_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        raise RuntimeError("secret internals")

    async with serve(handler) as served:
        with caplog.at_level(logging.ERROR, logger="aiohttp.server"):
            data = await exchange(served, get("/boom"))
    assert data.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"secret internals" not in data and b"Traceback" not in data
    records = [r for r in caplog.records if r.name == "aiohttp.server" and r.exc_info]
    assert len(records) == 1
    assert "secret internals" in str(records[0].exc_info[1])


async def test_http_exception_becomes_its_response() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        raise web.HTTPNotFound(text="nothing here")

    async with serve(handler) as served:
        reader, writer = await served.connect()
        writer.write(get("/missing") + get("/missing-too"))
        for _ in range(2):
            resp = await read_response(reader)
            assert resp.status == 404 and resp.body == b"nothing here"
        close_quietly(writer)


async def test_handler_returning_none_is_a_500() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return None  # type: ignore[return-value]

    async with serve(handler) as served:
        assert (await exchange(served, get("/"))).startswith(b"HTTP/1.1 500 ")


async def test_on_request_done_runs_after_each_response() -> None:
    async with serve() as served:
        done = []
        served.server.on_request_done = lambda: done.append(served.server.requests_count)
        reader, writer = await served.connect()
        writer.write(get("/1") + get("/2"))
        await read_response(reader)
        await read_response(reader)
        await asyncio.sleep(0.01)
        close_quietly(writer)
    assert done == [1, 2]


async def test_client_disconnect_mid_body_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    failed = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        try:
            return web.Response(body=await request.read())
        except ConnectionError:
            failed.set()
            raise

    async with serve(handler) as served:
        _reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
        await asyncio.sleep(0.05)
        writer.close()
        with caplog.at_level(logging.ERROR, logger="aiohttp.server"):
            await asyncio.wait_for(failed.wait(), WAIT)
            await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- sites --------------------------------------------------------------------------------------


async def test_unix_site(tmp_path: "pytest.TempPathFactory") -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text="over unix")

    path = str(tmp_path / "s.sock")  # type: ignore[operator]
    runner = web.ServerRunner(web.Server(handler, access_log=None))
    await runner.setup()
    await web.UnixSite(runner, path).start()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), WAIT)
        writer.write(get("/"))
        resp = await read_response(reader)
        assert resp.body == b"over unix"
        assert resp.headers["connection"] if "connection" in resp.headers else True
        close_quietly(writer)
    finally:
        await runner.cleanup()


async def test_sock_site() -> None:
    import socket

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text="over an inherited socket")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    runner = web.ServerRunner(web.Server(handler, access_log=None))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
        writer.write(get("/"))
        assert (await read_response(reader)).body == b"over an inherited socket"
        close_quietly(writer)
    finally:
        await runner.cleanup()


# -- the client closing its side ----------------------------------------------------------------


async def test_half_closing_client_still_gets_its_answer() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
        writer.write_eof()
        reply = await asyncio.wait_for(reader.read(), WAIT)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"POST /x 3")
        close_quietly(writer)


async def test_wait_for_disconnection_returns_when_the_client_leaves() -> None:
    noticed = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        await request.wait_for_disconnection()
        noticed.set()
        return web.Response()

    async with serve(handler) as served:
        _, writer = await served.connect()
        writer.write(get("/long-poll"))
        await asyncio.sleep(0.05)
        writer.close()
        await asyncio.wait_for(noticed.wait(), WAIT)


# -- uvloop -------------------------------------------------------------------------------------


def test_serves_under_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        seen = var.get()
        var.set(request.path)
        body = await request.read()
        return web.Response(text=f"{seen} {len(body)}")

    async def scenario() -> list[bytes]:
        async with serve(handler) as served:
            reader, writer = await served.connect()
            writer.write(get("/a") + b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
            bodies = [(await read_response(reader)).body for _ in range(2)]
            close_quietly(writer)
            return bodies

    assert uvloop.run(scenario()) == [b"unset 0", b"unset 2"]
