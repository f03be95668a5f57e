"""ClientRequest (what is sent) and ClientResponse (what came back)."""

import asyncio
import codecs
import contextlib
import importlib
import io
import json
import os
import re
import ssl
import sys
import warnings
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from http.cookies import CookieError, Morsel, SimpleCookie
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Union
from urllib.parse import urlencode

import attr
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy, istr
from yarl import URL

from . import hdrs
from ._version import API_VERSION
from .client_exceptions import (
    ClientConnectionResetError,
    ClientOSError,
    ClientResponseError,
    ContentTypeError,
    InvalidURL,
)
from .client_proto import HttpVersion, HttpVersion10, HttpVersion11, ResponseHandler
from .helpers import BasicAuth, HeadersMixin
from .http_exceptions import HttpProcessingError
from .streams import EMPTY_PAYLOAD, StreamReader
from .tracing import (
    Trace,
    TraceConfig,
    TraceRequestChunkSentParams,
    TraceRequestHeadersSentParams,
    TraceResponseChunkReceivedParams,
    send_traces,
)
from .typedefs import DEFAULT_JSON_DECODER, JSONDecoder

if TYPE_CHECKING:
    from .client import ClientSession
    from .connector import Connection

__all__ = ("ClientRequest", "ClientResponse", "ConnectionKey", "RequestInfo")

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_JSON_RE = re.compile(r"^(?:application/|[\w.-]+/[\w.+-]+?\+)json$")

try:
    import brotli  # noqa: F401

    _ACCEPT_ENCODING = "gzip, deflate, br"
except ImportError:  # pragma: no cover - brotli is an optional extra
    _ACCEPT_ENCODING = "gzip, deflate"

_USER_AGENT = f"Python/{sys.version_info[0]}.{sys.version_info[1]} aiohttp/{API_VERSION}"


class ConnectionKey(NamedTuple):
    """What makes two requests able to share a pooled connection."""

    host: str
    port: Optional[int]
    is_ssl: bool
    ssl: Union[ssl.SSLContext, bool, None]
    proxy: Optional[URL]
    proxy_auth: Optional[BasicAuth]
    proxy_headers_hash: Optional[int]


@attr.s(auto_attribs=True, frozen=True, slots=True)
class RequestInfo:
    """What was asked for: carried by responses and ClientResponseError."""

    url: URL
    method: str
    headers: "CIMultiDictProxy[str]"
    real_url: URL = attr.ib()

    @real_url.default
    def _default_real_url(self) -> URL:
        return self.url


def _sibling(name: str) -> Any:
    """A module of this package that may not exist yet (payload, formdata), or None."""
    module = sys.modules.get(f"{__package__}.{name}")
    if module is None:
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ImportError:
            return None
    return module


def _is_payload(data: Any) -> bool:
    """True for aiohttp.payload objects (Payload.write(writer) streams them)."""
    module = _sibling("payload")
    return module is not None and isinstance(data, module.Payload)


def _is_formdata(data: Any) -> bool:
    module = _sibling("formdata")
    return module is not None and isinstance(data, module.FormData)


class _BodyWriter:
    """Writes a request body to the transport: plain, chunked and/or compressed.

    It offers the writer interface that ``Payload.write(writer)`` expects.
    """

    def __init__(
        self,
        protocol: ResponseHandler,
        *,
        chunked: bool,
        compress: Optional[str],
        request: Optional["ClientRequest"] = None,
    ) -> None:
        self._protocol = protocol
        # Set only when the request is traced: each chunk written is reported.
        self._traced = request if request is not None and request._traces else None
        self.chunked = chunked
        self.buffer_size = 0
        self.output_size = 0
        self._compress: Any = None
        if compress is not None:
            import zlib

            wbits = 16 + zlib.MAX_WBITS if compress == "gzip" else zlib.MAX_WBITS
            self._compress = zlib.compressobj(wbits=wbits)

    def enable_chunking(self) -> None:
        self.chunked = True

    def enable_compression(self, encoding: str = "deflate", strategy: Optional[int] = None) -> None:
        import zlib

        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self._compress = zlib.compressobj(wbits=wbits)

    def _send(self, data: bytes) -> None:
        if not data:
            return
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            raise ClientConnectionResetError("Cannot write to closing transport")
        if self.chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self.output_size += len(data)
        transport.write(data)

    async def write(self, chunk: Union[bytes, bytearray, memoryview]) -> None:
        data = bytes(chunk)
        if self._compress is not None:
            self._send(self._compress.compress(data))
        else:
            self._send(data)
        await self._protocol.drain()
        if self._traced is not None and data:
            await self._traced._trace_chunk_sent(data)

    async def write_eof(self, chunk: bytes = b"") -> None:
        if chunk:
            data = self._compress.compress(chunk) if self._compress is not None else chunk
            self._send(data)
        if self._compress is not None:
            self._send(self._compress.flush())
            self._compress = None
        if self.chunked:
            transport = self._protocol.transport
            if transport is not None and not transport.is_closing():
                transport.write(b"0\r\n\r\n")
        await self._protocol.drain()
        if self._traced is not None and chunk:
            await self._traced._trace_chunk_sent(bytes(chunk))

    async def drain(self) -> None:
        await self._protocol.drain()


