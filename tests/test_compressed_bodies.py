"""Compressed request bodies: decoded for the handler, and a decompression bomb refused."""

import gzip
import zlib

import brotli
import pytest
from raw_http import RawResponse, request, serve

from aiohttp import web

BIG = 10 * 2**20  # far more than the server lets wait unread (8 MiB)


async def size_of_body(request: web.BaseRequest) -> web.Response:
    body = await request.read()
    return web.Response(text=str(len(body)))


async def stalled_reader(request: web.BaseRequest) -> web.Response:
    """Reads one small piece, as a handler busy elsewhere would, and never the rest."""
    await request.content.read(10)
    return web.Response(text="read a little")


def post(body: bytes, encoding: str) -> bytes:
    head = (
        f"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Encoding: {encoding}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


COMPRESS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
}


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
async def test_compressed_body_reaches_the_handler_decoded(encoding: str) -> None:
    plain = b"0123456789abcdef" * 40_000  # 640 KB, under client_max_size
    async with serve(size_of_body) as server:
        resp: RawResponse = await request(server, post(COMPRESS[encoding](plain), encoding))
    assert resp.status == 200
    assert resp.body == str(len(plain)).encode()


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
async def test_decompression_bomb_is_refused_with_413(encoding: str) -> None:
    bomb = COMPRESS[encoding](b"\0" * BIG)
    assert len(bomb) < 64 * 1024  # a few KB on the wire
    async with serve(stalled_reader) as server:
        resp = await request(server, post(bomb, encoding))
    assert resp.status == 413
    assert resp.headers["Connection"] == "close"
