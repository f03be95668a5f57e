"""StreamReader semantics, fed directly (no sockets needed for a pure buffer)."""

import asyncio

import pytest

from aiohttp.streams import EMPTY_PAYLOAD, StreamReader


class FlowRecorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def pause_reading(self) -> None:
        self.events.append("pause")

    def resume_reading(self) -> None:
        self.events.append("resume")


@pytest.fixture
async def stream(loop: asyncio.AbstractEventLoop) -> StreamReader:
    return StreamReader(FlowRecorder(), 64, loop=loop)


async def test_readline_and_read_rest(stream: StreamReader) -> None:
    stream.feed_data(b"line one\nline")
    stream.feed_data(b" two\nrest")
    stream.feed_eof()
    assert await stream.readline() == b"line one\n"
    assert await stream.readline() == b"line two\n"
    assert await stream.read() == b"rest"
    assert stream.at_eof()


async def test_read_waits_for_data(stream: StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    loop.call_later(0.01, stream.feed_data, b"late")
    assert await asyncio.wait_for(stream.read(10), 2) == b"late"


async def test_flow_control_pauses_and_resumes() -> None:
    flow = FlowRecorder()
    stream = StreamReader(flow, 4, loop=asyncio.get_running_loop())
    stream.feed_data(b"0123456789")
    assert flow.events == ["pause"]
    assert await stream.read(8) == b"01234567"
    assert flow.events == ["pause", "resume"]


async def test_readexactly_short_raises(stream: StreamReader) -> None:
    stream.feed_data(b"abc")
    stream.feed_eof()
    with pytest.raises(asyncio.IncompleteReadError):
        await stream.readexactly(5)


async def test_iter_chunks_reports_http_chunk_ends(stream: StreamReader) -> None:
    stream.begin_http_chunk_receiving()
    stream.feed_data(b"ab")
    stream.end_http_chunk_receiving()
    stream.feed_data(b"cd")
    stream.end_http_chunk_receiving()
    stream.feed_eof()
    assert [c async for c in stream.iter_chunks()] == [(b"ab", True), (b"cd", True)]


async def test_exception_propagates_to_reader(stream: StreamReader) -> None:
    stream.set_exception(ConnectionResetError("peer went away"))
    with pytest.raises(ConnectionResetError):
        await stream.read()


async def test_empty_payload_is_always_eof() -> None:
    assert EMPTY_PAYLOAD.at_eof()
    assert await EMPTY_PAYLOAD.read() == b""