class ClientRequest:
    """One HTTP request as it will be sent; middlewares may change it before sending."""

    DEFAULT_HEADERS = {hdrs.ACCEPT: "*/*", hdrs.ACCEPT_ENCODING: _ACCEPT_ENCODING}
    POST_METHODS = frozenset({hdrs.METH_PATCH, hdrs.METH_POST, hdrs.METH_PUT})
    ALL_METHODS = hdrs.METH_ALL

    body: Any = b""
    auth: Optional[BasicAuth] = None
    response: Optional["ClientResponse"] = None

    def __init__(
        self,
        method: str,
        url: URL,
        *,
        params: Any = None,
        headers: Any = None,
        skip_auto_headers: Optional[Iterable[str]] = None,
        data: Any = None,
        cookies: Any = None,
        auth: Optional[BasicAuth] = None,
        version: HttpVersion = HttpVersion11,
        compress: Union[str, bool, None] = None,
        chunked: Optional[bool] = None,
        expect100: bool = False,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        response_class: Optional[type["ClientResponse"]] = None,
        timer: Any = None,
        session: Optional["ClientSession"] = None,
        ssl: Union[ssl.SSLContext, bool, None] = True,
        server_hostname: Optional[str] = None,
        traces: Any = None,
        json_serialize: Callable[[Any], str] = json.dumps,
    ) -> None:
        if not _TOKEN_RE.match(method):
            raise ValueError(f"Method cannot contain non-token characters {method!r}")
        if ssl is None:
            ssl = True
        self.method = method.upper()
        self._loop = loop if loop is not None else asyncio.get_event_loop()
        self.original_url = url
        if isinstance(params, str) and params:
            # A string is sent as given (aiohttp's documented behaviour): no requoting.
            query = f"{url.raw_query_string}&{params}" if url.raw_query_string else params
            url = URL(f"{url.with_fragment(None).with_query(None)}?{query}", encoded=True)
        elif params:
            url = url.extend_query(params)
        self.url = url.with_fragment(None)
        self.version = version
        self.chunked = chunked
        self.compress = compress
        self.ssl = ssl
        self.server_hostname = server_hostname
        self.response_class: type[ClientResponse] = response_class or ClientResponse
        self._session = session
        self._timer = timer
        self._traces: Sequence[Trace] = traces or ()
        self._json_serialize = json_serialize
        self._writer_task: Optional[asyncio.Task[None]] = None
        self._expect100 = expect100
        if self.url.raw_host is None:
            raise InvalidURL(url, "URL has no host")
        self.headers: CIMultiDict[str] = CIMultiDict()
        self._update_auto_headers(headers, skip_auto_headers)
        self.update_cookies(cookies)
        self.update_auth(auth)
        self._set_body(data)
        if expect100:
            self.headers[hdrs.EXPECT] = "100-continue"

    def __repr__(self) -> str:
        return f"<ClientRequest({self.method} {self.url})>"

    # -- the target -------------------------------------------------------------

    @property
    def host(self) -> str:
        host = self.url.raw_host
        assert host is not None
        return host

    @property
    def port(self) -> Optional[int]:
        return self.url.port

    def is_ssl(self) -> bool:
        return self.url.scheme in ("https", "wss")

    @property
    def connection_key(self) -> ConnectionKey:
        return ConnectionKey(self.host, self.port, self.is_ssl(), self.ssl, None, None, None)

    @property
    def request_info(self) -> RequestInfo:
        return RequestInfo(self.url, self.method, CIMultiDictProxy(self.headers), self.original_url)

    @property
    def session(self) -> Optional["ClientSession"]:
        return self._session

    # -- headers ------------------------------------------------------------------

    def _update_auto_headers(self, headers: Any, skip_auto_headers: Optional[Iterable[str]]) -> None:
        if headers:
            items = headers.items() if isinstance(headers, (Mapping, MultiDictProxy, MultiDict)) else headers
            for key, value in items:
                self.headers.add(key, value)
        skip = {istr(h) for h in skip_auto_headers} if skip_auto_headers else set()
        self.skip_auto_headers = frozenset(skip)
        for name, value in self.DEFAULT_HEADERS.items():
            if name not in skip and name not in self.headers:
                self.headers[name] = value
        if hdrs.HOST not in skip and hdrs.HOST not in self.headers:
            url = self.url
            host = url.raw_host or ""
            if ":" in host:
                host = f"[{host}]"
            if not url.is_default_port() and url.port is not None:
                host = f"{host}:{url.port}"
            self.headers[hdrs.HOST] = host
        if hdrs.USER_AGENT not in skip and hdrs.USER_AGENT not in self.headers:
            self.headers[hdrs.USER_AGENT] = _USER_AGENT

    def update_cookies(self, cookies: Any) -> None:
        """Add cookies (a mapping, pairs or a BaseCookie) to the Cookie header."""
        if not cookies:
            return
        parts: list[str] = []
        existing = self.headers.get(hdrs.COOKIE)
        if existing:
            parts.append(existing)
        items = cookies.items() if isinstance(cookies, Mapping) else cookies
        for name, value in items:
            if isinstance(value, Morsel):
                parts.append(f"{value.key}={value.coded_value}")
            else:
                morsel: Morsel[str] = Morsel()
                morsel.set(name, value, SimpleCookie().value_encode(value)[1])
                parts.append(f"{name}={morsel.coded_value}")
        self.headers[hdrs.COOKIE] = "; ".join(parts)

    def update_auth(self, auth: Optional[BasicAuth], trust_env: bool = False) -> None:
        if auth is None:
            auth = self.auth
        if auth is None:
            return
        if not isinstance(auth, BasicAuth):
            raise TypeError("auth must be an aiohttp.BasicAuth instance")
        self.auth = auth
        self.headers[hdrs.AUTHORIZATION] = auth.encode()

    # -- body -----------------------------------------------------------------------

    def _set_body(self, data: Any) -> None:
        self.body = b""
        self._body_size: Optional[int] = 0
        if data is None or data == b"":
            if self.method in self.POST_METHODS and hdrs.CONTENT_LENGTH not in self.headers:
                self.headers[hdrs.CONTENT_LENGTH] = "0"
            return
        content_type: Optional[str] = None
        if isinstance(data, (bytes, bytearray, memoryview)):
            body: Any = bytes(data)
            content_type = "application/octet-stream"
        elif isinstance(data, str):
            body = data.encode("utf-8")
            content_type = "text/plain; charset=utf-8"
        elif isinstance(data, (Mapping, MultiDictProxy, MultiDict)) or (
            isinstance(data, (list, tuple)) and all(isinstance(p, tuple) and len(p) == 2 for p in data)
        ):
            pairs = list(data.items()) if not isinstance(data, (list, tuple)) else list(data)
            if any(isinstance(v, (io.IOBase, bytes)) or hasattr(v, "read") for _, v in pairs):
                formdata = _sibling("formdata")
                if formdata is None:
                    raise TypeError("sending files needs aiohttp.formdata, which is missing")
                body = formdata.FormData(pairs)()
            else:
                body = urlencode([(k, str(v)) for k, v in pairs], doseq=False).encode()
                content_type = "application/x-www-form-urlencoded"
        elif _is_formdata(data):
            body = data()
        elif isinstance(data, io.IOBase) or hasattr(data, "read"):
            body = data
        elif isinstance(data, AsyncIterable):
            body = data
        elif _is_payload(data):
            body = data
        else:
            raise TypeError(
                "data must be bytes, str, a dict or list of pairs, FormData, a payload, "
                f"an async iterable or a file object, not {type(data).__name__}"
            )
        if isinstance(body, bytes):
            self._body_size = len(body)
        elif _is_payload(body):
            self._body_size = body.size
            for key, value in body.headers.items():
                if key not in self.headers and key != hdrs.CONTENT_LENGTH:
                    self.headers[key] = value
        elif isinstance(body, io.IOBase) or hasattr(body, "read"):
            self._body_size = _file_size(body)
            name = getattr(body, "name", None)
            if content_type is None and isinstance(name, str):
                import mimetypes

                content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        else:
            self._body_size = None
        self.body = body
        if content_type is not None and hdrs.CONTENT_TYPE not in self.headers:
            if hdrs.CONTENT_TYPE not in self.skip_auto_headers:
                self.headers[hdrs.CONTENT_TYPE] = content_type
        self._set_framing_headers()

    def _set_framing_headers(self) -> None:
        if self.compress:
            encoding = self.compress if isinstance(self.compress, str) else "deflate"
            if hdrs.CONTENT_ENCODING in self.headers:
                raise ValueError("compress can not be set if Content-Encoding header is set")
            self.compress = encoding
            self.headers[hdrs.CONTENT_ENCODING] = encoding
            self.chunked = True
        if self.chunked and hdrs.CONTENT_LENGTH in self.headers:
            raise ValueError("chunked can not be set if Content-Length header is set")
        te = self.headers.get(hdrs.TRANSFER_ENCODING, "")
        if "chunked" in te.lower():
            if self.chunked is False:
                raise ValueError("chunked=False conflicts with Transfer-Encoding: chunked")
            self.chunked = True
        if self.chunked or (self._body_size is None and hdrs.CONTENT_LENGTH not in self.headers):
            self.chunked = True
            if self.version < HttpVersion11:
                raise ValueError("chunked transfer encoding needs HTTP/1.1")
            if "chunked" not in te.lower():
                self.headers[hdrs.TRANSFER_ENCODING] = "chunked"
        elif hdrs.CONTENT_LENGTH not in self.headers:
            self.headers[hdrs.CONTENT_LENGTH] = str(self._body_size)

    async def update_body(self, body: Any) -> None:
        """Replace the body (e.g. in a middleware that retries with new data)."""
        for name in (hdrs.CONTENT_LENGTH, hdrs.TRANSFER_ENCODING):
            self.headers.popall(name, None)
        self.chunked = None
        self._set_body(body)

    # -- sending --------------------------------------------------------------------

    def _head_bytes(self, force_close: bool) -> bytes:
        if force_close and hdrs.CONNECTION not in self.headers:
            self.headers[hdrs.CONNECTION] = "close"
        elif self.version == HttpVersion10 and hdrs.CONNECTION not in self.headers:
            self.headers[hdrs.CONNECTION] = "keep-alive"
        path = self.url.raw_path_qs or "/"
        lines = [f"{self.method} {path} HTTP/{self.version[0]}.{self.version[1]}\r\n"]
        for name, value in self.headers.items():
            if not _TOKEN_RE.match(name):
                raise ValueError(f"Header name {name!r} is not a valid HTTP token")
            if "\r" in value or "\n" in value or "\x00" in value:
                raise ValueError(f"Header {name!r} has a newline or NUL in its value")
            lines.append(f"{name}: {value}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("utf-8")

    async def send(self, conn: "Connection") -> "ClientResponse":
        """Write the request on ``conn`` and return the (not yet started) response."""
        protocol = conn.protocol
        assert protocol is not None
        head = self._head_bytes(force_close=conn._connector.force_close)
        transport = protocol.transport
        if transport is None or transport.is_closing():
            raise ClientConnectionResetError("Cannot write to closing transport")
        body = self.body
        if isinstance(body, bytes) and not self.compress:
            if self.chunked and body:
                head += b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
            elif self.chunked:
                head += b"0\r\n\r\n"
            else:
                head += body
            transport.write(head)
            protocol.start_timeout()
            if self._traces:
                await self._trace_headers_sent()
                if body:
                    await self._trace_chunk_sent(body)
        else:
            transport.write(head)
            if self._traces:
                await self._trace_headers_sent()
            self._writer_task = self._loop.create_task(self._write_body(protocol))
        response = self.response_class(
            self.method,
            self.original_url,
            writer=self._writer_task,
            continue100=None,
            timer=self._timer,
            request_info=self.request_info,
            traces=self._traces,
            loop=self._loop,
            session=self._session,
        )
        self.response = response
        return response

    async def _trace_headers_sent(self) -> None:
        await send_traces(
            self._traces,
            TraceConfig.on_request_headers_sent,
            TraceRequestHeadersSentParams(self.method, self.url, self.headers),
        )

    async def _trace_chunk_sent(self, chunk: bytes) -> None:
        await send_traces(
            self._traces,
            TraceConfig.on_request_chunk_sent,
            TraceRequestChunkSentParams(self.method, self.url, chunk),
        )

    async def _write_body(self, protocol: ResponseHandler) -> None:
        writer = _BodyWriter(
            protocol,
            chunked=bool(self.chunked),
            compress=self.compress if isinstance(self.compress, str) else None,
            request=self,
        )
        body = self.body
        try:
            if isinstance(body, bytes):
                await writer.write(body)
            elif _is_payload(body):
                await body.write(writer)
            elif isinstance(body, io.IOBase) or hasattr(body, "read"):
                while True:
                    chunk = await self._loop.run_in_executor(None, body.read, 2**16)
                    if not chunk:
                        break
                    await writer.write(chunk.encode() if isinstance(chunk, str) else chunk)
            else:
                async for chunk in body:
                    await writer.write(chunk.encode() if isinstance(chunk, str) else chunk)
            await writer.write_eof()
        except OSError as exc:
            if protocol.exception() is None:
                err = ClientOSError(exc.errno, f"Can not write request body for {self.url}")
                err.__cause__ = exc
                protocol.set_exception(err)
        except asyncio.CancelledError:
            protocol.close()
            raise
        except Exception as exc:
            if protocol.exception() is None:
                protocol.set_exception(exc)
        else:
            protocol.start_timeout()

    async def close(self) -> None:
        """Wait for (or stop) the body writer."""
        task = self._writer_task
        if task is not None and not task.done():
            try:
                await task
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) is not None and current.cancelling():
                    raise

    def terminate(self) -> None:
        task = self._writer_task
        if task is not None and not task.done():
            task.cancel()
        self._writer_task = None


