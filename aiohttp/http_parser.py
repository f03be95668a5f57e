"""HTTP/1.x request parsing on httptools (llhttp), with RFC 9112 strictness and limits.

``HttpRequestParser.feed_data(data)`` returns the request messages completed so far, each
with its body stream; bodies keep being fed as their bytes arrive. Anything the RFC calls
invalid raises a ``BadHttpMessage`` subclass whose ``code`` is the status to answer with;
after that the parser is dead and the connection must close.

llhttp already refuses Content-Length with Transfer-Encoding, duplicate or malformed
Content-Length, bare CR/LF, obs-fold, whitespace before the colon, control bytes and
non-token names. Here we add what it lets through: repeated or non-chunked
Transfer-Encoding, Transfer-Encoding on HTTP/1.0, HTTP/0.9 and unknown versions, Host
rules, size limits, and the body decoding of Content-Encoding.
"""

import re
import zlib
from typing import Any, Final, NamedTuple, Optional, Union

import httptools
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from . import hdrs
from .helpers import remember
from .http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    ContentEncodingError,
    HttpVersionNotSupported,
    InvalidHeader,
    LineTooLong,
    PayloadTooLarge,
    RequestTargetTooLong,
    TooManyHeaders,
    TransferEncodingError,
)
from .http_writer import HttpVersion, HttpVersion10, HttpVersion11
from .streams import EMPTY_PAYLOAD, FlowControl, StreamReader
from .typedefs import RawHeaders

__all__ = ("HttpRequestParser", "RawRequestMessage")

DEFAULT_MAX_LINE_SIZE: Final = 8190
DEFAULT_MAX_FIELD_SIZE: Final = 8190
DEFAULT_MAX_HEADERS: Final = 128

# RFC 3986 host: reg-name / IPv4 / IP-literal, with an optional port.
_HOST_RE: Final = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z._~-]+)?\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?"
)
#: Host values already found well-formed: a server hears the same few again and again.
#: At most 256 of up to 300 bytes; cleared when it fills up.
_GOOD_HOSTS: dict[bytes, bool] = {}
_VERSIONS: Final = {"1.1": HttpVersion11, "1.0": HttpVersion10}
_METHODS: Final = {m.encode(): m for m in hdrs.METH_ALL}
_COMPRESSIONS: Final = {b"gzip": "gzip", b"deflate": "deflate", b"br": "br"}
# Lengths of host, content-length, content-encoding, transfer-encoding: only names of
# these lengths are lower-cased and compared.
_SPECIAL_LENGTHS: Final = frozenset({4, 14, 16, 17})


class RawRequestMessage(NamedTuple):
    method: str
    path: str
    version: HttpVersion
    headers: "CIMultiDictProxy[str]"
    raw_headers: RawHeaders
    should_close: bool
    compression: Optional[str]
    upgrade: bool
    chunked: bool
    url: URL


_tuple_new: Final = tuple.__new__


class _Decompressor:
    """Undo a Content-Encoding while feeding a body stream in bounded pieces.

    A few compressed bytes can inflate a thousandfold, faster than flow control can
    pause the socket. So inflating stops with a 413 once more than ``max_unread``
    inflated bytes wait unread in the body stream: a handler that reads as the body
    arrives never gets near it; a decompression bomb does at once.
    """

    CHUNK = 2**16

    def __init__(self, out: StreamReader, encoding: str, max_unread: int = 2**23) -> None:
        self.out = out
        self.encoding = encoding
        self.max_unread = max_unread
        if encoding == "br":
            try:
                import brotli
            except ImportError:  # pragma: no cover - depends on the extra
                raise ContentEncodingError("Can not decode content-encoding: br (brotli missing)")
            self._brotli: Any = brotli.Decompressor()
        else:
            self._brotli = None
            wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(wbits=wbits)
            self._started = False

    def _emit(self, chunk: bytes) -> None:
        out = self.out
        out.feed_data(chunk)
        if out._size > self.max_unread:
            raise PayloadTooLarge(
                message=f"Compressed request body inflates past {self.max_unread} unread bytes"
            )

    def feed_data(self, data: bytes) -> None:
        try:
            if self._brotli is not None:
                # Drain in CHUNK-sized pieces: process(b"") yields what is still pending
                # (can_accept_more_data() cannot be trusted to say so).
                chunk = self._brotli.process(data, output_buffer_limit=self.CHUNK)
                while chunk:
                    self._emit(chunk)
                    if self._brotli.is_finished():
                        break
                    chunk = self._brotli.process(b"", output_buffer_limit=self.CHUNK)
                return
            if not self._started and self.encoding == "deflate":
                self._started = True
                if data and data[0] & 0x0F != 8:  # raw deflate stream without zlib header
                    self._zlib = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
            chunk = self._zlib.decompress(data, self.CHUNK)
            while chunk:
                self._emit(chunk)
                chunk = self._zlib.decompress(self._zlib.unconsumed_tail, self.CHUNK)
        except PayloadTooLarge:
            raise
        except Exception:
            raise ContentEncodingError("Can not decode content-encoding: %s" % self.encoding)

    def feed_eof(self) -> None:
        if self._brotli is None:
            try:
                tail = self._zlib.flush()
            except zlib.error:
                raise ContentEncodingError("Can not decode content-encoding: %s" % self.encoding)
            if tail:
                self._emit(tail)
        self.out.feed_eof()


