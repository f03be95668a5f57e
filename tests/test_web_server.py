"""web.Server, the low-level server: construction, options, counters, request factories."""

import asyncio

import pytest
from raw_http import closed_by_peer, connect
from wire_helpers import WAIT, close_quietly, exchange, read_response, serve

from aiohttp import web

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_handler_must_be_callable() -> None:
    with pytest.raises(TypeError, match="handler"):
        web.Server("not a handler")  # type: ignore[arg-type]


async def test_unknown_option_is_reported_when_a_connection_is_made() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = web.Server(handler, no_such_option=1)
    with pytest.raises(TypeError, match="Invalid server option"):
        server()


async def test_request_id_option_is_checked() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    with pytest.raises(TypeError, match="request_id"):
        web.Server(handler, request_id="yes")  # type: ignore[arg-type]


async def test_low_level_server_end_to_end() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text=f"{request.method} {request.path}")

    server = web.Server(handler, access_log=None)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", site.port), WAIT)
        writer.write(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert (await read_response(reader)).body == b"GET /hello"
        assert len(server.connections) == 1
        close_quietly(writer)
    finally:
        await runner.cleanup()
    assert server.connections == []


async def test_requests_count_counts_every_request() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(GET * 3)
        for _ in range(3):
            await read_response(reader)
        await exchange(served, b"GET / HTTP/1.0\r\n\r\n")
        close_quietly(writer)
        assert served.server.requests_count == 4


async def test_custom_request_factory() -> None:
    class TaggedRequest(web.BaseRequest):
        tag = "custom"

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text=getattr(request, "tag", "plain"))

    server: web.Server

    def factory(message, payload, protocol, writer, task):  # type: ignore[no-untyped-def]
        return TaggedRequest(message, payload, protocol, writer, task, asyncio.get_running_loop())

    async with serve(handler, request_factory=factory) as served:
        server = served.server
        assert (await exchange(served, b"GET / HTTP/1.0\r\n\r\n")).endswith(b"custom")
    assert server.request_factory is factory


async def test_handler_cancellation_on_disconnect() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return web.Response()

    async with serve(handler, handler_cancellation=True) as served:
        _, writer = await served.connect()
        writer.write(GET)
        await asyncio.wait_for(started.wait(), WAIT)
        writer.transport.abort()
        await asyncio.wait_for(cancelled.wait(), WAIT)


async def test_handler_keeps_running_after_disconnect_by_default() -> None:
    started = asyncio.Event()
    finished = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        started.set()
        await asyncio.sleep(0.1)
        finished.set()
        return web.Response()

    async with serve(handler) as served:
        _, writer = await served.connect()
        writer.write(GET)
        await asyncio.wait_for(started.wait(), WAIT)
        writer.transport.abort()
        await asyncio.wait_for(finished.wait(), WAIT)


async def test_options_reach_each_connection() -> None:
    async with serve(keepalive_timeout=12.5) as served:
        reader, writer = await served.connect()
        writer.write(GET)
        await read_response(reader)
        [conn] = served.server.connections
        assert conn.keepalive_timeout == 12.5
        assert conn.requests_count == 1
        close_quietly(writer)


async def test_keepalive_timeout_zero_says_connection_close() -> None:
    async with serve(keepalive_timeout=0) as server:
        reader, writer = await connect(server)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            resp = await read_response(reader)
            assert resp.status == 200
            assert resp.headers["Connection"] == "close"
            assert await closed_by_peer(reader)
        finally:
            writer.close()
