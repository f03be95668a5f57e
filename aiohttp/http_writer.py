"""HTTP/1.x message serialisation: status line and headers, body framing, compression."""

import asyncio
import time
import zlib
from collections.abc import Collection
from typing import Any, Callable, Final, NamedTuple, Optional, Protocol

from multidict import CIMultiDict

from .abc import AbstractStreamWriter
from .helpers import format_http_date

__all__ = ("HttpVersion", "HttpVersion10", "HttpVersion11", "StreamWriter", "http_date")


class HttpVersion(NamedTuple):
    major: int
    minor: int


HttpVersion10: Final = HttpVersion(1, 0)
HttpVersion11: Final = HttpVersion(1, 1)


class _WriterProtocol(Protocol):
    transport: Optional[asyncio.Transport]

    async def _drain_helper(self) -> None: ...


_date_second = -1
_date_text = ""


def http_date() -> str:
    """The current time as an IMF-fixdate, formatted at most once per second."""
    global _date_second, _date_text
    now = int(time.time())
    if now != _date_second:
        _date_text = format_http_date(now)
        _date_second = now
    return _date_text


_BAD_HEADER_MESSAGE: Final = (
    "Newline or carriage return character detected in HTTP status message or header. "
    "This is a potential security issue."
)


def serialize_headers(status_line: str, headers: "CIMultiDict[str]") -> bytes:
    """Status line plus header fields, CRLF-terminated, refusing embedded CR or LF."""
    return serialize_fields(status_line, headers.items())


def serialize_fields(status_line: str, fields: Collection[tuple[str, str]]) -> bytes:
    """``serialize_headers`` for fields already taken out of their multidict."""
    text = "\r\n".join([status_line, *[k + ": " + v for k, v in fields], "", ""])
    return _encode_checked(text, len(fields) + 2)


def add_field(head: bytes, name: str, value: str) -> bytes:
    """A serialised ``head`` with one more field at its end, checked like the others."""
    return head[:-2] + _encode_checked(f"{name}: {value}\r\n\r\n", 2)


def _encode_checked(text: str, line_breaks: int) -> bytes:
    """``text`` as bytes, if its only line breaks are the ``line_breaks`` CRLFs we wrote: a CR
    or LF inside a name or value would let a handler split the response."""
    if text.count("\n") != line_breaks or text.count("\r") != line_breaks:
        raise ValueError(_BAD_HEADER_MESSAGE)
    return text.encode("utf-8")


class StreamWriter(AbstractStreamWriter):
    """Writes one HTTP message to a transport.

    Headers are held back and leave in the same ``transport.write`` as the first body
    bytes (or at EOF), so a small response costs one system call.
    """

    # Defaults at class level: a writer is made per response, and most keep most of them.
    length: Optional[int] = None
    chunked = False
    _eof = False
    _compress: Any = None
    _pending_headers: Optional[bytes] = None
    _on_chunk_sent: Optional[Callable[[bytes], Any]] = None
    _on_headers_sent: Optional[Callable[[Any], Any]] = None

    def __init__(
        self,
        protocol: _WriterProtocol,
        loop: asyncio.AbstractEventLoop,
        on_chunk_sent: Optional[Callable[[bytes], Any]] = None,
        on_headers_sent: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        self._protocol = protocol
        self.loop = loop
        if on_chunk_sent is not None:
            self._on_chunk_sent = on_chunk_sent
        if on_headers_sent is not None:
            self._on_headers_sent = on_headers_sent

    @property
    def transport(self) -> Optional[asyncio.Transport]:
        return self._protocol.transport

    @property
    def protocol(self) -> _WriterProtocol:
        return self._protocol

    @property
    def started(self) -> bool:
        """Whether a status line has been serialised (sent or held back) for this message."""
        return self._pending_headers is not None or self.output_size > 0

    def enable_chunking(self) -> None:
        self.chunked = True

    def enable_compression(self, encoding: str = "deflate", strategy: int = zlib.Z_DEFAULT_STRATEGY) -> None:
        if encoding == "br":
            import brotli

            self._compress = _BrotliCompressor(brotli)
        else:
            wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            self._compress = zlib.compressobj(wbits=wbits, strategy=strategy)

    def _send(self, data: bytes) -> None:
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("Cannot write to closing transport")
        size = len(data)
        self.buffer_size += size
        self.output_size += size
        transport.write(data)

    def _frame(self, chunk: bytes) -> bytes:
        if self.length is not None:
            if len(chunk) > self.length:
                chunk = chunk[: self.length]
            self.length -= len(chunk)
        if self.chunked and chunk:
            chunk = b"%x\r\n%b\r\n" % (len(chunk), chunk)
        headers = self._pending_headers
        if headers is not None:
            self._pending_headers = None
            return headers + chunk
        return chunk

    async def write(self, chunk: bytes, *, drain: bool = True, LIMIT: int = 0x10000) -> None:
        """Send a body chunk; wait for the transport to drain past ``LIMIT`` buffered bytes."""
        if self._on_chunk_sent is not None:
            await self._on_chunk_sent(chunk)
        if self._compress is not None:
            chunk = self._compress.compress(chunk)
            if not chunk:
                return
        data = self._frame(chunk)
        if data:
            self._send(data)
        if drain and self.buffer_size > LIMIT:
            self.buffer_size = 0
            await self.drain()

    async def write_headers(self, status_line: str, headers: "CIMultiDict[str]") -> None:
        """Serialise the head now; it is sent with the first body bytes."""
        if self._on_headers_sent is not None:
            await self._on_headers_sent(headers)
        self._pending_headers = serialize_headers(status_line, headers)

    def buffer_headers(self, status_line: str, headers: "CIMultiDict[str]") -> None:
        """``write_headers`` without the await, for writers with no on_headers_sent hook."""
        self._pending_headers = serialize_headers(status_line, headers)

    def send_whole(self, head: bytes, body: bytes) -> None:
        """End a plain message (no chunking, no compression) with one write of head and body."""
        length = self.length
        if length is not None and len(body) > length:
            body = body[:length]
        self._eof = True
        self._send(head + body)

    def send_continue(self) -> None:
        """Answer ``Expect: 100-continue`` once the handler starts reading the body."""
        if self._pending_headers is None and self.output_size == 0:
            transport = self._protocol.transport
            if transport is not None and not transport.is_closing():
                transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def send_headers(self) -> None:
        """Send held-back headers now (for responses that will stream slowly)."""
        headers = self._pending_headers
        if headers is not None:
            self._pending_headers = None
            self._send(headers)

    async def write_eof(self, chunk: bytes = b"") -> None:
        if self._eof:
            return
        if chunk and self._on_chunk_sent is not None:
            await self._on_chunk_sent(chunk)
        if self._compress is not None:
            chunk = (self._compress.compress(chunk) if chunk else b"") + self._compress.flush()
        data = self._frame(chunk)
        if self.chunked:
            data += b"0\r\n\r\n"
        if data:
            self._send(data)
        self._eof = True
        if self.buffer_size > 0x10000:
            await self.drain()

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        self.send_headers()
        protocol = self._protocol
        if protocol.transport is not None:
            await protocol._drain_helper()

    def set_eof(self) -> None:
        self._eof = True


class _BrotliCompressor:
    def __init__(self, brotli: Any) -> None:
        self._obj = brotli.Compressor()

    def compress(self, data: bytes) -> bytes:
        return self._obj.process(data)

    def flush(self) -> bytes:
        return self._obj.finish()