class HttpRequestParser:
    """Turns request bytes into ``(RawRequestMessage, StreamReader)`` pairs."""

    def __init__(
        self,
        protocol: FlowControl,
        loop: Any,
        limit: int = 2**16,
        *,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_field_size: int = DEFAULT_MAX_FIELD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
        auto_decompress: bool = True,
    ) -> None:
        self._protocol = protocol
        self._loop = loop
        self._limit = limit
        self.max_line_size = max_line_size
        self.max_field_size = max_field_size
        self.max_headers = max_headers
        # A whole head may not exceed this, so httptools never buffers more for us.
        self._max_head_size = max_line_size + max_headers * (max_field_size + 4) + 64
        self._auto_decompress = auto_decompress
        self._parser = httptools.HttpRequestParser(self)
        self._messages: list[tuple[RawRequestMessage, StreamReader]] = []
        self._error: Optional[BadHttpMessage] = None
        self._upgraded = False
        #: True once an error was in a body (its stream carries the error) rather than a head.
        self.body_failed = False
        # Bytes fed since httptools last called us back: it buffers a header or trailer
        # field until the field is complete, so this bounds what it can be made to hold.
        self._max_pending = max(max_line_size, max_field_size) + 1024
        # The body in progress (None between messages: on_message_complete clears them).
        self._payload: Optional[StreamReader] = None
        self._sink: Union[StreamReader, _Decompressor, None] = None
        self.on_message_begin()  # sets up the fields of a head
        self.in_head = False

    # -- public ------------------------------------------------------------

    def feed_data(self, data: bytes) -> tuple[list[tuple[RawRequestMessage, StreamReader]], bool, bytes]:
        """Parse ``data``; return completed messages, whether upgraded, and unparsed tail.

        On a protocol error this raises; messages completed earlier in the same ``data``
        are then waiting in ``take_messages()``, and a body in progress is failed.
        """
        if self._upgraded:
            return [], True, data
        self._pending += len(data)
        if self.in_head:
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgraded = True
            offset = exc.args[0] if exc.args and isinstance(exc.args[0], int) else len(data)
            return self.take_messages(), True, data[offset:]
        except httptools.HttpParserError as exc:
            error = self._translate(exc)
            self._fail_body(error)
            raise error from None
        if self._pending > self._max_pending:
            error = LineTooLong(b"a header or trailer field", self.max_field_size, str(self._pending))
            self._fail_body(error)
            raise error
        if self.in_head:
            self._check_unfinished_head(data)
        messages = self._messages
        if messages:
            self._messages = []
        return messages, False, b""

    def _fail_body(self, error: BadHttpMessage) -> None:
        payload = self._payload
        if payload is not None and not payload.is_eof():
            payload.set_exception(error)
            self.body_failed = True

    def _translate(self, exc: Exception) -> BadHttpMessage:
        """Our exception for an httptools one (the callbacks' own if they raised)."""
        if self._error is not None:
            return self._error
        if isinstance(exc, httptools.HttpParserInvalidMethodError):
            return BadStatusLine(error="Invalid method")
        if isinstance(exc, httptools.HttpParserInvalidURLError):
            return BadHttpMessage("Invalid request target")
        text = str(exc)
        if "HTTP version" in text or "PRI" in text:  # PRI: the HTTP/2 connection preface
            return HttpVersionNotSupported(message="HTTP Version Not Supported")
        return BadHttpMessage(text)

    def feed_eof(self) -> None:
        """The peer closed: fail a body still being received."""
        payload = self._payload
        if payload is not None and not payload.is_eof():
            payload.set_exception(ConnectionResetError("Connection lost before the body was complete"))

    def _check_unfinished_head(self, data: bytes) -> None:
        """Refuse a head that is growing past the limits, or an HTTP/0.9 request line."""
        if self._head_bytes > self._max_head_size:
            self._fail(TooManyHeaders(message="Request header section too large"))
        # A line ended while the version is still unknown: "GET /path" with no version.
        if not self._raw_headers and data.endswith(b"\n") and self._parser.get_http_version() == "0.0":
            self._fail(BadHttpMessage("HTTP/0.9 is not supported"))

    def take_messages(self) -> list[tuple[RawRequestMessage, StreamReader]]:
        """Messages completed and not yet handed out."""
        messages = self._messages
        if messages:
            self._messages = []
        return messages

    def _fail(self, exc: BadHttpMessage) -> None:
        self._error = exc
        raise exc

    # -- httptools callbacks ---------------------------------------------

    def on_message_begin(self) -> None:
        self.in_head = True
        self._pending = 0
        self._head_bytes = 0
        self._url = b""
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._fields: list[tuple[str, str]] = []
        self._host: Optional[bytes] = None
        self._te: Optional[bytes] = None
        self._content_length = 0
        self._encoding: Optional[bytes] = None
        self._in_trailers = False

    def on_url(self, url: bytes) -> None:
        self._pending = 0
        self._url += url
        if len(self._url) > self.max_line_size:
            self._fail(RequestTargetTooLong(self._url[:80], self.max_line_size, str(len(self._url))))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._pending = 0
        if len(name) + len(value) > self.max_field_size:
            self._fail(LineTooLong(name, self.max_field_size, str(len(name) + len(value))))
        if self._in_trailers:
            return  # trailer fields are read and dropped; llhttp has validated their syntax
        value = value.rstrip(b" \t")  # llhttp keeps trailing OWS; it is not part of the value
        if len(name) in _SPECIAL_LENGTHS:
            self._special_header(name.lower(), value)
        raw = self._raw_headers
        raw.append((name, value))
        if len(raw) > self.max_headers:
            self._fail(TooManyHeaders(message="Too many headers"))
        try:
            text = value.decode()
        except UnicodeDecodeError:
            text = value.decode("utf-8", "surrogateescape")
        self._fields.append((name.decode(), text))  # names are tokens: ASCII

    def _special_header(self, lname: bytes, value: bytes) -> None:
        """Note the fields that decide framing and routing; refuse a bad or repeated Host."""
        if lname == b"host":
            if self._host is not None:
                self._fail(BadHttpMessage("Duplicate Host header"))
            if value not in _GOOD_HOSTS:
                if not _HOST_RE.fullmatch(value):
                    self._fail(InvalidHeader(b"Host"))
                if len(value) <= 300:
                    remember(_GOOD_HOSTS, value, True, 256)
            self._host = value
        elif lname == b"transfer-encoding":
            self._te = value if self._te is None else self._te + b"," + value
        elif lname == b"content-length":
            self._content_length = int(value)
        elif lname == b"content-encoding":
            self._encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        self._pending = 0
        parser = self._parser
        version = _VERSIONS.get(parser.get_http_version())
        if version is None:
            if parser.get_http_version() == "0.9":
                self._fail(BadHttpMessage("HTTP/0.9 is not supported"))
            self._fail(HttpVersionNotSupported(message="HTTP Version Not Supported"))
            raise AssertionError  # unreachable; keeps the type checker sure of `version`
        chunked = False
        if self._te is not None:
            if version is HttpVersion10:
                self._fail(BadHttpMessage("Transfer-Encoding is not allowed in HTTP/1.0"))
            codings = [c.strip().lower() for c in self._te.split(b",")]
            if codings != [b"chunked"]:
                if codings[-1] == b"chunked":
                    self._fail(
                        BadHttpMessage("Transfer-Encoding other than chunked is not implemented")
                    )
                self._fail(TransferEncodingError("Transfer-Encoding must end in chunked"))
            chunked = True
        if self._host is None and version is HttpVersion11:
            self._fail(BadHttpMessage("Missing Host header"))

        method_b = parser.get_method()
        method = _METHODS.get(method_b) or method_b.decode("ascii")
        target = self._url.decode("ascii")
        try:
            url = _URL_CACHE.get(target)
            if url is None:
                url = _make_url(method, target)
                # Only short origin-form targets: other forms depend on the method, and the
                # bound keeps the cache small (at most 1024 x 256 characters).
                if target.startswith("/") and len(target) <= 256:
                    remember(_URL_CACHE, target, url, _URL_CACHE_SIZE)
        except ValueError:  # not a request target we can serve
            self._fail(BadHttpMessage("Invalid request target"))
            raise AssertionError from None  # unreachable
        raw = self._raw_headers
        headers = CIMultiDict(self._fields)
        encoding = self._encoding
        compression = _COMPRESSIONS.get(encoding) if encoding is not None else None
        upgrade = parser.should_upgrade()
        # tuple.__new__ directly: the NamedTuple's own __new__ is a Python-level call.
        message: RawRequestMessage = _tuple_new(
            RawRequestMessage,
            (
                method,
                target,
                version,
                CIMultiDictProxy(headers),
                tuple(raw),
                upgrade or not parser.should_keep_alive(),
                compression,
                upgrade,
                chunked,
                url,
            ),
        )
        if chunked or self._content_length > 0:
            payload = StreamReader(self._protocol, self._limit, loop=self._loop)
            self._payload = payload
            if compression and self._auto_decompress:
                self._sink = _Decompressor(payload, compression)
            else:
                self._sink = payload
        else:
            payload = EMPTY_PAYLOAD
        self.in_head = False
        self._in_trailers = True  # header callbacks from here on are chunked trailers
        self._messages.append((message, payload))

    def on_body(self, body: bytes) -> None:
        self._pending = 0
        assert self._sink is not None
        try:
            self._sink.feed_data(body)
        except BadHttpMessage as exc:
            self._fail(exc)

    def on_chunk_header(self) -> None:
        self._pending = 0
        payload = self._payload
        if payload is not None and payload._http_chunk_splits is None:
            payload.begin_http_chunk_receiving()

    def on_chunk_complete(self) -> None:
        self._pending = 0
        payload = self._payload
        if payload is None:
            return
        if payload._http_chunk_splits is not None:
            payload.end_http_chunk_receiving()

    def on_message_complete(self) -> None:
        self._pending = 0
        sink = self._sink
        if sink is not None:
            try:
                sink.feed_eof()
            except BadHttpMessage as exc:
                self._fail(exc)
        self._payload = None
        self._sink = None


