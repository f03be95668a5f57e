"""Timeouts a slow client cannot defeat: head, body and keep-alive, over real sockets."""

import asyncio
import logging

import pytest
from wire_helpers import WAIT, close_quietly, closed_by_peer, read_response, serve

from aiohttp import web
from aiohttp.http_exceptions import RequestTimeout

SHORT = 0.2  # every timeout under test; the waits below allow many times this


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes (EOF or reset), bounded."""
    chunks = []
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), WAIT):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


async def test_silent_connection_is_closed_without_an_answer() -> None:
    async with serve(read_head_timeout=SHORT) as served:
        reader, writer = await served.connect()
        assert await read_all(reader) == b""
        close_quietly(writer)
        assert served.calls == []


async def test_unfinished_head_gets_408_then_close() -> None:
    async with serve(read_head_timeout=SHORT) as served:
        reader, writer = await served.connect()
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n")
        reply = await read_all(reader)
        assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"\r\nConnection: close\r\n" in reply
        close_quietly(writer)
        assert served.calls == []


async def test_trickling_head_does_not_reset_the_clock() -> None:
    async with serve(read_head_timeout=SHORT) as served:
        reader, writer = await served.connect()
        head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 1000
        closed = asyncio.ensure_future(read_all(reader))
        for byte in head:  # one byte every 20ms, far longer than the timeout overall
            if closed.done():
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(0.02)
        assert (await asyncio.wait_for(closed, WAIT)).startswith(b"HTTP/1.1 408 ")
        close_quietly(writer)
        assert served.calls == []


async def test_idle_keep_alive_connection_is_closed() -> None:
    async with serve(keepalive_timeout=SHORT, read_head_timeout=10) as served:
        reader, writer = await served.connect()
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = await read_response(reader)
        assert resp.status == 200 and not resp.closes
        assert await read_all(reader) == b""  # closed quietly, no 408 for an idle client
        close_quietly(writer)


async def test_keep_alive_connection_in_use_stays_open() -> None:
    async with serve(keepalive_timeout=SHORT) as served:
        reader, writer = await served.connect()
        for _ in range(4):
            writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert (await read_response(reader)).status == 200
            await asyncio.sleep(SHORT / 4)
        close_quietly(writer)
        assert len(served.calls) == 4


async def test_slow_handler_is_not_a_timeout() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        await asyncio.sleep(SHORT * 3)
        return web.Response(text="worth the wait")

    async with serve(handler, read_head_timeout=SHORT, read_body_timeout=SHORT, keepalive_timeout=SHORT) as served:
        reader, writer = await served.connect()
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert (await read_response(reader)).body == b"worth the wait"
        close_quietly(writer)


async def test_stalled_body_gets_408_and_the_handler_sees_it(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[BaseException] = []

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        try:
            await request.read()
        except Exception as exc:
            seen.append(exc)
            raise
        return web.Response(text="unreachable")

    with caplog.at_level(logging.WARNING, logger="aiohttp.server"):
        async with serve(handler, read_body_timeout=SHORT) as served:
            reader, writer = await served.connect()
            writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            reply = await read_all(reader)
            close_quietly(writer)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert len(seen) == 1 and isinstance(seen[0], RequestTimeout)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_trickling_body_keeps_the_request_alive() -> None:
    async with serve(read_body_timeout=SHORT) as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n")
        for byte in b"slow!":
            await asyncio.sleep(SHORT / 3)
            writer.write(bytes([byte]))
        assert (await read_response(reader)).body == b"POST / 5"
        close_quietly(writer)


async def test_stalled_body_after_the_response_started_just_closes() -> None:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"started ")
        async for chunk in request.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async with serve(handler, read_body_timeout=SHORT) as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nsome")
        reply = await read_all(reader)
        assert reply.startswith(b"HTTP/1.1 200 ")
        assert b"408" not in reply
        close_quietly(writer)


async def test_many_half_open_connections_are_all_closed() -> None:
    async with serve(read_head_timeout=SHORT, backlog=1024) as served:
        conns = await asyncio.gather(*(served.connect() for _ in range(500)))
        for i, (_, writer) in enumerate(conns):
            if i % 2:
                writer.write(b"GET / HTTP/1.1\r\nHost: ")  # half a head, then silence
        results = await asyncio.gather(*(closed_by_peer(reader) for reader, _ in conns))
        assert all(results)
        for _, writer in conns:
            close_quietly(writer)
        await asyncio.sleep(0.05)
        assert served.server.connections == []
        assert served.calls == []


async def test_timeouts_can_be_turned_off() -> None:
    async with serve(read_head_timeout=None, keepalive_timeout=None) as served:
        reader, writer = await served.connect()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), SHORT * 2)
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert (await read_response(reader)).status == 200
        close_quietly(writer)