def _file_size(fobj: Any) -> Optional[int]:
    try:
        return os.fstat(fobj.fileno()).st_size - fobj.tell()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    if isinstance(fobj, (io.BytesIO, io.StringIO)):
        pos = fobj.tell()
        size = fobj.seek(0, io.SEEK_END) - pos
        fobj.seek(pos)
        return size if isinstance(fobj, io.BytesIO) else None
    return None


def _utf8_fallback(response: "ClientResponse", body: bytes) -> str:
    return "utf-8"


class ClientResponse(HeadersMixin):
    """The status, headers and body of a response; read the body once, then release."""

    version: Optional[HttpVersion] = None
    status: int = None  # type: ignore[assignment]
    reason: Optional[str] = None
    content: StreamReader = None  # type: ignore[assignment]
    _body: Optional[bytes] = None
    _headers: "CIMultiDictProxy[str]" = None  # type: ignore[assignment]
    _raw_headers: tuple[tuple[bytes, bytes], ...] = ()
    _connection: Optional["Connection"] = None
    _closed = True
    _released = False

    def __init__(
        self,
        method: str,
        url: URL,
        *,
        writer: "Optional[asyncio.Task[None]]",
        continue100: "Optional[asyncio.Future[bool]]",
        timer: Any,
        request_info: RequestInfo,
        traces: Any,
        loop: asyncio.AbstractEventLoop,
        session: Optional["ClientSession"],
    ) -> None:
        self.method = method
        self._real_url = url
        self._url = url.with_fragment(None) if url.raw_fragment else url
        self._writer = writer
        self._continue = continue100
        self._request_info = request_info
        self._timer = timer
        self._traces = traces
        self._loop = loop
        self._session = session
        self._history: tuple[ClientResponse, ...] = ()
        self._cookies: Optional[SimpleCookie] = None
        self._total_handle: Optional[asyncio.TimerHandle] = None
        self._resolve_charset: Callable[[ClientResponse, bytes], str] = (
            session._resolve_charset if session is not None else _utf8_fallback
        )

    def __repr__(self) -> str:
        return f"<ClientResponse({self.url}) [{self.status} {self.reason}]>\n{self.headers!r}\n"

    # -- attributes -------------------------------------------------------------

    @property
    def url(self) -> URL:
        return self._url

    @property
    def real_url(self) -> URL:
        return self._real_url

    @property
    def host(self) -> str:
        host = self._url.host
        assert host is not None
        return host

    @property
    def headers(self) -> "CIMultiDictProxy[str]":
        return self._headers

    @property
    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        return self._raw_headers

    @property
    def request_info(self) -> RequestInfo:
        return self._request_info

    @property
    def history(self) -> tuple["ClientResponse", ...]:
        """Responses to the requests that redirected to this one, oldest first."""
        return self._history

    @property
    def ok(self) -> bool:
        """True when status is below 400."""
        return self.status < 400

    @property
    def connection(self) -> Optional["Connection"]:
        return self._connection

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def content_disposition(self) -> Optional[MappingProxyType[str, str]]:
        raw = self._headers.get(hdrs.CONTENT_DISPOSITION)
        if raw is None:
            return None
        from .helpers import parse_content_type

        _, params = parse_content_type("x/x;" + raw.partition(";")[2])
        return MappingProxyType(params)

    @property
    def cookies(self) -> SimpleCookie:
        """Cookies the response set (its Set-Cookie headers)."""
        if self._cookies is None:
            cookies = SimpleCookie()
            if self._headers is not None:
                for header in self._headers.getall(hdrs.SET_COOKIE, ()):
                    with contextlib.suppress(CookieError):
                        cookies.load(header)
            self._cookies = cookies
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: SimpleCookie) -> None:
        self._cookies = cookies

    def get_encoding(self) -> str:
        """The body's charset, else the session's fallback_charset_resolver's answer."""
        charset = self.charset
        if charset:
            with contextlib.suppress(LookupError, ValueError):
                return codecs.lookup(charset).name
        mimetype = self.content_type
        if mimetype == "application/json" or _JSON_RE.match(mimetype):
            return "utf-8"
        if self._body is None:
            raise RuntimeError("Cannot compute fallback encoding of a not yet read body")
        return self._resolve_charset(self, self._body)

    # -- life cycle -----------------------------------------------------------------

    async def start(self, connection: "Connection") -> "ClientResponse":
        """Wait for the status line and headers; called by the session."""
        self._closed = False
        self._connection = connection
        protocol = connection.protocol
        assert protocol is not None
        try:
            message, payload = await protocol.read()
        except HttpProcessingError as exc:
            raise ClientResponseError(
                self.request_info,
                self.history,
                status=exc.code,
                message=exc.message,
                headers=exc.headers,
            ) from exc
        self.version = message.version
        self.status = message.code
        self.reason = message.reason
        self._headers = message.headers
        self._raw_headers = message.raw_headers
        self.content = payload
        if payload is EMPTY_PAYLOAD or payload.is_eof():
            self._response_eof()
        else:
            payload.on_eof(self._response_eof)
        return self

    def _arm_total_timeout(self, deadline: Optional[float]) -> None:
        """Bound body reads by the rest of the ``total`` timeout."""
        if deadline is None or self._connection is None:
            return
        if self.content is EMPTY_PAYLOAD or self.content.is_eof():
            return
        self._total_handle = self._loop.call_at(deadline, self._on_total_timeout)

    def _on_total_timeout(self) -> None:
        self._total_handle = None
        conn = self._connection
        if conn is not None and conn.protocol is not None:
            conn.protocol.set_exception(TimeoutError())

    def _cancel_total_timeout(self) -> None:
        if self._total_handle is not None:
            self._total_handle.cancel()
            self._total_handle = None

    def _response_eof(self) -> None:
        """The body is fully received: give the connection back to the pool."""
        if self._closed:
            return
        self._cancel_total_timeout()
        conn = self._connection
        if conn is not None:
            self._connection = None
            if self._writer is not None and not self._writer.done():
                # The server answered before the upload ended: the connection is spent.
                self._cleanup_writer()
                conn.close()
            else:
                conn.release()
        self._closed = True

    def _cleanup_writer(self) -> None:
        if self._writer is not None:
            if not self._writer.done():
                self._writer.cancel()
            self._writer = None

    def release(self) -> Any:
        """Give the connection back (closing it if the body was not fully read)."""
        if not self._released:
            self._notify_content()
        self._closed = True
        self._released = True
        self._cancel_total_timeout()
        self._cleanup_writer()
        conn = self._connection
        if conn is not None:
            self._connection = None
            conn.release()
        return _noop()

    def close(self) -> None:
        """Close the connection at once, whatever was read."""
        if not self._released:
            self._notify_content()
        self._closed = True
        self._cancel_total_timeout()
        self._cleanup_writer()
        conn = self._connection
        if conn is not None:
            self._connection = None
            conn.close()

    def _notify_content(self) -> None:
        content = self.content
        if content is not None and content is not EMPTY_PAYLOAD and content.exception() is None:
            if not content.is_eof():
                content.set_exception(ClientConnectionResetError("Connection closed"))
        self._released = True

    async def wait_for_close(self) -> None:
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        self.release()

    def raise_for_status(self) -> None:
        """Raise ClientResponseError when status is 400 or more (releasing first)."""
        if self.status >= 400:
            assert self.reason is not None
            self.release()
            raise ClientResponseError(
                self.request_info,
                self.history,
                status=self.status,
                message=self.reason,
                headers=self.headers,
            )

    # -- the body ----------------------------------------------------------------------

    async def read(self) -> bytes:
        """The whole body (cached, so it may be called again)."""
        if self._body is None:
            try:
                self._body = await self.content.read()
            except BaseException:
                self.close()
                raise
            if self._traces and self._body:
                await send_traces(
                    self._traces,
                    TraceConfig.on_response_chunk_received,
                    TraceResponseChunkReceivedParams(self.method, self._url, self._body),
                )
        return self._body

    async def text(self, encoding: Optional[str] = None, errors: str = "strict") -> str:
        """The body decoded with ``encoding``, the charset, or the fallback resolver."""
        if self._body is None:
            await self.read()
        assert self._body is not None
        if encoding is None:
            encoding = self.get_encoding()
        return self._body.decode(encoding, errors=errors)

    async def json(
        self,
        *,
        encoding: Optional[str] = None,
        loads: JSONDecoder = DEFAULT_JSON_DECODER,
        content_type: Optional[str] = "application/json",
    ) -> Any:
        """Decode the body as JSON; an empty body gives None."""
        if self._body is None:
            await self.read()
        assert self._body is not None
        if content_type:
            ctype = self.content_type
            ok = _JSON_RE.match(ctype) is not None if content_type == "application/json" else (
                content_type in ctype
            )
            if not ok:
                raise ContentTypeError(
                    self.request_info,
                    self.history,
                    status=self.status,
                    message=f"Attempt to decode JSON with unexpected mimetype: {ctype}",
                    headers=self.headers,
                )
        stripped = self._body.strip()
        if not stripped:
            return None
        if encoding is None:
            encoding = self.get_encoding()
        return loads(stripped.decode(encoding))

    # -- context manager ----------------------------------------------------------------

    async def __aenter__(self) -> "ClientResponse":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        self.release()
        await self.wait_for_close()

    def __del__(self) -> None:
        if self._closed or self._connection is None:
            return
        conn, self._connection = self._connection, None
        if self._loop.is_closed():
            return
        conn.release()
        if self._loop.get_debug():
            warnings.warn(f"Unclosed response {self!r}", ResourceWarning, source=self, stacklevel=1)


class _noop:
    """release() returns this so that the old ``await resp.release()`` still works."""

    def __await__(self) -> Any:
        yield from ()

