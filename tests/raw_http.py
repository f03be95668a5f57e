"""Test support: raw HTTP/1.1 bytes over loopback, for tests that must see the wire.

Tests that only need a well-behaved exchange use the ``aiohttp_client`` fixture. These
helpers are for the rest: malformed requests, pipelining, framing, refusals, timeouts,
and waiting for the server to close (after which its access log line is written).

``serve()`` runs a low-level ``web.Server`` and counts the handler's calls; ``request()``,
``get()``, ``exchange()`` and ``connect()`` take a port or any server with a ``port``
(``Served``, or the ``aiohttp_raw_server`` / ``aiohttp_server`` fixtures' servers).
"""

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Protocol, Union

from multidict import CIMultiDict

from aiohttp import web
from aiohttp.test_utils import TestClient

#: Upper bound for any single wait in these helpers, so that a broken test cannot hang.
TIMEOUT = 10.0


class RawResponse(NamedTuple):
    status: int
    reason: str
    headers: "CIMultiDict[str]"
    body: bytes
    head: bytes  # the status line and header block exactly as sent

    @property
    def version(self) -> str:
        """The status line's version, e.g. ``"HTTP/1.1"``."""
        return self.head.split(b" ", 1)[0].decode("latin-1")

    @property
    def closes(self) -> bool:
        """Whether the server said it closes the connection after this response."""
        return self.headers.get("Connection", "").lower() == "close"

    def text(self) -> str:
        return self.body.decode("utf-8")

    def decoded(self) -> bytes:
        """The body with its Content-Encoding undone (gzip, deflate, br)."""
        coding = self.headers.get("Content-Encoding", "identity")
        if coding == "gzip":
            return zlib.decompress(self.body, 16 + zlib.MAX_WBITS)
        if coding == "deflate":
            return zlib.decompress(self.body)
        if coding == "br":
            import brotli

            return brotli.decompress(self.body)  # type: ignore[no-any-return]
        return self.body


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
#: The ``raw_client`` fixture (conftest.py): ``client = await raw_client(handler, **server_kwargs)``.
RawClient = Callable[..., Awaitable[TestClient[web.BaseRequest, None]]]


class _HasPort(Protocol):
    @property
    def port(self) -> Optional[int]: ...


Target = Union[int, _HasPort]


def port_of(target: Target) -> int:
    """The port of ``target``: a port number, or a started server with a ``port``."""
    port = target if isinstance(target, int) else target.port
    assert port is not None, "the server is not started"
    return port


# -- a low-level server on loopback --------------------------------------------------


@dataclass
class Served:
    """A running server: its port, its Server object and the paths the handler was called with."""

    port: int
    server: web.Server
    runner: web.ServerRunner
    calls: list[str] = field(default_factory=list)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await connect(self.port)


async def _hello(request: web.BaseRequest) -> web.StreamResponse:
    body = await request.read()
    return web.Response(text=f"{request.method} {request.path_qs} {len(body)}")


@contextlib.asynccontextmanager
async def serve(
    handler: Optional[Handler] = None,
    *,
    shutdown_timeout: float = 5.0,
    backlog: int = 128,
    ssl_context: Optional[ssl.SSLContext] = None,
    **server_kwargs: Any,
) -> AsyncIterator[Served]:
    """Run ``handler`` (default: echo method, path and body size) on 127.0.0.1.

    ``server_kwargs`` go to ``web.Server``; the access log is off unless given.
    """
    inner = handler or _hello
    calls: list[str] = []

    async def counted(request: web.BaseRequest) -> web.StreamResponse:
        calls.append(request.path_qs)
        return await inner(request)

    server_kwargs.setdefault("access_log", None)
    server = web.Server(counted, **server_kwargs)
    runner = web.ServerRunner(server, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=backlog, ssl_context=ssl_context)
    await site.start()
    try:
        yield Served(site.port, server, runner, calls)
    finally:
        await asyncio.wait_for(runner.cleanup(), TIMEOUT + shutdown_timeout)


# -- the client side ----------------------------------------------------------------------


async def connect(
    target: Target, *, ssl_context: Optional[ssl.SSLContext] = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection to 127.0.0.1 at ``target``'s port."""
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port_of(target), ssl=ssl_context), TIMEOUT
    )


def parse_head(head: bytes) -> tuple[str, "CIMultiDict[str]"]:
    """The start line and the header fields of a message head (which ends in a blank line)."""
    start_line, *lines = head.decode("latin-1").split("\r\n")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers.add(name.strip(), value.strip())
    return start_line, headers


async def read_response(reader: asyncio.StreamReader, *, head_only: bool = False) -> RawResponse:
    """Read one response: framed by chunked coding, Content-Length, or the connection's end.

    A header field other than Set-Cookie sent twice fails the test.
    """
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    start_line, headers = parse_head(head)
    for name in headers:
        assert name.lower() == "set-cookie" or len(headers.getall(name)) == 1, f"duplicate header {name}"
    _, status, reason = (start_line.split(" ", 2) + [""])[:3]
    code = int(status)
    if head_only or code in (204, 304) or 100 <= code < 200:
        body = b""
    elif headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = await read_chunked(reader)
    elif "Content-Length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), TIMEOUT)
    else:
        body = await asyncio.wait_for(reader.read(), TIMEOUT)
    return RawResponse(code, reason, headers, body, head)


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body to its last chunk, checking the framing on the way."""
    parts = []
    while True:
        size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), TIMEOUT)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert await asyncio.wait_for(reader.readuntil(b"\r\n"), TIMEOUT) == b"\r\n"
            return b"".join(parts)
        parts.append(await asyncio.wait_for(reader.readexactly(size), TIMEOUT))
        assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"


async def request(
    target: Target,
    data: bytes,
    *,
    ssl_context: Optional[ssl.SSLContext] = None,
    head_only: bool = False,
    until_close: bool = False,
) -> RawResponse:
    """Send raw request bytes on a new connection and read one response.

    With ``until_close``, also wait until the server closes the connection: by then it
    is done with the request, access log line included.
    """
    reader, writer = await connect(target, ssl_context=ssl_context)
    try:
        writer.write(data)
        resp = await read_response(reader, head_only=head_only)
        if until_close:
            await closed_by_peer(reader)
        return resp
    finally:
        writer.close()


async def get(target: Target, path: str = "/", headers: str = "", **kwargs: Any) -> RawResponse:
    """A GET with ``Connection: close`` and extra header lines (``"Name: value\\r\\n"`` each)."""
    data = f"GET {path} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n".encode()
    return await request(target, data, **kwargs)


async def pipelined(target: Target, data: bytes, count: int, *, heads: int = 0) -> list[RawResponse]:
    """Send ``data`` (several requests) on one connection and read ``count`` responses.

    The first ``heads`` responses answer HEAD requests: a head with no body.
    """
    reader, writer = await connect(target)
    try:
        writer.write(data)
        return [await read_response(reader, head_only=i < heads) for i in range(count)]
    finally:
        writer.close()


async def exchange(target: Target, data: bytes) -> bytes:
    """Send ``data`` on a new connection, then read everything until the server closes."""
    reader, writer = await connect(target)
    try:
        writer.write(data)
        chunks = []
        try:
            while chunk := await asyncio.wait_for(reader.read(65536), TIMEOUT):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)
    finally:
        writer.close()


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = TIMEOUT) -> bool:
    """True once the server closes (EOF or reset), reading and dropping anything before it."""
    try:
        while await asyncio.wait_for(reader.read(65536), timeout):
            pass
    except (ConnectionError, OSError):
        pass
    return True


def close_quietly(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