#: Parsed origin-form targets, shared by all connections: most traffic asks for a few
#: paths again and again, and yarl URLs are immutable. Cleared when it fills up.
_URL_CACHE: dict[str, URL] = {}
_URL_CACHE_SIZE: Final = 1024
# The text of those URLs, rendered when first asked for (every access line asks), with the
# URL it belongs to: a text is only ever handed out for its own URL object.
_URL_TEXTS: dict[str, tuple[URL, str]] = {}


def target_text(target: str, url: URL) -> str:
    """``str(url)`` for the URL parsed from ``target``; rendered once while it is cached."""
    known = _URL_TEXTS.get(target)
    if known is not None and known[0] is url:
        return known[1]
    text = str(url)
    if _URL_CACHE.get(target) is url:
        remember(_URL_TEXTS, target, (url, text), _URL_CACHE_SIZE)
    return text


def _make_url(method: str, target: str) -> URL:
    """Build the request URL from the target's origin, absolute, authority or * form.

    Raises ValueError for a target that is none of these, or whose host or port is
    malformed (checked here, so a handler never meets the error on ``request.url``).
    """
    if target.startswith("/"):
        if "#" in target:
            target = target.partition("#")[0]
        if target.startswith("//"):  # a path, not a scheme-relative URL
            path, _, query = target.partition("?")
            return URL.build(path=path, query_string=query, encoded=True)
        return URL(target, encoded=True)
    if target == "*" and method == hdrs.METH_OPTIONS:
        return URL.build(path="*", encoded=True)
    if method == hdrs.METH_CONNECT:
        url = URL.build(authority=target, encoded=True)
        if not url.host or url.port is None or url.path not in ("", "/"):
            raise ValueError("CONNECT needs host:port")
        return url
    url = URL(target, encoded=True)
    if not url.absolute or url.scheme not in ("http", "https") or not url.host:
        raise ValueError("not an absolute http(s) URL")
    url.port  # noqa: B018 - yarl checks the port lazily; make it check now
    return url
