"""The client against our own server (aiohttp.web's low-level Server over real sockets)."""

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

import aiohttp
from aiohttp import web
from aiohttp.request_id import request_id

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class OurServer:
    """``web.Server`` on 127.0.0.1 through ServerRunner and TCPSite."""

    def __init__(self, handler: Handler, **server_kwargs: object) -> None:
        self.runner = web.ServerRunner(web.Server(handler, **server_kwargs))
        self.port = 0

    async def __aenter__(self) -> "OurServer":
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self.runner.cleanup(), 10)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


async def peer_port(request: web.BaseRequest) -> web.StreamResponse:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.Response(text=str(peer[1] if peer else ""))


async def test_keep_alive_against_our_server() -> None:
    async with OurServer(peer_port) as srv, aiohttp.ClientSession() as session:
        ports = set()
        for _ in range(5):
            async with session.get(srv.url()) as resp:
                assert resp.status == 200
                ports.add(await resp.text())
        assert len(ports) == 1


async def test_upload_bodies_to_our_server(tmp_path) -> None:
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
    async with OurServer(sizes) as srv, aiohttp.ClientSession() as session:
        async with session.post(srv.url(), data=b"a" * 1000) as resp:
            assert await resp.json() == {"len": 1000, "type": "application/octet-stream", "chunked": False}
        async with session.post(srv.url(), data=gen()) as resp:
            assert await resp.json() == {"len": 1_000_000, "type": "application/octet-stream", "chunked": True}
        with path.open("rb") as f:
            async with session.put(srv.url(), data=f) as resp:
                assert (await resp.json())["len"] == 123_456
        form = aiohttp.FormData()
        form.add_field("doc", io.BytesIO(b"%PDF"), filename="a.pdf", content_type="application/pdf")
        async with session.post(srv.url(), data=form) as resp:
            got = await resp.json()
            assert got["type"] == "multipart/form-data"
            assert got["len"] > 4


async def test_streamed_and_compressed_responses_from_our_server() -> None:
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
    async with OurServer(stream) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/plain")) as resp:
            assert resp.headers.get("Transfer-Encoding") == "chunked"
            lines = [line async for line in resp.content]
            assert b"".join(lines).decode() == expected
        async with session.get(srv.url("/gzip")) as resp:
            assert resp.headers.get("Content-Encoding") in ("gzip", "deflate", "br")
            assert await resp.text() == expected


async def test_redirects_and_cookies_with_our_server() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/login":
            resp = web.Response(status=302, headers={"Location": "/home"})
            resp.set_cookie("sid", "s3cret", path="/")
            return resp
        return web.Response(text=f"home {request.cookies.get('sid')}")

    async with OurServer(handler) as srv, aiohttp.ClientSession() as session:
        async with session.post(srv.url("/login", host="localhost"), data=b"creds") as resp:
            assert resp.status == 200
            assert resp.method == "GET"
            assert await resp.text() == "home s3cret"
            assert resp.history[0].status == 302


async def test_server_error_and_raise_for_status() -> None:
    async def broken(request: web.BaseRequest) -> web.StreamResponse:
        raise RuntimeError("boom")

    async with OurServer(broken) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            assert resp.status == 500
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await session.get(srv.url(), raise_for_status=True)
        assert info.value.status == 500


async def test_slow_handler_hits_sock_read_timeout() -> None:
    async def slow(request: web.BaseRequest) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.Response(text="late")

    async with OurServer(slow) as srv:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=0.2)) as session:
            with pytest.raises(aiohttp.SocketTimeoutError):
                await session.get(srv.url())


async def test_request_id_flows_from_our_server_to_the_next_service() -> None:
    async def downstream(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text=request.headers.get("X-Request-ID", "none"))

    async with OurServer(downstream) as down:
        session = aiohttp.ClientSession(propagate_request_id=True)
        plain = aiohttp.ClientSession()

        async def front(request: web.BaseRequest) -> web.StreamResponse:
            async with session.get(down.url()) as resp:
                forwarded = await resp.text()
            async with plain.get(down.url()) as resp:
                not_forwarded = await resp.text()
            return web.json_response(
                {"mine": request_id.get(), "forwarded": forwarded, "plain": not_forwarded}
            )

        try:
            async with OurServer(front, request_id=True) as srv, aiohttp.ClientSession() as client:
                async with client.get(srv.url()) as resp:
                    got = await resp.json()
                    echoed = resp.headers["X-Request-ID"]
        finally:
            await session.close()
            await plain.close()
    assert got["mine"] == echoed
    assert got["forwarded"] == got["mine"]
    assert got["plain"] == "none"
