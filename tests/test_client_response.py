"""Reading responses: streaming, compression, framing, and bad or slow servers.

Every malformed or stalled response must end in a documented exception, never a hang.
"""

import asyncio
import gzip
import zlib

import pytest
from client_servers import WAIT, LoopbackServer, Reply, Request, read_request, serve, serve_bytes

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

FAST = aiohttp.ClientTimeout(total=5, sock_read=0.3, sock_connect=2)


# -- streaming --------------------------------------------------------------------


def chunked_reply(parts: list[bytes], trailer: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in parts)
    return (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        + body
        + b"0\r\n"
        + trailer
        + b"\r\n"
    )


async def test_chunked_response_is_reassembled() -> None:
    async with serve_bytes(chunked_reply([b"hello ", b"chunked ", b"world"], b"X-Trailer: 1\r\n")) as srv:
        async with aiohttp.ClientSession() as session, session.get(srv.url()) as resp:
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert await resp.text() == "hello chunked world"


async def test_iter_chunks_reports_http_chunk_boundaries() -> None:
    async with serve_bytes(chunked_reply([b"ab", b"cde"])) as srv:
        async with aiohttp.ClientSession() as session, session.get(srv.url()) as resp:
            got = []
            async for data, end_of_chunk in resp.content.iter_chunks():
                got.append((data, end_of_chunk))
            assert b"".join(d for d, _ in got) == b"abcde"
            assert got[-1][1] is True


async def test_streaming_reader_methods() -> None:
    body = b"line one\nline two\n" + b"x" * 10_000

    async with serve(lambda r: Reply(200, body)) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            assert await resp.content.readline() == b"line one\n"
            assert await resp.content.readexactly(4) == b"line"
            assert await resp.content.read(5) == b" two\n"
            rest = b""
            async for chunk in resp.content.iter_chunked(1000):
                assert len(chunk) <= 1000
                rest += chunk
            assert rest == b"x" * 10_000
            assert resp.content.at_eof()
        async with session.get(srv.url()) as resp:
            collected = b""
            async for chunk in resp.content.iter_any():
                collected += chunk
            assert collected == body
        async with session.get(srv.url()) as resp:
            first = await resp.content.readany()
            assert body.startswith(first)
        async with session.get(srv.url()) as resp:
            lines = [line async for line in resp.content]
            assert lines[:2] == [b"line one\n", b"line two\n"]


async def test_large_body_streams_with_flow_control() -> None:
    body = bytes(range(256)) * 20_000  # ~5 MB, far above the read buffer

    async with serve(lambda r: Reply(200, body)) as srv:
        async with aiohttp.ClientSession(read_bufsize=2**14) as session:
            async with session.get(srv.url()) as resp:
                total = 0
                async for chunk in resp.content.iter_chunked(2**16):
                    total += len(chunk)
                    await asyncio.sleep(0)
                assert total == len(body)


async def test_body_ending_with_connection_close() -> None:
    async with serve_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end") as srv:
        async with aiohttp.ClientSession() as session, session.get(srv.url()) as resp:
            assert await resp.text() == "until the end"


async def test_http10_response() -> None:
    async with serve_bytes(b"HTTP/1.0 200 OK\r\n\r\nold school") as srv:
        async with aiohttp.ClientSession() as session, session.get(srv.url()) as resp:
            assert resp.version == (1, 0)
            assert await resp.read() == b"old school"


async def test_interim_100_continue_is_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    async with serve_bytes(data) as srv:
        async with aiohttp.ClientSession() as session, session.post(srv.url(), data=b"x") as resp:
            assert resp.status == 201
            assert await resp.read() == b"ok"


async def test_no_body_for_head_204_and_304() -> None:
    def route(req: Request) -> Reply:
        if req.path == "/204":
            return Reply(204, b"", [("Content-Length", "0")], "No Content")
        if req.path == "/304":
            return Reply(304, b"", [("Content-Length", "0")], "Not Modified")
        return Reply(200, b"x" * 50)

    async with serve(route) as srv, aiohttp.ClientSession() as session:
        async with session.head(srv.url()) as resp:
            assert resp.status == 200
            assert resp.content_length == 50
            assert await resp.read() == b""
        # the connection stays usable after a HEAD whose Content-Length promised a body
        async with session.get(srv.url()) as resp:
            assert await resp.read() == b"x" * 50
        for path in ("/204", "/304"):
            async with session.get(srv.url(path)) as resp:
                assert await resp.read() == b""
        assert srv.connections == 1


