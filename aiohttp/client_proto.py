"""The client side of one HTTP/1.1 connection: response parsing, flow control, timeouts.

Theory of operation: a ``ResponseHandler`` owns one transport. For each request the
request writer sends the bytes, then calls ``set_response_params()``, which arms a fresh
httptools response parser; ``read()`` waits for the status line and headers and returns
them with a ``StreamReader`` that the parser feeds the (decoded) body into. When the body
is complete the connection is reusable unless something said it must close. Every error
(malformed bytes, disconnects, the ``sock_read`` timer) lands in one place,
``set_exception()``, which fails whatever is waiting and closes the transport.
"""

import asyncio
import zlib
from typing import Any, NamedTuple, Optional, cast

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from . import hdrs
from .client_exceptions import (
    ClientConnectionResetError,
    ClientOSError,
    ClientPayloadError,
    ServerDisconnectedError,
    SocketTimeoutError,
)
from .http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    ContentLengthError,
    HttpProcessingError,
    InvalidHeader,
    LineTooLong,
    TooManyHeaders,
    TransferEncodingError,
)
from .streams import EMPTY_PAYLOAD, StreamReader

__all__ = ("HttpVersion", "RawResponseMessage", "ResponseHandler")


class HttpVersion(NamedTuple):
    major: int
    minor: int


HttpVersion10 = HttpVersion(1, 0)
HttpVersion11 = HttpVersion(1, 1)


class RawResponseMessage(NamedTuple):
    """A parsed status line and header section."""

    version: HttpVersion
    code: int
    reason: str
    headers: "CIMultiDictProxy[str]"
    raw_headers: tuple[tuple[bytes, bytes], ...]
    should_close: bool
    compression: Optional[str]
    upgrade: bool
    chunked: bool


class _StopParsing(Exception):
    """Raised inside a parser callback to end parsing of the current feed."""


_CHUNKED = b"chunked"
_EMPTY_BODY_CODES = frozenset({204, 304})


