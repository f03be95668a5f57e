"""Loopback servers for the client tests.

``LoopbackServer`` runs any ``async def handler(reader, writer)`` on 127.0.0.1 (or a
unix socket), so a test can answer with exactly the bytes it wants: malformed status
lines, stalls, early disconnects. ``http_handler`` turns a small function of a parsed
``Request`` into a well-behaved keep-alive HTTP/1.1 server.
"""

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from multidict import CIMultiDict
from raw_http import parse_head, read_chunked

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

#: Upper bound for any single wait in a helper, so that a broken test cannot hang.
WAIT = 10.0


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: "CIMultiDict[str]"
    body: bytes
    peer: Any = None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str = "OK"


async def read_request(reader: asyncio.StreamReader) -> Optional[Request]:
    """Read one request (Content-Length or chunked body); None when the peer closed."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    start_line, headers = parse_head(head)
    method, target, version = start_line.split(" ", 2)
    body = b""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        body = await read_chunked(reader)
    elif "Content-Length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), WAIT)
    return Request(method, target, version, headers, body)


def encode_reply(reply: Reply, *, head_only: bool = False) -> bytes:
    names = {name.lower() for name, _ in reply.headers}
    lines = [f"HTTP/1.1 {reply.status} {reply.reason}"]
    lines.extend(f"{name}: {value}" for name, value in reply.headers)
    if "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(reply.body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return data if head_only else data + reply.body


RouteFunc = Callable[[Request], Union[Reply, Awaitable[Reply]]]


def http_handler(route: RouteFunc, requests: Optional[list[Request]] = None) -> Handler:
    """A keep-alive HTTP/1.1 handler answering every request with ``route(request)``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        while True:
            req = await read_request(reader)
            if req is None:
                return
            req.peer = peer
            if requests is not None:
                requests.append(req)
            reply = route(req)
            if not isinstance(reply, Reply):
                reply = await reply
            writer.write(encode_reply(reply, head_only=req.method == "HEAD"))
            await writer.drain()
            if req.headers.get("Connection", "").lower() == "close":
                return

    return handle


class LoopbackServer:
    """A server on 127.0.0.1 (or a unix socket) running ``handler`` per connection."""

    def __init__(
        self,
        handler: Handler,
        *,
        ssl_context: Optional[ssl.SSLContext] = None,
        unix_path: Optional[str] = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._handler = handler
        self._ssl = ssl_context
        self._unix_path = unix_path
        self._host = host
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        self.port = port

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down; end quietly
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), WAIT)

    async def __aenter__(self) -> "LoopbackServer":
        if self._unix_path is not None:
            self._server = await asyncio.start_unix_server(
                self._on_connection, self._unix_path, ssl=self._ssl
            )
        else:
            self._server = await asyncio.start_server(
                self._on_connection, self._host, self.port, ssl=self._ssl
            )
            self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=WAIT)
        await asyncio.wait_for(self._server.wait_closed(), WAIT)

    def url(self, path: str = "/") -> str:
        scheme = "https" if self._ssl is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}{path}"


def serve(route: RouteFunc, requests: Optional[list[Request]] = None, **kwargs: Any) -> LoopbackServer:
    """``async with serve(route) as server``: a keep-alive HTTP server on loopback."""
    return LoopbackServer(http_handler(route, requests), **kwargs)


def serve_bytes(data: bytes, *, then_close: bool = True, stall: bool = False) -> LoopbackServer:
    """A server that reads one request head and answers with ``data`` verbatim."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(data)
        await writer.drain()
        if stall:
            await asyncio.sleep(WAIT)
        elif not then_close:
            await reader.read()

    return LoopbackServer(handle)