# -- compression ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send
    ],
)
async def test_compressed_responses_are_decoded(encoding: str, compress) -> None:
    payload = b"compress me " * 1000
    reply = Reply(200, compress(payload), [("Content-Encoding", encoding)])
    async with serve(lambda r: reply) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            assert await resp.read() == payload


async def test_brotli_response_is_decoded() -> None:
    brotli = pytest.importorskip("brotli")
    payload = b"brotli " * 500
    reply = Reply(200, brotli.compress(payload), [("Content-Encoding", "br")])
    async with serve(lambda r: reply) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            assert await resp.read() == payload


async def test_gzip_over_chunked_and_auto_decompress_off() -> None:
    payload = b"streamed and zipped " * 400
    packed = gzip.compress(payload)
    parts = [packed[i : i + 100] for i in range(0, len(packed), 100)]
    data = chunked_reply(parts).replace(
        b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
    )
    async with serve_bytes(data) as srv:
        async with aiohttp.ClientSession() as session, session.get(srv.url()) as resp:
            assert await resp.read() == payload
    async with serve_bytes(data) as srv:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            async with session.get(srv.url()) as resp:
                assert await resp.read() == packed


async def test_corrupt_gzip_raises_payload_error() -> None:
    reply = Reply(200, b"\x1f\x8b\x08\x00garbage-not-gzip", [("Content-Encoding", "gzip")])
    async with serve(lambda r: reply) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()


# -- malformed responses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",  # bare LF
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",  # bare CR
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    ],
    ids=[
        "no-status-line",
        "non-numeric-status",
        "bare-lf",
        "bare-cr",
        "conflicting-content-length",
        "te-and-cl",
        "space-before-colon",
        "nul-in-value",
        "obs-fold",
        "negative-length",
    ],
)
async def test_malformed_head_raises_client_response_error(data: bytes) -> None:
    async with serve_bytes(data) as srv, aiohttp.ClientSession(timeout=FAST) as session:
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await session.get(srv.url())
        assert info.value.status >= 400
        assert isinstance(info.value.__cause__, HttpProcessingError)


async def test_header_over_max_field_size() -> None:
    data = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200 + b"\r\nContent-Length: 0\r\n\r\n"
    async with serve_bytes(data) as srv:
        async with aiohttp.ClientSession(max_field_size=100, timeout=FAST) as session:
            with pytest.raises(aiohttp.ClientResponseError, match="100"):
                await session.get(srv.url())
        async with aiohttp.ClientSession(timeout=FAST) as session:
            async with session.get(srv.url(), max_field_size=1000) as resp:
                assert len(resp.headers["X-Big"]) == 200


async def test_status_line_over_max_line_size() -> None:
    data = b"HTTP/1.1 200 " + b"R" * 500 + b"\r\nContent-Length: 0\r\n\r\n"
    async with serve_bytes(data) as srv, aiohttp.ClientSession(max_line_size=100, timeout=FAST) as session:
        with pytest.raises(aiohttp.ClientResponseError):
            await session.get(srv.url())


async def test_too_many_headers() -> None:
    data = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(50)) + b"\r\n"
    async with serve_bytes(data) as srv, aiohttp.ClientSession(max_headers=10, timeout=FAST) as session:
        with pytest.raises(aiohttp.ClientResponseError):
            await session.get(srv.url())


async def test_endless_header_section_is_refused_not_buffered() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Endless: ")
        try:
            for _ in range(2000):
                writer.write(b"a" * 4096)
                await writer.drain()
        except ConnectionError:
            pass

    async with LoopbackServer(handle) as srv, aiohttp.ClientSession(timeout=FAST) as session:
        with pytest.raises(aiohttp.ClientResponseError):
            await session.get(srv.url())


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n", None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part", "not completed"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", None),
    ],
    ids=["bad-chunk-framing", "truncated-content-length", "truncated-chunked"],
)
async def test_broken_body_raises_payload_error(data: bytes, match: "str | None") -> None:
    async with serve_bytes(data) as srv, aiohttp.ClientSession(timeout=FAST) as session:
        async with session.get(srv.url()) as resp:
            with pytest.raises(aiohttp.ClientPayloadError, match=match):
                await resp.read()


# -- disconnects --------------------------------------------------------------------------