class _ContentDecoder:
    """Undoes gzip/deflate/br Content-Encoding chunk by chunk."""

    __slots__ = ("_encoding", "_first", "_obj")

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._first = True
        self._obj: Any
        if encoding == "gzip":
            self._obj = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._obj = None  # zlib-wrapped or raw: decided by the first byte
        else:
            try:
                import brotli
            except ImportError:  # pragma: no cover - brotli is an optional extra
                raise ClientPayloadError("Can not decode content-encoding: br (install Brotli)")
            self._obj = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        if self._obj is None:
            # RFC 9110 says zlib format, but some servers send raw deflate.
            wbits = zlib.MAX_WBITS if (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
            self._obj = zlib.decompressobj(wbits=wbits)
        if self._encoding == "br":
            out: bytes = self._obj.process(data)
            return out
        out = self._obj.decompress(data)
        return out

    def flush(self) -> bytes:
        if self._obj is None or self._encoding == "br":
            return b""
        tail: bytes = self._obj.flush()
        if self._encoding == "gzip" and not self._obj.eof:
            raise zlib.error("incomplete gzip stream")
        return tail


_DECODABLE = ("gzip", "deflate", "br")


class ResponseHandler(asyncio.Protocol):
    """asyncio protocol for one client connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: Optional[asyncio.Transport] = None
        self.closed: asyncio.Future[None] = loop.create_future()
        self._should_close = False
        self._exception: Optional[BaseException] = None
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: Optional[asyncio.Future[None]] = None
        # per-response state
        self._parser: Optional[httptools.HttpResponseParser] = None
        self._message_waiter: Optional[asyncio.Future[tuple[RawResponseMessage, StreamReader]]] = None
        self._payload: Optional[StreamReader] = None
        self._payload_done = True
        self._method = "GET"
        self._auto_decompress = True
        self._read_bufsize = 2**16
        self._max_line_size = 8190
        self._max_field_size = 8190
        self._max_headers = 128
        self._header_budget = 0
        self._read_timeout: Optional[float] = None
        self._timeout_handle: Optional[asyncio.TimerHandle] = None
        self._timer_armed = False
        #: How many requests were sent on this connection (more than 0: it was reused).
        self.requests_sent = 0
        #: Whether any byte of the current response arrived.
        self.got_bytes = False
        self._reset_message_state()

    def _reset_message_state(self) -> None:
        self._reason = b""
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._headers_done = False
        self._header_bytes = 0
        self._chunked = False
        self._has_length = False
        self._encoding: Optional[str] = None
        self._keep_alive = True
        self._decoder: Optional[_ContentDecoder] = None
        self._message_complete = False

    # -- connection state --------------------------------------------------

    @property
    def should_close(self) -> bool:
        """True when this connection must not go back to the pool."""
        return (
            self._should_close
            or self._exception is not None
            or self.transport is None
            or self.transport.is_closing()
            or not self._payload_done
            or self._message_waiter is not None
        )

    def force_close(self) -> None:
        self._should_close = True

    def is_connected(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self._cancel_timer()
        transport = self.transport
        if transport is not None:
            transport.close()
        self._should_close = True

    def exception(self) -> Optional[BaseException]:
        return self._exception

    # -- asyncio.Protocol ----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._cancel_timer()
        self.transport = None
        self._should_close = True
        if not self.closed.done():
            self.closed.set_result(None)
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_exception(ClientConnectionResetError("Connection lost"))
        if self._message_waiter is not None:
            if exc is not None:
                err: BaseException = ClientOSError(*exc.args)
                err.__cause__ = exc
            else:
                err = ServerDisconnectedError()
            self._fail(err)
        elif not self._payload_done and self._payload is not None:
            if self._headers_done and not self._chunked and not self._has_length:
                # The body was delimited by the connection's end: that is its end.
                self._finish_body()
            else:
                reason = "Response payload is not completed"
                if exc is not None:
                    reason += f": {exc!r}"
                self._fail(ClientPayloadError(reason))

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        """Wait until the transport's write buffer has room again."""
        if self.transport is None or self.transport.is_closing():
            raise ClientConnectionResetError("Cannot write to closing transport")
        if self._exception is not None:
            raise self._exception
        if not self._writing_paused:
            return
        waiter = self._drain_waiter
        if waiter is None:
            waiter = self._drain_waiter = self._loop.create_future()
        await waiter

    # -- flow control for the body StreamReader ------------------------------

    def pause_reading(self) -> None:
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
            self._cancel_timer()

    def resume_reading(self) -> None:
        if self.transport is not None and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
            self._restart_timer()

    # -- per-response set-up --------------------------------------------------

    def set_response_params(
        self,
        *,
        method: str,
        auto_decompress: bool = True,
        read_timeout: Optional[float] = None,
        read_bufsize: int = 2**16,
        max_line_size: int = 8190,
        max_field_size: int = 8190,
        max_headers: int = 128,
    ) -> None:
        """Arm a fresh parser for the response to the request just sent."""
        self._method = method
        self._auto_decompress = auto_decompress
        self._read_timeout = read_timeout
        self._read_bufsize = read_bufsize
        self._max_line_size = max_line_size
        self._max_field_size = max_field_size
        self._max_headers = max_headers
        # Bytes a header section may take before it is refused, to bound buffering.
        self._header_budget = max_line_size + max_headers * (max_field_size + 2) + 4
        self._reset_message_state()
        self.requests_sent += 1
        self.got_bytes = False
        self._payload = None
        self._payload_done = False
        self._parser = httptools.HttpResponseParser(self)
        self._message_waiter = self._loop.create_future()
        if self._exception is not None:
            self._message_waiter.set_exception(self._exception)
        elif self.transport is None:
            self._message_waiter.set_exception(ServerDisconnectedError())

    def start_timeout(self) -> None:
        """Start the ``sock_read`` timer; called once the request is fully sent."""
        self._timer_armed = True
        self._restart_timer()

    async def read(self) -> tuple[RawResponseMessage, StreamReader]:
        """Wait for the status line and headers of the response."""
        waiter = self._message_waiter
        assert waiter is not None, "set_response_params() was not called"
        try:
            return await waiter
        finally:
            if self._message_waiter is waiter:
                self._message_waiter = None

    # -- sock_read timer -------------------------------------------------------

    def _cancel_timer(self) -> None:
        handle = self._timeout_handle
        if handle is not None:
            self._timeout_handle = None
            handle.cancel()

    def _restart_timer(self) -> None:
        self._cancel_timer()
        if (
            self._timer_armed
            and self._read_timeout is not None
            and not self._reading_paused
            and not self._payload_done
        ):
            self._timeout_handle = self._loop.call_later(self._read_timeout, self._on_read_timeout)

    def _on_read_timeout(self) -> None:
        self._timeout_handle = None
        self.set_exception(SocketTimeoutError("Timeout on reading data from socket"))

    # -- errors -----------------------------------------------------------------

    def set_exception(self, exc: BaseException) -> None:
        """Fail whatever waits on this connection with ``exc`` and close it."""
        self._fail(exc)
        self.close()

    def _fail(self, exc: BaseException) -> None:
        self._cancel_timer()
        self._should_close = True
        if self._exception is None:
            self._exception = exc
        waiter = self._message_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
            # The caller may be gone (cancelled); do not warn about an unretrieved error.
            waiter.exception()
        elif self._payload is not None and not self._payload_done:
            self._payload_done = True
            if isinstance(exc, HttpProcessingError):
                exc = ClientPayloadError(f"Response payload is not completed: {exc.message}")
            self._payload.set_exception(exc)
        self._parser = None

    # -- bytes in ------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        parser = self._parser
        if parser is None:
            # Nobody asked for these bytes: the connection can no longer be trusted.
            self._should_close = True
            return
        if not self._headers_done:
            self._header_bytes += len(data)
            if self._header_bytes - len(data) > self._header_budget:
                self.set_exception(LineTooLong(b"response header section", self._header_budget))
                return
        if self._timeout_handle is not None:
            self._restart_timer()
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._should_close = True
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _StopParsing):
                return
            if isinstance(cause, (HttpProcessingError, ClientPayloadError)):
                self.set_exception(cause)
                return
            self.set_exception(self._translate(exc))

    def _translate(self, exc: Exception) -> BaseException:
        message = str(exc)
        if not self._headers_done:
            if isinstance(exc, httptools.HttpParserInvalidStatusError) or not self._raw_headers:
                return BadStatusLine(error=f"Bad status line: {message}")
            return InvalidHeader(message.encode())
        if self._chunked:
            return ClientPayloadError(f"Response payload is not completed: {TransferEncodingError(message)}")
        if "Content-Length" in message:
            return ClientPayloadError(f"Response payload is not completed: {ContentLengthError(message)}")
        return BadHttpMessage(message)

    # -- httptools callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._message_complete:
            # A second response without a request: never reuse this connection.
            self._should_close = True
            raise _StopParsing()

    def on_status(self, status: bytes) -> None:
        self._reason += status
        if len(self._reason) > self._max_line_size:
            raise LineTooLong(b"status line", self._max_line_size)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) + 2 > self._max_field_size:
            raise LineTooLong(name[:100], self._max_field_size)
        if self._headers_done:
            return  # trailers: accepted, not exposed
        if len(self._raw_headers) >= self._max_headers:
            raise TooManyHeaders(f"More than {self._max_headers} response headers")
        self._raw_headers.append((name, value))
        lname = name.lower()
        if lname == b"transfer-encoding":
            if value.lower().split(b",")[-1].strip() == _CHUNKED:
                self._chunked = True
        elif lname == b"content-length":
            self._has_length = True
        elif lname == b"content-encoding":
            self._encoding = value.decode("latin-1").strip().lower()

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        code = parser.get_status_code()
        if 100 <= code < 200 and code != 101:
            # An interim response (100 Continue, 103 Early Hints): wait for the real one.
            self._reset_message_state()
            return
        self._headers_done = True
        self._keep_alive = bool(parser.should_keep_alive())
        major, _, minor = parser.get_http_version().partition(".")
        version = HttpVersion(int(major), int(minor or 0))
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in self._raw_headers:
            headers.add(
                name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")
            )
        no_body = self._method == hdrs.METH_HEAD or code in _EMPTY_BODY_CODES or code == 101
        if not self._chunked and not self._has_length and not no_body:
            self._keep_alive = False  # body ends when the connection does
        encoding = self._encoding if self._encoding in _DECODABLE else None
        if encoding is not None and self._auto_decompress and not no_body:
            try:
                self._decoder = _ContentDecoder(encoding)
            except ClientPayloadError:
                self._decoder = None
        payload: StreamReader
        if no_body:
            payload = EMPTY_PAYLOAD
        else:
            payload = StreamReader(self, self._read_bufsize, loop=self._loop)
            if self._chunked:
                payload.begin_http_chunk_receiving()
        self._payload = payload
        message = RawResponseMessage(
            version,
            code,
            self._reason.decode("utf-8", "surrogateescape"),
            CIMultiDictProxy(headers),
            tuple(self._raw_headers),
            not self._keep_alive,
            encoding,
            code == 101,
            self._chunked,
        )
        if not self._keep_alive:
            self._should_close = True
        waiter = self._message_waiter
        self._message_waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result((message, payload))
        if no_body:
            self._message_complete = True
            self._finish_body()
            if self._method == hdrs.METH_HEAD:
                raise _StopParsing()  # httptools cannot be told a HEAD response has no body

    def on_body(self, body: bytes) -> None:
        payload = self._payload
        if payload is None or self._payload_done:
            return
        decoder = self._decoder
        if decoder is not None:
            try:
                body = decoder.decompress(body)
            except Exception as exc:
                raise ClientPayloadError(
                    f"Can not decode content-encoding: {self._encoding} ({exc})"
                ) from exc
        payload.feed_data(body)

    def on_chunk_complete(self) -> None:
        payload = self._payload
        if payload is not None and not self._payload_done and self._decoder is None:
            payload.end_http_chunk_receiving()

    def on_message_complete(self) -> None:
        if not self._headers_done:
            return  # an interim 1xx response ended
        self._message_complete = True
        self._finish_body()

    def _finish_body(self) -> None:
        self._cancel_timer()
        payload = self._payload
        if payload is None or self._payload_done:
            return
        if self._decoder is not None:
            try:
                tail = self._decoder.flush()
            except Exception as exc:
                self._fail(
                    ClientPayloadError(f"Can not decode content-encoding: {self._encoding} ({exc})")
                )
                self.close()
                return
            if tail:
                payload.feed_data(tail)
        self._payload_done = True
        payload.feed_eof()

