"""Test support for payloads and multipart bodies: a writer that keeps what it gets, a stream that holds given bytes."""

import asyncio
from typing import Optional, Protocol

from aiohttp.streams import StreamReader

TIMEOUT = 5.0


class Collector:
    """The smallest writer a payload accepts: it keeps every ``write()``."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, chunk: bytes) -> None:
        self.chunks.append(bytes(chunk))

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


class _Writable(Protocol):
    async def write(self, writer: Collector) -> None: ...


async def written(body: _Writable) -> bytes:
    """The bytes that ``body.write()`` (a payload or a MultipartWriter) produces."""
    out = Collector()
    await asyncio.wait_for(body.write(out), TIMEOUT)
    return out.data


class NoFlowControl:
    """A protocol for a StreamReader that nobody pauses."""

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def new_stream(loop: Optional[asyncio.AbstractEventLoop] = None) -> StreamReader:
    """An empty StreamReader on ``loop`` (default: the running loop) to feed by hand."""
    return StreamReader(NoFlowControl(), 2**16, loop=loop or asyncio.get_running_loop())


def stream_of(data: bytes, piece: Optional[int] = None) -> StreamReader:
    """A finished StreamReader holding ``data``, fed in pieces of ``piece`` bytes."""
    stream = new_stream()
    step = piece or max(len(data), 1)
    for i in range(0, len(data), step):
        stream.feed_data(data[i : i + step])
    stream.feed_eof()
    return stream
