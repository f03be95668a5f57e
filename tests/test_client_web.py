"""The client against our own server (aiohttp.web's low-level Server over real sockets)."""

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

import aiohttp
from aiohttp import web
from aiohttp.pytest_plugin import AiohttpRawServer
from aiohttp.request_id import request_id

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


async def peer_port(request: web.BaseRequest) -> web.StreamResponse:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.Response(text=str(peer[1] if peer else ""))


async def test_keep_alive_against_our_server(aiohttp_raw_server: AiohttpRawServer) -> None:
    srv = await aiohttp_raw_server(peer_port)
    async with aiohttp.ClientSession() as session:
        ports = set()
        for _ in range(5):
            async with session.get(srv.make_url("/")) as resp:
                assert resp.status == 200
                ports.add(await resp.text())
        assert len(ports) == 1


async def test_upload_bodies_to_our_server(aiohttp_raw_server: AiohttpRawServer, tmp_path: Path) -> None:
    async def sizes(request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        return web.json_response(
            {"len": len(body), "type": request.content_type, "chunked": "chunked" in request.headers.get("Transfer-Encoding", "")}
        )

    async def gen() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"z" * 10_000

    path = tmp_path / "f.bin"
    path.write_bytes(b"q" * 123_456)
    srv = await aiohttp_raw_server(sizes)
    async with aiohttp.ClientSession() as session:
        async with session.post(srv.make_url("/"), data=b"a" * 1000) as resp:
            assert await resp.json() == {"len": 1000, "type": "application/octet-stream", "chunked": False}
        async with session.post(srv.make_url("/"), data=gen()) as resp:
            assert await resp.json() == {"len": 1_000_000, "type": "application/octet-stream", "chunked": True}
        with path.open("rb") as f:
            async with session.put(srv.make_url("/"), data=f) as resp:
                assert (await resp.json())["len"] == 123_456
        form = aiohttp.FormData()
        form.add_field("doc", io.BytesIO(b"%PDF"), filename="a.pdf", content_type="application/pdf")
        async with session.post(srv.make_url("/"), data=form) as resp:
            got = await resp.json()
            assert got["type"] == "multipart/form-data"
            assert got["len"] > 4


async def test_streamed_and_compressed_responses_from_our_server(aiohttp_raw_server: AiohttpRawServer) -> None:
    async def stream(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_type = "text/plain"
        if request.path == "/gzip":
            resp.enable_compression()
        await resp.prepare(request)
        for i in range(50):
            await resp.write(f"part {i}\n".encode())
        await resp.write_eof()
        return resp

    expected = "".join(f"part {i}\n" for i in range(50))
    srv = await aiohttp_raw_server(stream)
    async with aiohttp.ClientSession() as session:
        async with session.get(srv.make_url("/plain")) as resp:
            assert resp.headers.get("Transfer-Encoding") == "chunked"
            lines = [line async for line in resp.content]
            assert b"".join(lines).decode() == expected
        async with session.get(srv.make_url("/gzip")) as resp:
            assert resp.headers.get("Content-Encoding") in ("gzip", "deflate", "br")
            assert await resp.text() == expected


async def test_redirects_and_cookies_with_our_server(aiohttp_raw_server: AiohttpRawServer) -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/login":
            resp = web.Response(status=302, headers={"Location": "/home"})
            resp.set_cookie("sid", "s3cret", path="/")
            return resp
        return web.Response(text=f"home {request.cookies.get('sid')}")

    srv = await aiohttp_raw_server(handler)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://localhost:{srv.port}/login", data=b"creds") as resp:
            assert resp.status == 200
            assert resp.method == "GET"
            assert await resp.text() == "home s3cret"
            assert resp.history[0].status == 302


async def test_server_error_and_raise_for_status(aiohttp_raw_server: AiohttpRawServer) -> None:
    async def broken(request: web.BaseRequest) -> web.StreamResponse:
        raise RuntimeError("boom")

    srv = await aiohttp_raw_server(broken)
    async with aiohttp.ClientSession() as session:
        async with session.get(srv.make_url("/")) as resp:
            assert resp.status == 500
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await session.get(srv.make_url("/"), raise_for_status=True)
        assert info.value.status == 500


async def test_slow_handler_hits_sock_read_timeout(aiohttp_raw_server: AiohttpRawServer) -> None:
    async def slow(request: web.BaseRequest) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.Response(text="late")

    srv = await aiohttp_raw_server(slow)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=0.2)) as session:
        with pytest.raises(aiohttp.SocketTimeoutError):
            await session.get(srv.make_url("/"))


async def test_request_id_flows_from_our_server_to_the_next_service(aiohttp_raw_server: AiohttpRawServer) -> None:
    async def downstream(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text=request.headers.get("X-Request-ID", "none"))

    down = await aiohttp_raw_server(downstream)
    session = aiohttp.ClientSession(propagate_request_id=True)
    plain = aiohttp.ClientSession()

    async def front(request: web.BaseRequest) -> web.StreamResponse:
        async with session.get(down.make_url("/")) as resp:
            forwarded = await resp.text()
        async with plain.get(down.make_url("/")) as resp:
            not_forwarded = await resp.text()
        return web.json_response(
            {"mine": request_id.get(), "forwarded": forwarded, "plain": not_forwarded}
        )

    try:
        srv = await aiohttp_raw_server(front, request_id=True)
        async with aiohttp.ClientSession() as client:
            async with client.get(srv.make_url("/")) as resp:
                got = await resp.json()
                echoed = resp.headers["X-Request-ID"]
    finally:
        await session.close()
        await plain.close()
    assert got["mine"] == echoed
    assert got["forwarded"] == got["mine"]
    assert got["plain"] == "none"
