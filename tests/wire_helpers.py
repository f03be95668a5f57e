"""Helpers for tests that talk raw HTTP/1.1 to a low-level web.Server over loopback."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import web

WAIT = 5.0  # upper bound for any single wait in these tests


@dataclass
class Served:
    """A running server: its port, its Server object and how often the handler ran."""

    port: int
    server: web.Server
    runner: web.ServerRunner
    calls: list[str] = field(default_factory=list)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), WAIT)


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


async def _hello(request: web.BaseRequest) -> web.StreamResponse:
    body = await request.read()
    return web.Response(text=f"{request.method} {request.path_qs} {len(body)}")


@contextlib.asynccontextmanager
async def serve(
    handler: Optional[Handler] = None,
    *,
    shutdown_timeout: float = 5.0,
    backlog: int = 128,
    **kwargs: Any,
) -> AsyncIterator[Served]:
    """Run ``handler`` (default: echo method, path and body size) on 127.0.0.1."""
    inner = handler or _hello
    served: Optional[Served] = None

    async def counted(request: web.BaseRequest) -> web.StreamResponse:
        assert served is not None
        served.calls.append(request.path_qs)
        return await inner(request)

    kwargs.setdefault("access_log", None)
    server = web.Server(counted, **kwargs)
    runner = web.ServerRunner(server, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=backlog)
    await site.start()
    served = Served(site.port, server, runner)
    try:
        yield served
    finally:
        await asyncio.wait_for(runner.cleanup(), WAIT + shutdown_timeout)


@dataclass
class RawResponse:
    status: int
    reason: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def closes(self) -> bool:
        return self.headers.get("connection", "").lower() == "close"


async def read_response(reader: asyncio.StreamReader, *, head_only: bool = False) -> RawResponse:
    """Read one response (Content-Length, chunked, or until EOF) from ``reader``."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head.decode("latin-1").split("\r\n")
    version, status, reason = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            assert key not in headers or key == "set-cookie", f"duplicate header {key}"
            headers[key] = value.strip()
    code = int(status)
    if head_only or code in (204, 304) or 100 <= code < 200:
        return RawResponse(code, reason, version, headers, b"")
    if "content-length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), WAIT)
    elif headers.get("transfer-encoding") == "chunked":
        body = await read_chunked(reader)
    else:
        body = await asyncio.wait_for(reader.read(), WAIT)
    return RawResponse(code, reason, version, headers, body)


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), WAIT)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert await asyncio.wait_for(reader.readuntil(b"\r\n"), WAIT) == b"\r\n"
            return b"".join(parts)
        parts.append(await asyncio.wait_for(reader.readexactly(size), WAIT))
        assert await asyncio.wait_for(reader.readexactly(2), WAIT) == b"\r\n"


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = WAIT) -> bool:
    """True once the server closes (EOF or reset), reading and dropping anything before it."""
    try:
        while await asyncio.wait_for(reader.read(65536), timeout):
            pass
    except (ConnectionError, OSError):
        pass
    return True


async def exchange(served: Served, data: bytes) -> bytes:
    """Send ``data``, then read everything until the server closes."""
    reader, writer = await served.connect()
    try:
        writer.write(data)
        chunks = []
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), WAIT)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)
    finally:
        writer.close()


def close_quietly(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
