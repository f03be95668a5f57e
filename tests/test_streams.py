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


async def test_iter_chunked_and_iter_any(loop: asyncio.AbstractEventLoop) -> None:
    stream = StreamReader(FlowRecorder(), 1024, loop=loop)
    stream.feed_data(b"0123456789")
    stream.feed_eof()
    assert [c async for c in stream.iter_chunked(4)] == [b"0123", b"4567", b"89"]
    other = StreamReader(FlowRecorder(), 1024, loop=loop)
    other.feed_data(b"ab")
    other.feed_data(b"cd")
    other.feed_eof()
    assert b"".join([c async for c in other.iter_any()]) == b"abcd"


async def test_async_iteration_yields_lines(stream: StreamReader) -> None:
    stream.feed_data(b"one\ntwo\nthree")
    stream.feed_eof()
    assert [line async for line in stream] == [b"one\n", b"two\n", b"three"]


async def test_unread_data_goes_back_to_the_front(stream: StreamReader) -> None:
    stream.feed_data(b"world")
    stream.unread_data(b"hello ")
    stream.feed_eof()
    assert await stream.read() == b"hello world"


async def test_only_one_reader_may_wait(stream: StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    first = loop.create_task(stream.read(1))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already waiting"):
        await stream.read(1)
    stream.feed_data(b"x")
    assert await asyncio.wait_for(first, 2) == b"x"


async def test_first_wait_hook_runs_once(stream: StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    calls = []
    stream._on_first_wait = lambda: calls.append("continue")
    loop.call_later(0.01, stream.feed_data, b"a")
    assert await asyncio.wait_for(stream.read(1), 2) == b"a"
    loop.call_later(0.01, stream.feed_data, b"b")
    assert await asyncio.wait_for(stream.read(1), 2) == b"b"
    assert calls == ["continue"]


async def test_no_first_wait_hook_when_the_data_is_there(stream: StreamReader) -> None:
    calls = []
    stream._on_first_wait = lambda: calls.append("continue")
    stream.feed_data(b"already here")
    stream.feed_eof()
    assert await stream.read() == b"already here"
    assert calls == []


async def test_eof_callbacks_and_wait_eof(stream: StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    calls = []
    stream.on_eof(lambda: calls.append("eof"))
    loop.call_soon(stream.feed_eof)
    await asyncio.wait_for(stream.wait_eof(), 2)
    assert calls == ["eof"] and stream.is_eof()


async def test_data_queue(loop: asyncio.AbstractEventLoop) -> None:
    from aiohttp.streams import DataQueue, EofStream

    queue: DataQueue[str] = DataQueue(loop)
    queue.feed_data("a")
    loop.call_soon(queue.feed_data, "b")
    loop.call_soon(queue.feed_eof)
    assert await queue.read() == "a"
    assert await asyncio.wait_for(queue.read(), 2) == "b"
    with pytest.raises(EofStream):
        await asyncio.wait_for(queue.read(), 2)