async def test_server_closing_without_answer_is_server_disconnected() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with LoopbackServer(handle) as srv, aiohttp.ClientSession(timeout=FAST) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(srv.url())


async def test_server_closing_mid_headers_is_server_disconnected() -> None:
    async with serve_bytes(b"HTTP/1.1 200 OK\r\nContent-Le") as srv:
        async with aiohttp.ClientSession(timeout=FAST) as session:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await session.get(srv.url())


async def test_connection_refused_is_client_connector_error() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    async with aiohttp.ClientSession(timeout=FAST) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await session.get(f"http://127.0.0.1:{port}/")
        assert info.value.host == "127.0.0.1"
        assert info.value.port == port
        assert isinstance(info.value, aiohttp.ClientOSError)
        assert "Cannot connect to host" in str(info.value)


async def test_stale_pooled_connection_closed_by_server_is_not_reused() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # keep-alive promised, but the server closes the idle connection

    async with LoopbackServer(handle) as srv, aiohttp.ClientSession(timeout=FAST) as session:
        for _ in range(3):
            async with session.get(srv.url()) as resp:
                assert await resp.read() == b"ok"
            await asyncio.sleep(0.05)
        assert srv.connections == 3


# -- timeouts --------------------------------------------------------------------------------


def stalling_server(first: bytes = b"") -> LoopbackServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if first:
            writer.write(first)
        await asyncio.sleep(WAIT)

    return LoopbackServer(handle)


async def test_sock_read_timeout_waiting_for_headers() -> None:
    async with stalling_server() as srv:
        timeout = aiohttp.ClientTimeout(sock_read=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with pytest.raises(aiohttp.SocketTimeoutError):
                await session.get(srv.url())
            assert issubclass(aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError)
            assert issubclass(aiohttp.ServerTimeoutError, asyncio.TimeoutError)


async def test_sock_read_timeout_in_the_middle_of_the_body() -> None:
    async with stalling_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") as srv:
        timeout = aiohttp.ClientTimeout(sock_read=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(srv.url()) as resp:
                with pytest.raises(aiohttp.SocketTimeoutError):
                    await resp.read()


async def test_total_timeout_covers_body_reads() -> None:
    async with stalling_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") as srv:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as session:
            async with session.get(srv.url()) as resp:
                with pytest.raises(asyncio.TimeoutError):
                    await resp.read()


async def test_total_timeout_while_waiting_for_headers() -> None:
    async with stalling_server() as srv, aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.get(srv.url(), timeout=aiohttp.ClientTimeout(total=0.2))


async def test_slow_trickle_is_bounded_by_total() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    timeout = aiohttp.ClientTimeout(total=0.5, sock_read=0.3)
    async with LoopbackServer(handle) as srv, aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(srv.url()) as resp:
                await resp.read()


async def test_connect_timeout_when_pool_is_full() -> None:
    async with stalling_server() as srv:
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(connect=0.2)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            task = asyncio.ensure_future(session.get(srv.url()))
            await asyncio.sleep(0.05)
            with pytest.raises(aiohttp.ConnectionTimeoutError):
                await session.get(srv.url())
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_sock_connect_timeout_against_unroutable_backlog() -> None:
    # A listening socket whose accept backlog is full stops completing handshakes.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
        timeout = aiohttp.ClientTimeout(sock_connect=0.2, sock_read=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            # Linux may still complete the handshake; then the read timeout fires instead.
            with pytest.raises((aiohttp.ConnectionTimeoutError, aiohttp.SocketTimeoutError)):
                await session.get(f"http://127.0.0.1:{port}/")
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_release_without_reading_closes_connection() -> None:
    body = b"y" * 1_000_000
    async with serve(lambda r: Reply(200, body)) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url()) as resp:
            assert (await resp.content.read(10)) == b"y" * 10
        async with session.get(srv.url()) as resp:
            assert len(await resp.read()) == len(body)
        assert srv.connections == 2


async def test_reused_connection_closed_by_server_is_retried_for_idempotent_requests() -> None:
    async def one_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answer the first request, then drop the connection when a second one arrives:
        # what a client sees when the server's keep-alive timer fires as it sends.
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await read_request(reader)

    async with LoopbackServer(one_per_connection) as srv, aiohttp.ClientSession(timeout=FAST) as session:
        for _ in range(3):
            async with session.get(srv.url()) as resp:
                assert await resp.read() == b"ok"
        # a POST is not replayed: the server might have acted on it
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(srv.url(), data=b"x")
