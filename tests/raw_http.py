"""Test support: run a low-level web.Server on loopback and talk raw HTTP/1.1 to it.

Raw bytes over ``asyncio.open_connection`` let tests see exactly what goes on the wire.
"""

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Optional

from multidict import CIMultiDict

from aiohttp import web

TIMEOUT = 10.0


class RawResponse(NamedTuple):
    status: int
    reason: str
    headers: "CIMultiDict[str]"
    body: bytes
    head: bytes  # the status line and header block exactly as sent

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


@asynccontextmanager
async def serve(
    handler: Handler, *, ssl_context: Optional[ssl.SSLContext] = None, **server_kwargs: Any
) -> AsyncIterator[int]:
    """Serve ``handler`` on 127.0.0.1; yields the port."""
    server_kwargs.setdefault("access_log", None)
    runner = web.ServerRunner(web.Server(handler, **server_kwargs))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await asyncio.wait_for(runner.cleanup(), TIMEOUT)


async def read_response(reader: asyncio.StreamReader, *, head_only: bool = False) -> RawResponse:
    """Read one response: framed by Content-Length, chunked coding, or the connection's end."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    lines = head.decode("latin-1").split("\r\n")
    _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.add(name.strip(), value.strip())
    code = int(status)
    if head_only or code in (204, 304) or 100 <= code < 200:
        body = b""
    elif headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), TIMEOUT)
            size = int(size_line.split(b";")[0], 16)
            data = await asyncio.wait_for(reader.readexactly(size + 2), TIMEOUT)
            if size == 0:
                break
            parts.append(data[:-2])
        body = b"".join(parts)
    elif "Content-Length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), TIMEOUT)
    else:
        body = await asyncio.wait_for(reader.read(), TIMEOUT)
    return RawResponse(code, reason, headers, body, head)


async def request(
    port: int,
    data: bytes,
    *,
    ssl_context: Optional[ssl.SSLContext] = None,
    head_only: bool = False,
) -> RawResponse:
    """Send raw request bytes on a new connection and read one response."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ssl_context), TIMEOUT
    )
    try:
        writer.write(data)
        return await read_response(reader, head_only=head_only)
    finally:
        writer.close()


async def get(port: int, path: str = "/", headers: str = "", **kwargs: Any) -> RawResponse:
    """A GET with extra header lines (``"Name: value\\r\\n"`` each)."""
    data = f"GET {path} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n".encode()
    return await request(port, data, **kwargs)
