"""Graceful shutdown over real sockets: stop accepting, finish in flight, close idle, cancel late."""

import asyncio
import logging

import pytest
from wire_helpers import WAIT, close_quietly, read_response, serve

from aiohttp import web
from aiohttp.web_runner import IDLE_GRACE

GET = b"GET %b HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_in_flight_request_finishes_with_connection_close() -> None:
    started = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/slow":
            started.set()
            await asyncio.sleep(IDLE_GRACE + 0.5)
        return web.Response(text=f"done {request.path}")

    async with serve(handler, shutdown_timeout=5) as served:
        busy_reader, busy_writer = await served.connect()
        idle_reader, idle_writer = await served.connect()
        idle_writer.write(GET % b"/quick")
        assert (await read_response(idle_reader)).body == b"done /quick"

        busy_writer.write(GET % b"/slow" + GET % b"/queued")
        await asyncio.wait_for(started.wait(), WAIT)
        cleanup = asyncio.ensure_future(served.runner.cleanup())

        # The idle keep-alive connection is closed after the short grace, while /slow runs.
        assert await asyncio.wait_for(idle_reader.read(), IDLE_GRACE + WAIT) == b""
        assert not cleanup.done()

        resp = await read_response(busy_reader)
        assert resp.body == b"done /slow"
        assert resp.closes
        assert await asyncio.wait_for(busy_reader.read(), WAIT) == b""  # /queued never ran
        await asyncio.wait_for(cleanup, WAIT)
        close_quietly(busy_writer)
        close_quietly(idle_writer)
        assert served.calls == ["/quick", "/slow"]


async def test_idle_connection_may_send_one_last_request_during_the_grace() -> None:
    """A proxy sending on a pooled connection as shutdown begins gets its answer, not a reset."""
    async with serve(shutdown_timeout=5) as served:
        reader, writer = await served.connect()
        writer.write(GET % b"/first")
        assert (await read_response(reader)).status == 200

        cleanup = asyncio.ensure_future(served.runner.cleanup())
        await asyncio.sleep(0.2)  # the listener is gone; this connection is idle
        writer.write(GET % b"/last")
        resp = await read_response(reader)
        assert resp.status == 200
        assert resp.closes
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        await asyncio.wait_for(cleanup, WAIT)
        close_quietly(writer)
        assert served.calls == ["/first", "/last"]


async def test_no_new_connections_after_shutdown_begins() -> None:
    async with serve() as served:
        await served.runner.cleanup()
        with pytest.raises(OSError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", served.port), WAIT)


async def test_request_past_the_timeout_is_cancelled_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return web.Response(text="never")

    with caplog.at_level(logging.WARNING, logger="aiohttp.server"):
        async with serve(handler, shutdown_timeout=0.2) as served:
            reader, writer = await served.connect()
            writer.write(GET % b"/forever")
            await asyncio.wait_for(started.wait(), WAIT)
            await asyncio.wait_for(served.runner.cleanup(), WAIT)
            assert cancelled.is_set()
            assert await asyncio.wait_for(reader.read(), WAIT) == b""
            close_quietly(writer)
    messages = [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"]
    assert any("/forever" in m and "cancelled" in m for m in messages)


async def test_streaming_response_in_flight_is_allowed_to_finish() -> None:
    started = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        started.set()
        for i in range(5):
            await resp.write(b"part%d " % i)
            await asyncio.sleep(0.05)
        await resp.write_eof()
        return resp

    async with serve(handler, shutdown_timeout=5) as served:
        reader, writer = await served.connect()
        writer.write(GET % b"/stream")
        await asyncio.wait_for(started.wait(), WAIT)
        cleanup = asyncio.ensure_future(served.runner.cleanup())
        resp = await read_response(reader)
        assert resp.body == b"part0 part1 part2 part3 part4 "
        await asyncio.wait_for(cleanup, WAIT)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        close_quietly(writer)


async def test_connection_with_half_a_head_is_closed_at_once() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"GET / HTTP/1.1\r\nHo")
        await asyncio.sleep(0.05)
        await asyncio.wait_for(served.runner.cleanup(), WAIT)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        close_quietly(writer)
        assert served.calls == []
