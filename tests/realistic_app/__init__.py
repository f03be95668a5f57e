"""Helpers for the web tests: serve an Application on loopback and talk raw HTTP to it."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Optional

from multidict import CIMultiDict

from aiohttp import web

TIMEOUT = 10.0


@asynccontextmanager
async def serve(app: web.Application, **runner_kwargs: Any) -> AsyncIterator[int]:
    """Run ``app`` on 127.0.0.1 with a free port; yield the port; clean up after."""
    runner = web.AppRunner(app, **runner_kwargs)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield site.port
    finally:
        await runner.cleanup()


@dataclass
class Reply:
    status: int
    reason: str
    headers: "CIMultiDict[str]"
    body: bytes
    interim: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def parse_reply(data: bytes, method: str = "GET") -> Reply:
    """Parse one HTTP/1.1 response (after any 1xx interim answers) from ``data``."""
    interim = []
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"no complete response head in {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        _version, status, *reason = lines[0].split(" ", 2)
        if 100 <= int(status) < 200:
            interim.append(int(status))
            data = rest
            continue
        break
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.add(name.strip(), value.strip())
    body = rest
    if method == "HEAD":
        body = b""
    elif headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2 :]
    elif "Content-Length" in headers:
        body = rest[: int(headers["Content-Length"])]
    return Reply(int(status), reason[0] if reason else "", headers, body, interim)


async def raw(port: int, data: bytes, *, host: str = "127.0.0.1") -> bytes:
    """Send ``data`` as-is and read until the server closes."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()


async def fetch(
    port: int,
    path: str,
    method: str = "GET",
    *,
    headers: Optional[dict[str, str]] = None,
    body: bytes = b"",
    host: str = "127.0.0.1",
) -> Reply:
    """One request on a fresh connection (``Connection: close``)."""
    all_headers = {"Host": f"localhost:{port}", "Connection": "close"}
    if body or method in ("POST", "PUT", "PATCH"):
        all_headers["Content-Length"] = str(len(body))
    all_headers.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
    data = await raw(port, head.encode("latin-1") + b"\r\n" + body, host=host)
    return parse_reply(data, method)
