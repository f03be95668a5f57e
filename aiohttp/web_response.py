"""What a handler returns: StreamResponse (streamed), Response (whole body), json_response."""

import asyncio
import datetime
import enum
import json
import math
import zlib
from collections.abc import Iterator, MutableMapping
from concurrent.futures import Executor
from http import HTTPStatus
from http.cookies import Morsel, SimpleCookie
from typing import TYPE_CHECKING, Any, Final, Optional, TypeVar, Union, overload

from multidict import CIMultiDict, istr

from . import hdrs, json_text
from .abc import AbstractStreamWriter
from .helpers import (
    ETAG_ANY,
    QUOTED_ETAG_RE,
    ETag,
    HeadersMixin,
    ResponseKey,
    format_http_date,
    must_be_empty_body,
    parse_accept_encoding,
    parse_http_date,
    remember,
    sentinel,
    should_remove_content_length,
    validate_etag_value,
)
from .http_writer import (
    HttpVersion10,
    HttpVersion11,
    StreamWriter,
    add_field,
    http_date,
    serialize_fields,
)
from .typedefs import JSONEncoder, LooseHeaders

if TYPE_CHECKING:
    from .web_request import BaseRequest

__all__ = ("ContentCoding", "StreamResponse", "Response", "json_response")

_T = TypeVar("_T")

SERVER_SOFTWARE: Final = "Python/3 aiohttp/3.14.0+deploy"
REASONS: Final[dict[int, str]] = {s.value: s.phrase for s in HTTPStatus}
_STATUS_LINES_11: Final[dict[int, str]] = {
    code: f"HTTP/1.1 {code} {phrase}" for code, phrase in REASONS.items()
}
LARGE_BODY_SIZE: Final = 1024**2


class ContentCoding(enum.Enum):
    """Codings ``enable_compression`` can apply; brotli needs the Brotli package."""

    deflate = "deflate"
    gzip = "gzip"
    identity = "identity"
    br = "br"


class _Morsel(Morsel[str]):
    """A Morsel that also knows the ``Partitioned`` flag (CHIPS), built in only from 3.14."""

    _reserved = {**Morsel._reserved, "partitioned": "Partitioned"}  # type: ignore[attr-defined]
    _flags = Morsel._flags | {"partitioned"}  # type: ignore[attr-defined]


def _brotli_available() -> bool:
    try:
        import brotli  # noqa: F401
    except ImportError:
        return False
    return True


