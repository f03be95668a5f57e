"""Byte streams fed by a protocol and read by a handler, with flow control."""

import asyncio
import collections
from typing import (
    AsyncIterator,
    Awaitable,
    Callable,
    Deque,
    Final,
    Generic,
    Optional,
    Protocol,
    TypeVar,
)

__all__ = (
    "EMPTY_PAYLOAD",
    "EofStream",
    "StreamReader",
    "EmptyStreamReader",
    "DataQueue",
)

_T = TypeVar("_T")


class EofStream(Exception):
    """Raised by DataQueue.read() once the queue is exhausted."""


class FlowControl(Protocol):
    """What a StreamReader needs from whoever feeds it."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class AsyncStreamIterator(Generic[_T]):
    def __init__(self, read_func: Callable[[], Awaitable[_T]]) -> None:
        self.read_func = read_func

    def __aiter__(self) -> "AsyncStreamIterator[_T]":
        return self

    async def __anext__(self) -> _T:
        try:
            rv = await self.read_func()
        except EofStream:
            raise StopAsyncIteration
        if rv == b"":
            raise StopAsyncIteration
        return rv


class ChunkTupleAsyncStreamIterator:
    def __init__(self, stream: "StreamReader") -> None:
        self._stream = stream

    def __aiter__(self) -> "ChunkTupleAsyncStreamIterator":
        return self

    async def __anext__(self) -> tuple[bytes, bool]:
        rv = await self._stream.readchunk()
        if rv == (b"", False):
            raise StopAsyncIteration
        return rv


class StreamReader:
    """A buffered stream of body bytes.

    The feeder calls feed_data()/feed_eof(); readers await read*(). When more than
    ``2 * limit`` bytes are buffered the feeder is paused, and resumed once readers
    bring the buffer back under ``limit``.
    """

    total_bytes = 0
    #: Called once, the first time a reader has to wait for bytes (sends 100 Continue).
    _on_first_wait: Optional[Callable[[], None]] = None

    def __init__(
        self,
        protocol: FlowControl,
        limit: int,
        *,
        timer: object = None,
        loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> None:
        self._protocol = protocol
        self._low_water = limit
        self._high_water = limit * 2
        self._loop = loop if loop is not None else asyncio.get_event_loop()
        self._size = 0
        self._cursor = 0
        self._http_chunk_splits: Optional[list[int]] = None
        self._buffer: Deque[bytes] = collections.deque()
        self._buffer_offset = 0
        self._eof = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._eof_waiter: Optional[asyncio.Future[None]] = None
        self._exception: Optional[BaseException] = None
        self._eof_callbacks: list[Callable[[], None]] = []
        self._paused = False

    def __repr__(self) -> str:
        info = [self.__class__.__name__]
        if self._size:
            info.append("%d bytes" % self._size)
        if self._eof:
            info.append("eof")
        if self._exception:
            info.append("e=%r" % self._exception)
        return "<%s>" % " ".join(info)

    # -- iteration helpers -------------------------------------------------

    def __aiter__(self) -> AsyncStreamIterator[bytes]:
        return AsyncStreamIterator(self.readline)

    def iter_chunked(self, n: int) -> AsyncStreamIterator[bytes]:
        """Yield chunks of at most ``n`` bytes."""
        return AsyncStreamIterator(lambda: self.read(n))

    def iter_any(self) -> AsyncStreamIterator[bytes]:
        """Yield whatever is buffered, as soon as it arrives."""
        return AsyncStreamIterator(self.readany)

    def iter_chunks(self) -> ChunkTupleAsyncStreamIterator:
        """Yield ``(data, end_of_http_chunk)`` pairs."""
        return ChunkTupleAsyncStreamIterator(self)

    # -- state -------------------------------------------------------------

    def get_read_buffer_limits(self) -> tuple[int, int]:
        return (self._low_water, self._high_water)

    def exception(self) -> Optional[BaseException]:
        return self._exception

    def _wake_waiters(self, exc: Optional[BaseException] = None) -> None:
        """Resolve the pending read and EOF waits, with ``exc`` if given."""
        for waiter in (self._waiter, self._eof_waiter):
            if waiter is not None and not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)
        self._waiter = None
        self._eof_waiter = None

    def set_exception(self, exc: BaseException) -> None:
        self._exception = exc
        self._eof_callbacks.clear()
        self._wake_waiters(exc)

    def on_eof(self, callback: Callable[[], None]) -> None:
        if self._eof:
            callback()
        else:
            self._eof_callbacks.append(callback)

    def feed_eof(self) -> None:
        self._eof = True
        self._wake_waiters()
        for cb in self._eof_callbacks:
            cb()
        self._eof_callbacks.clear()

    def is_eof(self) -> bool:
        """True once the feeder has said the stream is complete."""
        return self._eof

    def at_eof(self) -> bool:
        """True when the stream is complete and the buffer is drained."""
        return self._eof and not self._buffer

    async def wait_eof(self) -> None:
        if self._eof:
            return
        assert self._eof_waiter is None
        self._eof_waiter = self._loop.create_future()
        try:
            await self._eof_waiter
        finally:
            self._eof_waiter = None

    def unread_data(self, data: bytes) -> None:
        """Push bytes back to the front of the buffer."""
        if not data:
            return
        if self._buffer_offset:
            self._buffer[0] = self._buffer[0][self._buffer_offset :]
            self._buffer_offset = 0
        self._size += len(data)
        self._cursor -= len(data)
        self._buffer.appendleft(data)

    # -- feeding -----------------------------------------------------------

    def feed_data(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        self._buffer.append(data)
        self.total_bytes += len(data)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if self._size > self._high_water and not self._paused:
            self._paused = True
            self._protocol.pause_reading()

    def begin_http_chunk_receiving(self) -> None:
        if self._http_chunk_splits is None:
            if self.total_bytes:
                raise RuntimeError("Called begin_http_chunk_receiving when some data was already fed")
            self._http_chunk_splits = []

    def end_http_chunk_receiving(self) -> None:
        if self._http_chunk_splits is None:
            raise RuntimeError(
                "Called end_chunk_receiving without calling begin_chunk_receiving first"
            )
        pos = self._http_chunk_splits[-1] if self._http_chunk_splits else 0
        if self.total_bytes == pos:
            return  # an empty chunk carries no boundary worth reporting
        self._http_chunk_splits.append(self.total_bytes)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- reading -----------------------------------------------------------

    async def _wait(self, func_name: str) -> None:
        hook = self._on_first_wait
        if hook is not None:
            self._on_first_wait = None
            hook()
        if self._waiter is not None:
            raise RuntimeError(
                "%s() called while another coroutine is already waiting for incoming data"
                % func_name
            )
        waiter = self._waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    async def readline(self) -> bytes:
        return await self.readuntil(b"\n")

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        seplen = len(separator)
        if seplen == 0:
            raise ValueError("Separator should be at least one-byte string")
        if self._exception is not None:
            raise self._exception
        chunk = b""
        chunk_size = 0
        not_enough = True
        while not_enough:
            while self._buffer and not_enough:
                offset = self._buffer_offset
                ichar = self._buffer[0].find(separator, offset) + 1
                data = self._read_nowait_chunk(ichar - offset + seplen - 1 if ichar else -1)
                chunk += data
                chunk_size += len(data)
                if ichar:
                    not_enough = False
                if chunk_size > self._high_water:
                    raise ValueError("Chunk too big")
            if self._eof:
                break
            if not_enough:
                await self._wait("readuntil")
        return chunk

    async def read(self, n: int = -1) -> bytes:
        if self._exception is not None:
            raise self._exception
        if not n:
            return b""
        if n < 0:
            blocks = []
            while True:
                block = await self.readany()
                if not block:
                    break
                blocks.append(block)
            return b"".join(blocks)
        while not self._buffer and not self._eof:
            await self._wait("read")
        return self._read_nowait(n)

    async def readany(self) -> bytes:
        if self._exception is not None:
            raise self._exception
        while not self._buffer and not self._eof:
            await self._wait("readany")
        return self._read_nowait(-1)

    async def readchunk(self) -> tuple[bytes, bool]:
        """Return ``(data, end_of_http_chunk)``; ``(b"", False)`` at the end."""
        while True:
            if self._exception is not None:
                raise self._exception
            splits = self._http_chunk_splits
            while splits:
                pos = splits.pop(0)
                if pos == self._cursor:
                    return (b"", True)
                if pos > self._cursor:
                    return (self._read_nowait(pos - self._cursor), True)
            if self._buffer:
                return (self._read_nowait_chunk(-1), False)
            if self._eof:
                return (b"", False)
            await self._wait("readchunk")

    async def readexactly(self, n: int) -> bytes:
        if self._exception is not None:
            raise self._exception
        blocks: list[bytes] = []
        while n > 0:
            block = await self.read(n)
            if not block:
                partial = b"".join(blocks)
                raise asyncio.IncompleteReadError(partial, len(partial) + n)
            blocks.append(block)
            n -= len(block)
        return b"".join(blocks)

    def read_nowait(self, n: int = -1) -> bytes:
        if self._exception is not None:
            raise self._exception
        if self._waiter and not self._waiter.done():
            raise RuntimeError("Called while some coroutine is waiting for incoming data.")
        return self._read_nowait(n)

    def _read_nowait_chunk(self, n: int) -> bytes:
        first = self._buffer[0]
        offset = self._buffer_offset
        if n != -1 and len(first) - offset > n:
            data = first[offset : offset + n]
            self._buffer_offset += n
        elif offset:
            self._buffer.popleft()
            data = first[offset:]
            self._buffer_offset = 0
        else:
            data = self._buffer.popleft()
        size = len(data)
        self._size -= size
        self._cursor += size
        if self._paused and self._size < self._low_water:
            self._paused = False
            self._protocol.resume_reading()
        return data

    def _read_nowait(self, n: int) -> bytes:
        chunks = []
        while self._buffer:
            chunk = self._read_nowait_chunk(n)
            chunks.append(chunk)
            if n != -1:
                n -= len(chunk)
                if n == 0:
                    break
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]


class EmptyStreamReader(StreamReader):
    """The body of a request that has none: always at EOF."""

    def __init__(self) -> None:
        self._read_eof_chunk = False
        self._eof = True
        self._buffer = collections.deque()
        self._exception = None
        self._waiter = None
        self._eof_waiter = None
        self._paused = False
        self._size = 0

    def __repr__(self) -> str:
        return "<%s>" % self.__class__.__name__

    def exception(self) -> Optional[BaseException]:
        return None

    def set_exception(self, exc: BaseException) -> None:
        pass

    def on_eof(self, callback: Callable[[], None]) -> None:
        callback()

    def feed_eof(self) -> None:
        pass

    def is_eof(self) -> bool:
        return True

    def at_eof(self) -> bool:
        return True

    async def wait_eof(self) -> None:
        return

    def feed_data(self, data: bytes) -> None:
        pass

    async def readline(self) -> bytes:
        return b""

    async def read(self, n: int = -1) -> bytes:
        return b""

    async def readany(self) -> bytes:
        return b""

    async def readchunk(self) -> tuple[bytes, bool]:
        if not self._read_eof_chunk:
            self._read_eof_chunk = True
            return (b"", False)
        return (b"", True)

    async def readexactly(self, n: int) -> bytes:
        raise asyncio.IncompleteReadError(b"", n)

    def read_nowait(self, n: int = -1) -> bytes:
        return b""


EMPTY_PAYLOAD: Final[StreamReader] = EmptyStreamReader()


class DataQueue(Generic[_T]):
    """A queue of parsed items, read one at a time, ending in EofStream."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._eof = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._exception: Optional[BaseException] = None
        self._buffer: Deque[_T] = collections.deque()

    def __len__(self) -> int:
        return len(self._buffer)

    def is_eof(self) -> bool:
        return self._eof

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    def exception(self) -> Optional[BaseException]:
        return self._exception

    def set_exception(self, exc: BaseException) -> None:
        self._eof = True
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(exc)

    def feed_data(self, data: _T) -> None:
        self._buffer.append(data)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def feed_eof(self) -> None:
        self._eof = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def read(self) -> _T:
        if not self._buffer and not self._eof:
            assert not self._waiter
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._buffer:
            return self._buffer.popleft()
        if self._exception is not None:
            raise self._exception
        raise EofStream

    def __aiter__(self) -> AsyncIterator[_T]:
        return AsyncStreamIterator(self.read)
