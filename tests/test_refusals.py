"""Malformed or over-limit requests over real sockets: the right 4xx, a close, no handler run."""

import asyncio
import logging

import pytest
from wire_helpers import WAIT, close_quietly, closed_by_peer, exchange, read_response, serve

from aiohttp import web_protocol

GOOD = b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"

REFUSALS = {
    # name: (request bytes, expected status)
    "content-length with transfer-encoding": (
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "conflicting content-length": (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    "duplicate content-length": (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", 400),
    "malformed content-length": (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2x\r\n\r\nab", 400),
    "transfer-encoding not ending in chunked": (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    "transfer-encoding chunked, gzip": (
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        400,
    ),
    "transfer-encoding on HTTP/1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "bare CR": (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400),
    "whitespace before colon": (b"GET / HTTP/1.1\r\nHost: t\r\nX : a\r\n\r\n", 400),
    "control byte in a name": (b"GET / HTTP/1.1\r\nHost: t\r\nX\x02: a\r\n\r\n", 400),
    "control byte in a value": (b"GET / HTTP/1.1\r\nHost: t\r\nX: \x1b[31m\r\n\r\n", 400),
    "control byte in the method": (b"GE\x00T / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    "control byte in the target": (b"GET /\x00 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    "missing host": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "duplicate host": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    "malformed host": (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    "HTTP/0.9": (b"GET /\r\n", 400),
    "HTTP/2.0 version": (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    "HTTP/1.2 version": (b"GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505),
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    "over-long target": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    "over-long header field": (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    "too many headers": (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X: a\r\n" * 200 + b"\r\n", 431),
    "binary garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
}


@pytest.mark.parametrize(("data", "status"), list(REFUSALS.values()), ids=list(REFUSALS))
async def test_refused_without_running_the_handler(data: bytes, status: int) -> None:
    async with serve() as served:
        reply = await exchange(served, data)
        assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:60]
        assert b"\r\nConnection: close\r\n" in reply
        assert served.calls == []


async def test_505_uses_an_http11_status_line_even_for_http2() -> None:
    async with serve() as served:
        reply = await exchange(served, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")


async def test_refusal_waits_for_the_answers_already_owed() -> None:
    async def slow(request: web_protocol.BaseRequest) -> web_protocol.StreamResponse:
        await asyncio.sleep(0.1)
        return web_protocol.Response(text=request.path)

    async with serve(slow) as served:
        reader, writer = await served.connect()
        writer.write(GOOD + GOOD + b"GET /bad HTTP/1.1\r\n\r\n" + GOOD)
        assert (await read_response(reader)).body == b"/ok"
        assert (await read_response(reader)).body == b"/ok"
        refusal = await read_response(reader)
        assert refusal.status == 400 and refusal.closes
        assert await closed_by_peer(reader)
        close_quietly(writer)
        assert served.calls == ["/ok", "/ok"]


async def test_client_that_keeps_sending_still_reads_the_refusal() -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n")
        junk = b"x" * 65536
        for _ in range(16):  # a megabyte the server must discard, not choke on
            writer.write(junk)
            try:
                await asyncio.wait_for(writer.drain(), WAIT)
            except ConnectionError:
                break
        resp = await read_response(reader)
        assert resp.status == 400 and resp.closes
        assert await closed_by_peer(reader)
        close_quietly(writer)
        assert served.calls == []


async def test_refusal_carries_the_request_id() -> None:
    async with serve(request_id=True) as served:
        reply = await exchange(served, b"GET / HTTP/1.1\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400 ")
        assert b"\r\nX-Request-ID: " in reply


async def test_limits_are_configurable() -> None:
    async with serve(max_line_size=100, max_field_size=100, max_headers=4) as served:
        assert (await exchange(served, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: t\r\n\r\n")).startswith(b"HTTP/1.1 414 ")
        long_field = b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 200 + b"\r\n\r\n"
        assert (await exchange(served, long_field)).startswith(b"HTTP/1.1 431 ")
        many = b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X: a\r\n" * 4 + b"\r\n"
        assert (await exchange(served, many)).startswith(b"HTTP/1.1 431 ")
        fine = b"GET /fine HTTP/1.1\r\nHost: t\r\nX: a\r\nConnection: close\r\n\r\n"
        assert (await exchange(served, fine)).startswith(b"HTTP/1.1 200 ")
        assert served.calls == ["/fine"]


async def test_refusal_log_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    web_protocol._refusals.second = -1  # start a fresh one-second window
    async with serve() as served:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
            await asyncio.gather(*(exchange(served, b"GET / HTTP/1.1\r\n\r\n") for _ in range(50)))
    refused = [r for r in caplog.records if r.name == "aiohttp.server" and "Refused" in r.getMessage()]
    assert 1 <= len(refused) <= web_protocol._refusals.burst * 2  # the burst may span two seconds
    assert all(r.levelno <= logging.INFO and not r.exc_info for r in refused)


BROKEN_BODIES = {
    "bad chunk size": (b"zz\r\nabc\r\n0\r\n\r\n", 400),
    "chunk longer than its size": (b"3\r\nabcdef\r\n0\r\n\r\n", 400),
    "endless trailer": (b"1\r\nx\r\n0\r\nT: " + b"v" * 20000, 431),
}


@pytest.mark.parametrize(("body", "status"), list(BROKEN_BODIES.values()), ids=list(BROKEN_BODIES))
async def test_broken_body_is_refused_once(body: bytes, status: int) -> None:
    async with serve() as served:
        reader, writer = await served.connect()
        writer.write(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        await asyncio.sleep(0.05)  # the handler is reading when the bad bytes come
        writer.write(body + GOOD)
        reply = await asyncio.wait_for(reader.read(), WAIT)
        assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:80]
        assert reply.count(b"HTTP/1.1 ") == 1  # one answer, and /ok is never served
        close_quietly(writer)
        assert served.calls == ["/up"]