class StreamResponse(MutableMapping[str, Any], HeadersMixin):
    """A response whose body the handler writes after ``await prepare(request)``."""

    _body: Any = None
    _length_check = True
    _headers: "CIMultiDict[str]"
    # Defaults live on the class so that a plain response costs few attribute stores.
    _keep_alive: Optional[bool] = None
    _chunked = False
    _compression = False
    _compression_strategy = zlib.Z_DEFAULT_STRATEGY
    _compression_force: Optional[ContentCoding] = None
    _cookies: Optional[SimpleCookie] = None
    _req: Optional["BaseRequest"] = None
    _payload_writer: Optional[AbstractStreamWriter] = None
    _eof_sent = False
    _must_be_empty_body: Optional[bool] = None
    _body_length = 0
    #: Bytes written for this response, status line and headers included (access log %b).
    _sent_bytes = 0
    _state: Optional[dict[str, Any]] = None

    def __init__(
        self,
        *,
        status: int = 200,
        reason: Optional[str] = None,
        headers: Optional[LooseHeaders] = None,
        _real_headers: Optional["CIMultiDict[str]"] = None,
    ) -> None:
        if _real_headers is not None:
            self._headers = _real_headers
        elif headers is not None:
            self._headers = CIMultiDict(headers)
        else:
            self._headers = CIMultiDict()
        if reason is None and status.__class__ is int and 100 <= status <= 999:
            self._status = status
            self._reason = REASONS.get(status, "")
        else:
            self.set_status(status, reason)

    # -- identity and state ------------------------------------------------

    @property
    def prepared(self) -> bool:
        return self._eof_sent or self._payload_writer is not None

    @property
    def task(self) -> "Optional[asyncio.Task[None]]":
        return self._req.task if self._req is not None else None

    @property
    def status(self) -> int:
        return self._status

    @property
    def reason(self) -> str:
        return self._reason

    def set_status(self, status: int, reason: Optional[str] = None) -> None:
        """Change the status before the headers are sent."""
        if self.prepared:
            raise AssertionError("Cannot change the response status code after the headers have been sent")
        if not isinstance(status, int) or isinstance(status, bool):
            raise TypeError(f"status must be an int, not {status!r}")
        if not 100 <= status <= 999:
            raise ValueError(f"status must be in 100..999, not {status}")
        self._status = status
        if reason is None:
            reason = REASONS.get(status, "")
        elif "\n" in reason or "\r" in reason:
            raise ValueError("reason cannot contain \\n or \\r")
        self._reason = reason

    @property
    def keep_alive(self) -> Optional[bool]:
        return self._keep_alive

    def force_close(self) -> None:
        """Close the connection after this response."""
        self._keep_alive = False

    @property
    def body_length(self) -> int:
        return self._body_length

    @property
    def output_length(self) -> int:
        return self._payload_writer.buffer_size if self._payload_writer else 0

    @property
    def chunked(self) -> bool:
        return self._chunked

    @property
    def compression(self) -> bool:
        return self._compression

    def enable_chunked_encoding(self, chunk_size: Optional[int] = None) -> None:
        """Send the body with chunked transfer coding (HTTP/1.1 only)."""
        if hdrs.CONTENT_LENGTH in self._headers:
            raise RuntimeError("You can't enable chunked encoding when a content length is set")
        if chunk_size is not None:
            raise ValueError("chunk_size is not supported; chunks are as large as each write")
        self._chunked = True

    def enable_compression(
        self, force: Optional[Union[bool, ContentCoding]] = None, strategy: Optional[int] = None
    ) -> None:
        """Compress the body with the best coding the client accepts, or ``force``."""
        if isinstance(force, bool):
            force = ContentCoding.deflate if force else ContentCoding.identity
        elif force is not None and not isinstance(force, ContentCoding):
            raise TypeError(f"force must be a ContentCoding, bool or None, not {force!r}")
        self._compression = True
        self._compression_force = force
        if strategy is not None:
            self._compression_strategy = strategy

    @property
    def headers(self) -> "CIMultiDict[str]":
        return self._headers

    @property
    def cookies(self) -> SimpleCookie:
        if self._cookies is None:
            self._cookies = SimpleCookie()
        return self._cookies

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        expires: Optional[str] = None,
        domain: Optional[str] = None,
        max_age: Optional[Union[int, str]] = None,
        path: str = "/",
        secure: Optional[bool] = None,
        httponly: Optional[bool] = None,
        version: Optional[str] = None,
        samesite: Optional[str] = None,
        partitioned: Optional[bool] = None,
    ) -> None:
        """Add a Set-Cookie header; ``max_age``/``expires`` as RFC 6265 says."""
        cookies = self.cookies
        old = cookies.get(name)
        if old is not None and old.coded_value == "":
            cookies.pop(name, None)  # a deleted cookie being set again
            old = None
        c = old if isinstance(old, _Morsel) else _Morsel()
        real_value, coded_value = cookies.value_encode(value)
        c.set(name, real_value, coded_value)
        dict.__setitem__(cookies, name, c)
        if expires is not None:
            c["expires"] = expires
        elif c.get("expires") == "Thu, 01 Jan 1970 00:00:00 GMT":
            del c["expires"]
        if domain is not None:
            c["domain"] = domain
        if max_age is not None:
            c["max-age"] = str(max_age)
        elif "max-age" in c:
            del c["max-age"]
        c["path"] = path
        if secure is not None:
            c["secure"] = secure
        if httponly is not None:
            c["httponly"] = httponly
        if version is not None:
            c["version"] = version
        if samesite is not None:
            c["samesite"] = samesite
        if partitioned is not None:
            c["partitioned"] = partitioned

    def del_cookie(
        self,
        name: str,
        *,
        domain: Optional[str] = None,
        path: str = "/",
        secure: Optional[bool] = None,
        httponly: Optional[bool] = None,
        samesite: Optional[str] = None,
        partitioned: Optional[bool] = None,
    ) -> None:
        """Tell the client to drop a cookie (empty value, expired)."""
        self.cookies.pop(name, None)
        self.set_cookie(
            name,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            domain=domain,
            path=path,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    @property
    def content_length(self) -> Optional[int]:
        return super().content_length

    @content_length.setter
    def content_length(self, value: Optional[int]) -> None:
        if value is not None:
            value = int(value)
            if self._chunked:
                raise RuntimeError("You can't set content length when chunked encoding is enabled")
            self._headers[hdrs.CONTENT_LENGTH] = str(value)
        else:
            self._headers.pop(hdrs.CONTENT_LENGTH, None)

    @property
    def content_type(self) -> str:
        return super().content_type

    @content_type.setter
    def content_type(self, value: str) -> None:
        self.content_type  # noqa: B018  (parses the current header so parameters are kept)
        self._content_type = str(value)
        self._generate_content_type_header()

    @property
    def charset(self) -> Optional[str]:
        return super().charset

    @charset.setter
    def charset(self, value: Optional[str]) -> None:
        ctype = self.content_type
        if ctype == "application/octet-stream":
            raise RuntimeError(
                "Setting charset for application/octet-stream doesn't make sense, setup content_type first"
            )
        assert self._content_dict is not None
        if value is None:
            self._content_dict.pop("charset", None)
        else:
            self._content_dict["charset"] = str(value).lower()
        self._generate_content_type_header()

    @property
    def last_modified(self) -> Optional[datetime.datetime]:
        return parse_http_date(self._headers.get(hdrs.LAST_MODIFIED))

    @last_modified.setter
    def last_modified(self, value: Optional[Union[int, float, datetime.datetime, str]]) -> None:
        if value is None:
            self._headers.pop(hdrs.LAST_MODIFIED, None)
        elif isinstance(value, (int, float)):
            self._headers[hdrs.LAST_MODIFIED] = format_http_date(math.ceil(value))
        elif isinstance(value, datetime.datetime):
            self._headers[hdrs.LAST_MODIFIED] = format_http_date(value.timestamp())
        elif isinstance(value, str):
            self._headers[hdrs.LAST_MODIFIED] = value
        else:
            raise TypeError(f"last_modified must be a number, datetime, str or None, not {value!r}")

    @property
    def etag(self) -> Optional[ETag]:
        quoted = self._headers.get(hdrs.ETAG)
        if not quoted:
            return None
        if quoted == ETAG_ANY:
            return ETag(value=ETAG_ANY)
        match = QUOTED_ETAG_RE.fullmatch(quoted)
        if not match:
            return None
        is_weak, value = match.group(1, 2)
        return ETag(is_weak=bool(is_weak), value=value)

    @etag.setter
    def etag(self, value: Optional[Union[ETag, str]]) -> None:
        if value is None:
            self._headers.pop(hdrs.ETAG, None)
        elif (isinstance(value, str) and value == ETAG_ANY) or (
            isinstance(value, ETag) and value.value == ETAG_ANY
        ):
            self._headers[hdrs.ETAG] = ETAG_ANY
        elif isinstance(value, str):
            validate_etag_value(value)
            self._headers[hdrs.ETAG] = f'"{value}"'
        elif isinstance(value, ETag) and isinstance(value.value, str):
            validate_etag_value(value.value)
            hdr_value = f'W/"{value.value}"' if value.is_weak else f'"{value.value}"'
            self._headers[hdrs.ETAG] = hdr_value
        else:
            raise ValueError(f"Unsupported etag type: {type(value)}. etag must be str, ETag or None")

    def _generate_content_type_header(self, CONTENT_TYPE: istr = hdrs.CONTENT_TYPE) -> None:
        assert self._content_dict is not None
        assert self._content_type is not None
        params = "; ".join(f"{k}={v}" for k, v in self._content_dict.items())
        ctype = f"{self._content_type}; {params}" if params else self._content_type
        self._headers[CONTENT_TYPE] = ctype
        self._stored_content_type = ctype

    # -- sending -------------------------------------------------------------

    async def _do_start_compression(self, coding: ContentCoding) -> None:
        if coding is not ContentCoding.identity:
            assert self._payload_writer is not None
            self._headers[hdrs.CONTENT_ENCODING] = coding.value
            self._payload_writer.enable_compression(coding.value, self._compression_strategy)
            self._headers.popall(hdrs.CONTENT_LENGTH, None)
            if hdrs.VARY not in self._headers:
                self._headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING

    def _choose_coding(self, request: "BaseRequest") -> ContentCoding:
        if self._compression_force is not None:
            return self._compression_force
        accept = parse_accept_encoding(request.headers.get(hdrs.ACCEPT_ENCODING, ""))
        for coding in (ContentCoding.br, ContentCoding.gzip, ContentCoding.deflate):
            if coding.value in accept:
                if coding is ContentCoding.br and not _brotli_available():
                    continue
                return coding
        return ContentCoding.identity

    async def _start_compression(self, request: "BaseRequest") -> None:
        await self._do_start_compression(self._choose_coding(request))

    def _send_whole(self, request: "BaseRequest") -> bool:
        """Send the whole response now, without awaiting, if nothing needs an await.

        Only a Response with a small in-memory body qualifies; returns False (having
        changed nothing) whenever the ordinary ``prepare()`` + ``write_eof()`` is needed.
        """
        return False

    async def prepare(self, request: "BaseRequest") -> Optional[AbstractStreamWriter]:
        """Run on_response_prepare, then serialise the status line and headers."""
        if self._eof_sent:
            return None
        if self._payload_writer is not None:
            return self._payload_writer
        self._must_be_empty_body = must_be_empty_body(request.method, self._status)
        return await self._start(request)

    async def _start(self, request: "BaseRequest") -> AbstractStreamWriter:
        self._req = request
        writer = self._payload_writer = request._payload_writer
        await request._prepare_hook(self)
        if self._compression:
            await self._start_compression(request)
        self._prepare_headers()
        echo = self._echo_field(request)
        if echo is not None:
            self._headers[echo[0]] = echo[1]
        status_line = self._status_line(request.version)
        if writer.__class__ is StreamWriter and writer._on_headers_sent is None:
            writer.buffer_headers(status_line, self._headers)
        else:
            await writer.write_headers(status_line, self._headers)
        return writer

    def _prepare_headers(self) -> None:
        """Complete the headers: cookies, framing, Date, Server, Connection.

        The request id's field, when the server echoes one, comes last (``_echo_field``).
        """
        request = self._req
        assert request is not None
        writer = self._payload_writer
        assert writer is not None
        keep_alive = self._keep_alive
        message = request._message
        if keep_alive is None:
            keep_alive = not message.should_close
        self._keep_alive = keep_alive
        version = message.version
        headers = self._headers
        if self._cookies:
            for cookie in self._cookies.values():
                headers.add(hdrs.SET_COOKIE, cookie.output(header="")[1:])
        empty_body = self._must_be_empty_body
        if self._chunked:
            if version != HttpVersion11:
                raise RuntimeError(f"Using chunked encoding is forbidden for HTTP/{version.major}.{version.minor}")
            if not empty_body:
                writer.enable_chunking()
                headers[hdrs.TRANSFER_ENCODING] = "chunked"
        else:
            declared = headers.get(hdrs.CONTENT_LENGTH)
            writer.length = int(declared) if declared is not None else None
            if declared is None and not empty_body:
                # No length known up front: chunked on HTTP/1.1, close-delimited on 1.0.
                if version >= HttpVersion11:
                    writer.enable_chunking()
                    headers[hdrs.TRANSFER_ENCODING] = "chunked"
                else:
                    keep_alive = False
        if empty_body:
            if should_remove_content_length(request.method, self._status):
                headers.pop(hdrs.CONTENT_LENGTH, None)
            headers.pop(hdrs.TRANSFER_ENCODING, None)
        else:
            headers.setdefault(hdrs.CONTENT_TYPE, "application/octet-stream")
        headers.setdefault(hdrs.DATE, http_date())
        headers.setdefault(hdrs.SERVER, SERVER_SOFTWARE)
        if hdrs.CONNECTION not in headers:
            if keep_alive:
                if version == HttpVersion10:
                    headers[hdrs.CONNECTION] = "keep-alive"
            elif version == HttpVersion11:
                headers[hdrs.CONNECTION] = "close"
        self._keep_alive = keep_alive

    def _echo_field(self, request: "BaseRequest") -> Optional[tuple[str, str]]:
        """The request id field to add after the others; None if off or the handler set it."""
        echo = request._echo_header
        if echo is None or echo[0] in self._headers:
            return None
        return echo

    def _status_line(self, version: Any) -> str:
        status = self._status
        if version == HttpVersion11:
            if self._reason == REASONS.get(status):
                return _STATUS_LINES_11[status]
            return f"HTTP/1.1 {status} {self._reason}"
        return f"HTTP/{version.major}.{version.minor} {status} {self._reason}"

    async def write(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Send a body chunk (after ``prepare``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        if self._eof_sent:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._payload_writer is None:
            raise RuntimeError("Cannot call write() before prepare()")
        if self._must_be_empty_body:
            return
        self._body_length += len(data)
        await self._payload_writer.write(bytes(data))

    async def drain(self) -> None:
        assert not self._eof_sent, "EOF has already been sent"
        assert self._payload_writer is not None, "Response has not been started"
        await self._payload_writer.drain()

    async def write_eof(self, data: Union[bytes, bytearray, memoryview] = b"") -> None:
        """Finish the response."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        if self._eof_sent:
            return
        assert self._payload_writer is not None, "Response has not been started"
        if self._must_be_empty_body:
            data = b""
        self._body_length += len(data)
        writer = self._payload_writer
        await writer.write_eof(bytes(data))
        self._sent_bytes = getattr(writer, "output_size", 0)
        self._eof_sent = True
        self._req = None
        self._payload_writer = None

    def __repr__(self) -> str:
        if self._eof_sent:
            info = "eof"
        elif self.prepared:
            assert self._req is not None
            info = f"{self._req.method} {self._req.path} "
        else:
            info = "not prepared"
        return f"<{self.__class__.__name__} {self.reason} {info}>"

    # -- per-response state mapping -----------------------------------------

    @overload
    def __getitem__(self, key: ResponseKey[_T]) -> _T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: Any) -> Any:
        if self._state is None:
            raise KeyError(key)
        return self._state[key]

    @overload
    def __setitem__(self, key: ResponseKey[_T], value: _T) -> None: ...
    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __setitem__(self, key: Any, value: Any) -> None:
        if self._state is None:
            self._state = {}
        self._state[key] = value

    def __delitem__(self, key: Any) -> None:
        if self._state is None:
            raise KeyError(key)
        del self._state[key]

    def __len__(self) -> int:
        return 0 if self._state is None else len(self._state)

    def __iter__(self) -> Iterator[str]:
        return iter(()) if self._state is None else iter(self._state)

    def __hash__(self) -> int:
        return hash(id(self))

    def __eq__(self, other: object) -> bool:
        return self is other

    def __bool__(self) -> bool:
        return True


#: Heads of whole responses (``Response._whole_head``): serialised head, the fields that
#: preparing appended, the writer's length and keep-alive, by everything that decides them.
_WholeHead = tuple[bytes, tuple[tuple[str, str], ...], Optional[int], bool]
_WHOLE_HEADS: dict[tuple[Any, ...], _WholeHead] = {}
_WHOLE_HEADS_SIZE: Final = 256
_TEXT_PLAIN_UTF8: Final = "text/plain; charset=utf-8"
#: Bodies up to this size are sent by ``_send_whole`` without waiting for the transport.
_SEND_WHOLE_LIMIT: Final = 0x8000


class Response(StreamResponse):
    """A response with its whole body known up front; Content-Length is set for you."""

    _length_check = False
    _compressed_body: Optional[bytes] = None
    _zlib_executor_size: Optional[int] = None
    _zlib_executor: Optional[Executor] = None

    def __init__(
        self,
        *,
        body: Any = None,
        status: int = 200,
        reason: Optional[str] = None,
        text: Optional[str] = None,
        headers: Optional[LooseHeaders] = None,
        content_type: Optional[str] = None,
        charset: Optional[str] = None,
        zlib_executor_size: Optional[int] = None,
        zlib_executor: Optional[Executor] = None,
    ) -> None:
        if (
            text.__class__ is str
            and body is None
            and headers is None
            and charset is None
            and reason is None
            and status.__class__ is int
            and 100 <= status <= 999
            and (content_type is None or "charset" not in content_type)
        ):
            # The common case (text, maybe a content type) without the general checks.
            assert text is not None
            self._headers = CIMultiDict(
                ((hdrs.CONTENT_TYPE, _TEXT_PLAIN_UTF8 if content_type is None else f"{content_type}; charset=utf-8"),)
            )
            self._status = status
            self._reason = REASONS.get(status, "")
            self._body = text.encode("utf-8")
            if zlib_executor_size is not None:
                self._zlib_executor_size = zlib_executor_size
            if zlib_executor is not None:
                self._zlib_executor = zlib_executor
            return
        if body is not None and text is not None:
            raise ValueError("body and text are not allowed together")
        if headers is None:
            real_headers: CIMultiDict[str] = CIMultiDict()
        elif not isinstance(headers, CIMultiDict):
            real_headers = CIMultiDict(headers)
        else:
            real_headers = headers
        if content_type is not None and "charset" in content_type:
            raise ValueError("charset must not be in content_type argument")
        if text is not None:
            if hdrs.CONTENT_TYPE in real_headers:
                if content_type or charset:
                    raise ValueError(
                        "passing both Content-Type header and content_type or charset params is forbidden"
                    )
            else:
                if not isinstance(text, str):
                    raise TypeError(f"text argument must be str ({type(text)!r})")
                content_type = content_type or "text/plain"
                charset = charset or "utf-8"
                real_headers[hdrs.CONTENT_TYPE] = f"{content_type}; charset={charset}"
                body = text.encode(charset)
                text = None
        elif hdrs.CONTENT_TYPE in real_headers:
            if content_type is not None or charset is not None:
                raise ValueError(
                    "passing both Content-Type header and content_type or charset params is forbidden"
                )
        elif content_type is not None:
            real_headers[hdrs.CONTENT_TYPE] = (
                f"{content_type}; charset={charset}" if charset is not None else content_type
            )
        super().__init__(status=status, reason=reason, _real_headers=real_headers)
        if zlib_executor_size is not None:
            self._zlib_executor_size = zlib_executor_size
        if zlib_executor is not None:
            self._zlib_executor = zlib_executor
        if text is not None:
            self.text = text
        else:
            self.body = body

    @property
    def body(self) -> Any:
        return self._body

    @body.setter
    def body(self, body: Any) -> None:
        if body is None or isinstance(body, (bytes, bytearray)):
            self._body = body
        elif isinstance(body, memoryview):
            self._body = bytes(body)
        else:
            from . import payload

            try:
                self._body = body = payload.PAYLOAD_REGISTRY.get(body)
            except payload.LookupError:
                raise ValueError(f"Unsupported body type {type(body)!r}")
            headers = self._headers
            if hdrs.CONTENT_TYPE not in headers and body.content_type:
                headers[hdrs.CONTENT_TYPE] = body.content_type
            for key, value in body.headers.items():
                if key not in headers:
                    headers[key] = value
        self._compressed_body = None

    @property
    def text(self) -> Optional[str]:
        if self._body is None:
            return None
        if isinstance(self._body, (bytes, bytearray)):
            return self._body.decode(self.charset or "utf-8")
        return self._body.decode(self.charset or "utf-8")

    @text.setter
    def text(self, text: str) -> None:
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text argument must be str ({type(text)!r})")
        if self.content_type == "application/octet-stream":
            self.content_type = "text/plain"
        if self.charset is None:
            self.charset = "utf-8"
        self._body = text.encode(self.charset or "utf-8")
        self._compressed_body = None

    @property
    def content_length(self) -> Optional[int]:
        if self._chunked:
            return None
        if hdrs.CONTENT_LENGTH in self._headers:
            return int(self._headers[hdrs.CONTENT_LENGTH])
        if self._compressed_body is not None:
            return len(self._compressed_body)
        body = self._body
        if body is None:
            return 0
        if isinstance(body, (bytes, bytearray)):
            return len(body)
        return body.size

    @content_length.setter
    def content_length(self, value: Optional[int]) -> None:
        raise RuntimeError("Content length is set automatically")

    async def _start(self, request: "BaseRequest") -> AbstractStreamWriter:
        if not self._chunked and hdrs.CONTENT_LENGTH not in self._headers:
            if not self._must_be_empty_body or request.method == hdrs.METH_HEAD:
                body = self._body
                size = len(body) if body.__class__ is bytes else self.content_length
                if size is not None:
                    self._headers[hdrs.CONTENT_LENGTH] = str(size)
                elif request.version >= HttpVersion11:
                    self._chunked = True
        return await super()._start(request)

    def _send_whole(self, request: "BaseRequest") -> bool:
        if self._payload_writer is not None or self._eof_sent or self._compression or self._chunked:
            return False
        body = self._body
        if body is None:
            body = b""
        elif body.__class__ is not bytes or len(body) > _SEND_WHOLE_LIMIT:
            return False
        writer = request._payload_writer
        if (
            writer.__class__ is not StreamWriter
            or writer._on_headers_sent is not None
            or writer._on_chunk_sent is not None
            or request._needs_prepare_hook()
        ):
            return False
        self._req = request
        self._payload_writer = writer
        try:
            head = self._whole_head(request, len(body))
            if request._echo_header is not None:  # ids on: saves the call when they are off
                echo = self._echo_field(request)
                if echo is not None:
                    head = add_field(head, *echo)
                    self._headers[echo[0]] = echo[1]  # as the ordinary path leaves them
        except BaseException:
            # Leave the response unprepared, so the ordinary path meets (and reports) it.
            self._req = None
            self._payload_writer = None
            raise
        empty = self._must_be_empty_body
        if empty:
            body = b""
        self._body_length += len(body)
        self._eof_sent = True
        self._req = None
        self._payload_writer = None
        writer.send_whole(head, body)
        self._sent_bytes = writer.output_size
        return True

    def _whole_head(self, request: "BaseRequest", body_size: int) -> bytes:
        """The serialised head of a whole response, its headers completed as ``prepare`` would.

        A head seen before is reused: the same status, method, version, keep-alive inputs,
        body size, Date and handler-set fields always complete to the same fields, so those
        are appended as they were the first time and the writer gets the same length.
        """
        headers = self._headers
        message = request._message
        key: Optional[tuple[Any, ...]] = None
        known = None
        if not self._cookies:
            key = (
                self._status,
                self._reason,
                request._method,
                message.version,
                message.should_close,
                self._keep_alive,
                body_size,
                http_date(),
                *headers.items(),
            )
            known = _WHOLE_HEADS.get(key)
        if known is not None:
            head, added, length, self._keep_alive = known
            self._must_be_empty_body = False  # only heads with a body are remembered
            headers.extend(added)
            request._payload_writer.length = length
            return head
        empty = self._must_be_empty_body = must_be_empty_body(request._method, self._status)
        before = len(headers)
        if not empty or request._method == hdrs.METH_HEAD:
            headers.setdefault(hdrs.CONTENT_LENGTH, str(body_size))
        self._prepare_headers()
        fields = tuple(headers.items())
        head = serialize_fields(self._status_line(message.version), fields)
        # Remembered when completing only appended to the handler's fields (the end of the
        # key), as it does but for cookies and bodiless responses (which drop framing fields).
        if key is not None and not empty and fields[:before] == key[len(key) - before :]:
            entry: _WholeHead = (head, fields[before:], request._payload_writer.length, bool(self._keep_alive))
            remember(_WHOLE_HEADS, key, entry, _WHOLE_HEADS_SIZE)
        return head

    async def _do_start_compression(self, coding: ContentCoding) -> None:
        if self._chunked or self._body is None or not isinstance(self._body, (bytes, bytearray)):
            await super()._do_start_compression(coding)
            return
        if coding is ContentCoding.identity:
            return
        body = bytes(self._body)
        if coding is ContentCoding.br:
            import brotli

            compressed = brotli.compress(body)
        else:
            wbits = 16 + zlib.MAX_WBITS if coding is ContentCoding.gzip else zlib.MAX_WBITS
            size = self._zlib_executor_size if self._zlib_executor_size is not None else LARGE_BODY_SIZE
            if len(body) > size:
                loop = asyncio.get_running_loop()
                compressed = await loop.run_in_executor(
                    self._zlib_executor, _zlib_compress, body, wbits, self._compression_strategy
                )
            else:
                compressed = _zlib_compress(body, wbits, self._compression_strategy)
        self._compressed_body = compressed
        self._headers[hdrs.CONTENT_ENCODING] = coding.value
        self._headers[hdrs.CONTENT_LENGTH] = str(len(compressed))
        if hdrs.VARY not in self._headers:
            self._headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING

    async def write_eof(self, data: Union[bytes, bytearray, memoryview] = b"") -> None:
        if self._eof_sent:
            return
        body = self._compressed_body if self._compressed_body is not None else self._body
        writer = self._payload_writer
        if body.__class__ is bytes and not self._must_be_empty_body and writer is not None:
            self._body_length += len(body)
            await writer.write_eof(body)
            self._sent_bytes = writer.output_size
            self._eof_sent = True
            self._req = None
            self._payload_writer = None
            return
        if body is None or self._must_be_empty_body:
            await super().write_eof()
        elif isinstance(body, (bytes, bytearray)):
            await super().write_eof(body)
        else:
            writer = self._payload_writer
            assert writer is not None
            await body.write(writer)
            self._body_length += body.size or 0
            await super().write_eof()


def _zlib_compress(body: bytes, wbits: int, strategy: int) -> bytes:
    obj = zlib.compressobj(wbits=wbits, strategy=strategy)
    return obj.compress(body) + obj.flush()


def json_response(
    data: Any = sentinel,
    *,
    text: Optional[str] = None,
    body: Optional[bytes] = None,
    status: int = 200,
    reason: Optional[str] = None,
    headers: Optional[LooseHeaders] = None,
    content_type: str = "application/json",
    dumps: JSONEncoder = json.dumps,
) -> Response:
    """A Response whose body is ``dumps(data)``."""
    if data is not sentinel:
        if text or body:
            raise ValueError("only one of data, text, or body should be specified")
        text = json_text.dumps(data) if dumps is json_text.STD_DUMPS else dumps(data)
    return Response(
        text=text, body=body, status=status, reason=reason, headers=headers, content_type=content_type
    )

