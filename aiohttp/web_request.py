"""What a handler receives: BaseRequest (low level) and Request (with routing info)."""

import asyncio
import datetime
import io
import json
import re
import socket
import string
import tempfile
import types
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final, Optional, TypeVar, Union, cast, overload
from urllib.parse import parse_qsl

import attr
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from yarl import URL

from . import hdrs
from .abc import AbstractStreamWriter
from .helpers import (
    ETAG_ANY,
    LIST_QUOTED_ETAG_RE,
    ETag,
    HeadersMixin,
    RequestKey,
    parse_http_date,
    reify,
    sentinel,
)
from .http_parser import RawRequestMessage, target_text
from .http_writer import HttpVersion
from .streams import EmptyStreamReader, StreamReader
from .typedefs import DEFAULT_JSON_DECODER, JSONDecoder, LooseHeaders, RawHeaders, StrOrURL
from .web_exceptions import HTTPBadRequest, HTTPRequestEntityTooLarge, HTTPUnsupportedMediaType

if TYPE_CHECKING:
    from .web_app import Application
    from .web_protocol import RequestHandler
    from .web_response import StreamResponse
    from .web_urldispatcher import UrlMappingMatchInfo

__all__ = ("BaseRequest", "FileField", "Request")

_T = TypeVar("_T")
_U = TypeVar("_U")


@attr.s(auto_attribs=True, frozen=True, slots=True)
class FileField:
    """An uploaded file from a multipart form."""

    name: str
    filename: str
    file: io.BufferedReader
    content_type: str
    headers: "CIMultiDictProxy[str]"


_TCHAR: Final = string.digits + string.ascii_letters + r"!#$%&'*+.^_`|~-"
_TOKEN: Final = rf"[{re.escape(_TCHAR)}]+"
_QDTEXT: Final = r"[{}]".format(r"".join(chr(c) for c in (0x09, 0x20, 0x21) + tuple(range(0x23, 0x7F))))
_QUOTED_PAIR: Final = r"\\[\t !-~]"
_QUOTED_STRING: Final = rf'"(?:{_QUOTED_PAIR}|{_QDTEXT})*"'
_FORWARDED_PAIR: Final = rf"({_TOKEN})=({_TOKEN}|{_QUOTED_STRING})(:\d{{1,4}})?"
_QUOTED_PAIR_REPLACE_RE: Final = re.compile(r"\\([\t !-~])")
_FORWARDED_PAIR_RE: Final = re.compile(_FORWARDED_PAIR)


_COOKIE_NAME_RE: Final = re.compile(rf"^{_TOKEN}$")
_COOKIE_ESCAPE_RE: Final = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def _unquote_cookie(value: str) -> str:
    """Undo the quoting ``http.cookies`` applies: surrounding quotes, octal and backslash escapes."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return _COOKIE_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2), value[1:-1])


def parse_cookie_header(values: "Iterator[str] | tuple[str, ...] | list[str]") -> dict[str, str]:
    """Name to value for ``Cookie`` header values (RFC 6265 5.4), first occurrence wins.

    Pairs without ``=`` or with an invalid name are skipped, so one bad cookie set by
    some other site on the domain does not hide the rest.
    """
    cookies: dict[str, str] = {}
    for header in values:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or not name or not _COOKIE_NAME_RE.match(name) or name in cookies:
                continue
            cookies[name] = _unquote_cookie(value.strip())
    return cookies


class RequestJSONDecodeError(HTTPBadRequest, json.JSONDecodeError):
    """``request.json()`` got invalid JSON: catchable as ``json.JSONDecodeError``, else a 400."""

    def __init__(self, error: json.JSONDecodeError) -> None:
        HTTPBadRequest.__init__(self, text=f"Request body is not valid JSON: {error}")
        self.msg, self.doc, self.pos = error.msg, error.doc, error.pos
        self.lineno, self.colno = error.lineno, error.colno

    def __str__(self) -> str:
        return f"{self.msg}: line {self.lineno} column {self.colno} (char {self.pos})"

    __hash__ = HTTPBadRequest.__hash__


def peer_address(peername: Any) -> Optional[str]:
    """``request.remote`` from a transport's ``peername``: the IP, a socket path, or None."""
    if isinstance(peername, (list, tuple)):
        return str(peername[0])
    return peername if peername else None


class BaseRequest(MutableMapping[str, Any], HeadersMixin):
    """An incoming HTTP request, with lazily computed views of its parts."""

    POST_METHODS: Final = {
        hdrs.METH_PATCH,
        hdrs.METH_POST,
        hdrs.METH_PUT,
        hdrs.METH_TRACE,
        hdrs.METH_DELETE,
    }

    _post: Optional[MultiDictProxy[Union[str, bytes, FileField]]] = None
    _read_bytes: Optional[bytes] = None
    #: ``(header name, id)`` echoed on the response when request ids are on.
    _echo_header: Optional[tuple[str, str]] = None
    _disconnection_waiters: Optional[set["asyncio.Future[None]"]] = None

    def __init__(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: "RequestHandler",
        payload_writer: AbstractStreamWriter,
        task: "asyncio.Task[None]",
        loop: asyncio.AbstractEventLoop,
        *,
        client_max_size: int = 1024**2,
        state: Optional[dict[str, Any]] = None,
        scheme: Optional[str] = None,
        host: Optional[str] = None,
        remote: Optional[str] = None,
    ) -> None:
        self._message = message
        self._protocol = protocol
        self._payload_writer = payload_writer
        self._payload = payload
        self._headers = message.headers
        self._method = message.method
        self._loop = loop
        self._task = task
        self._client_max_size = client_max_size
        self._state = {} if state is None else state
        self._cache: dict[str, Any] = {}
        url = message.url
        if url.absolute:
            if scheme is not None:
                url = url.with_scheme(scheme)
            if host is not None:
                url = url.with_host(host)
            self._cache["url"] = url
            self._cache["host"] = url.host
            self._cache["scheme"] = url.scheme
            self._rel_url = url.relative()
        else:
            self._rel_url = url
            if scheme is not None:
                self._cache["scheme"] = scheme
            if host is not None:
                self._cache["host"] = host
        if remote is not None:
            self._cache["remote"] = remote

    def clone(
        self,
        *,
        method: Union[str, Any] = sentinel,
        rel_url: Union[StrOrURL, Any] = sentinel,
        headers: Union[LooseHeaders, Any] = sentinel,
        scheme: Union[str, Any] = sentinel,
        host: Union[str, Any] = sentinel,
        remote: Union[str, Any] = sentinel,
        client_max_size: Union[int, Any] = sentinel,
    ) -> "BaseRequest":
        """A copy with some parts replaced; the body stream is shared."""
        if self._read_bytes:
            raise RuntimeError("Cannot clone request after reading its content")
        changes: dict[str, Any] = {}
        if method is not sentinel:
            changes["method"] = method
        if rel_url is not sentinel:
            new_url = URL(rel_url)
            changes["url"] = new_url
            changes["path"] = str(new_url)
        if headers is not sentinel:
            new_headers = CIMultiDictProxy(CIMultiDict(headers))
            changes["headers"] = new_headers
            changes["raw_headers"] = tuple(
                (k.encode("utf-8"), v.encode("utf-8")) for k, v in new_headers.items()
            )
        message = self._message._replace(**changes)
        kwargs: dict[str, Any] = {}
        if scheme is not sentinel:
            kwargs["scheme"] = scheme
        if host is not sentinel:
            kwargs["host"] = host
        if remote is not sentinel:
            kwargs["remote"] = remote
        if client_max_size is sentinel:
            client_max_size = self._client_max_size
        clone = self.__class__(
            message,
            self._payload,
            self._protocol,
            self._payload_writer,
            self._task,
            self._loop,
            client_max_size=client_max_size,
            state=self._state.copy(),
            **kwargs,
        )
        clone._echo_header = self._echo_header
        return clone

    # -- connection ---------------------------------------------------------

    @property
    def task(self) -> "asyncio.Task[None]":
        return self._task

    @property
    def protocol(self) -> "RequestHandler":
        return self._protocol

    @property
    def transport(self) -> Optional[asyncio.Transport]:
        return self._protocol.transport

    @property
    def writer(self) -> AbstractStreamWriter:
        return self._payload_writer

    @property
    def client_max_size(self) -> int:
        return self._client_max_size

    @property
    def message(self) -> RawRequestMessage:
        return self._message

    @property
    def rel_url(self) -> URL:
        return self._rel_url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Transport information, e.g. ``peername``, ``sslcontext``."""
        transport = self._protocol.transport
        return default if transport is None else transport.get_extra_info(name, default)

    # -- per-request state mapping ----------------------------------------

    @overload
    def __getitem__(self, key: RequestKey[_T]) -> _T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: Any) -> Any:
        return self._state[key]

    @overload
    def get(self, key: RequestKey[_T], default: None = None) -> Optional[_T]: ...
    @overload
    def get(self, key: RequestKey[_T], default: _U) -> Union[_T, _U]: ...
    @overload
    def get(self, key: str, default: Any = None) -> Any: ...
    def get(self, key: Any, default: Any = None) -> Any:
        return self._state.get(key, default)

    @overload
    def __setitem__(self, key: RequestKey[_T], value: _T) -> None: ...
    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __setitem__(self, key: Any, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._state[key]

    def __contains__(self, key: object) -> bool:
        return key in self._state

    def __len__(self) -> int:
        return len(self._state)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._state)

    # -- request line and URL ---------------------------------------------

    @reify
    def secure(self) -> bool:
        return self.scheme == "https"

    @reify
    def forwarded(self) -> tuple[Mapping[str, str], ...]:
        """The parsed ``Forwarded`` header (RFC 7239), one mapping per hop."""
        elems: list[Mapping[str, str]] = []
        for field_value in self._message.headers.getall(hdrs.FORWARDED, ()):
            length = len(field_value)
            pos = 0
            need_separator = False
            elem: dict[str, str] = {}
            elems.append(types.MappingProxyType(elem))
            while 0 <= pos < length:
                match = _FORWARDED_PAIR_RE.match(field_value, pos)
                if match is not None:
                    if need_separator:
                        pos = field_value.find(",", pos)
                    else:
                        name, value, port = match.groups()
                        if value[0] == '"':
                            value = _QUOTED_PAIR_REPLACE_RE.sub(r"\1", value[1:-1])
                        if port:
                            value += port
                        elem[name.lower()] = value
                        pos += len(match.group(0))
                        need_separator = True
                elif field_value[pos] == ",":
                    need_separator = False
                    elem = {}
                    elems.append(types.MappingProxyType(elem))
                    pos += 1
                elif field_value[pos] == ";":
                    need_separator = False
                    pos += 1
                elif field_value[pos] in " \t":
                    pos += 1
                else:
                    pos = field_value.find(",", pos)
        return tuple(elems)

    @reify
    def scheme(self) -> str:
        """``https`` when the connection uses TLS, else ``http``."""
        return "https" if self._protocol.get_extra_info("sslcontext") else "http"

    @property
    def method(self) -> str:
        return self._method

    @property
    def version(self) -> HttpVersion:
        return self._message.version

    @reify
    def host(self) -> str:
        """The Host header, or this machine's FQDN when the client sent none."""
        host = self._message.headers.get(hdrs.HOST)
        if host is not None:
            return host
        return socket.getfqdn()

    @reify
    def remote(self) -> Optional[str]:
        """The peer's address: IP for TCP, the socket path for unix sockets."""
        return peer_address(self._protocol.get_extra_info("peername"))

    @reify
    def url(self) -> URL:
        return URL.build(scheme=self.scheme, authority=self.host).join(self._rel_url)

    @property
    def path(self) -> str:
        return self._rel_url.path

    @reify
    def path_qs(self) -> str:
        return target_text(self._message.path, self._rel_url)

    @property
    def raw_path(self) -> str:
        return self._message.path

    @reify
    def query(self) -> "MultiDictProxy[str]":
        return self._rel_url.query

    @reify
    def query_string(self) -> str:
        return self._rel_url.query_string

    @property
    def headers(self) -> "CIMultiDictProxy[str]":
        return self._headers  # type: ignore[return-value]

    @property
    def raw_headers(self) -> RawHeaders:
        return self._message.raw_headers

    # -- conditional and range headers ------------------------------------

    @reify
    def if_modified_since(self) -> Optional[datetime.datetime]:
        return parse_http_date(self.headers.get(hdrs.IF_MODIFIED_SINCE))

    @reify
    def if_unmodified_since(self) -> Optional[datetime.datetime]:
        return parse_http_date(self.headers.get(hdrs.IF_UNMODIFIED_SINCE))

    @staticmethod
    def _etag_values(etag_header: str) -> Iterator[ETag]:
        if etag_header == ETAG_ANY:
            yield ETag(is_weak=False, value=ETAG_ANY)
            return
        for match in LIST_QUOTED_ETAG_RE.finditer(etag_header):
            is_weak, value, garbage = match.group(2, 3, 4)
            if garbage:
                break  # a malformed list: what came before it still counts
            yield ETag(is_weak=bool(is_weak), value=value)

    @classmethod
    def _if_match_or_none_impl(cls, header_value: Optional[str]) -> Optional[tuple[ETag, ...]]:
        if not header_value:
            return None
        return tuple(cls._etag_values(header_value))

    @reify
    def if_match(self) -> Optional[tuple[ETag, ...]]:
        return self._if_match_or_none_impl(self.headers.get(hdrs.IF_MATCH))

    @reify
    def if_none_match(self) -> Optional[tuple[ETag, ...]]:
        return self._if_match_or_none_impl(self.headers.get(hdrs.IF_NONE_MATCH))

    @reify
    def if_range(self) -> Optional[datetime.datetime]:
        return parse_http_date(self.headers.get(hdrs.IF_RANGE))

    @property
    def keep_alive(self) -> bool:
        return not self._message.should_close

    @reify
    def cookies(self) -> Mapping[str, str]:
        """Cookies the client sent, name to value; malformed pairs are skipped, not fatal."""
        return types.MappingProxyType(parse_cookie_header(self._headers.getall(hdrs.COOKIE, ())))

    @reify
    def http_range(self) -> slice:
        """The ``Range: bytes=`` header as a slice; ValueError when it is malformed."""
        rng = self._headers.get(hdrs.RANGE)
        start, end = None, None
        if rng is not None:
            try:
                pattern = r"^bytes=(\d*)-(\d*)$"
                start_s, end_s = re.findall(pattern, rng)[0]
            except IndexError:
                raise ValueError("range not in acceptable format")
            end = int(end_s) if end_s else None
            start = int(start_s) if start_s else None
            if start is None and end is not None:
                start = -end  # a suffix range: the last `end` bytes
                end = None
            if start is not None and end is not None:
                end += 1  # HTTP ranges are inclusive
                if start >= end:
                    raise ValueError("start cannot be after end")
            if start is end is None:
                raise ValueError("No start or end of range specified")
        return slice(start, end, 1)

    # -- body -------------------------------------------------------------

    @property
    def content(self) -> StreamReader:
        return self._payload

    @property
    def has_body(self) -> bool:
        """Deprecated spelling of ``can_read_body``."""
        warnings.warn("has_body is deprecated, use can_read_body", DeprecationWarning, stacklevel=2)
        return not self._payload.at_eof()

    @property
    def can_read_body(self) -> bool:
        return not self._payload.at_eof()

    @reify
    def body_exists(self) -> bool:
        return type(self._payload) is not EmptyStreamReader

    async def release(self) -> None:
        """Read and drop the rest of the body."""
        while not self._payload.at_eof():
            await self._payload.readany()

    async def read(self) -> bytes:
        """The whole body; 413 when it exceeds ``client_max_size``."""
        if self._read_bytes is None:
            max_size = self._client_max_size
            self._check_declared_size()
            body = bytearray()
            while True:
                chunk = await self._payload.readany()
                body.extend(chunk)
                if max_size and len(body) > max_size:
                    raise HTTPRequestEntityTooLarge(max_size=max_size, actual_size=len(body))
                if not chunk:
                    break
            self._read_bytes = bytes(body)
        return self._read_bytes

    async def text(self) -> str:
        body = await self.read()
        encoding = self.charset or "utf-8"
        try:
            return body.decode(encoding)
        except LookupError:
            raise HTTPUnsupportedMediaType(text=f"Unsupported charset {encoding!r}")
        except UnicodeDecodeError:
            raise HTTPBadRequest(text=f"Request body is not valid {encoding}")

    async def json(self, *, loads: JSONDecoder = DEFAULT_JSON_DECODER) -> Any:
        """The body decoded by ``loads``.

        Invalid JSON raises :class:`RequestJSONDecodeError`: a ``json.JSONDecodeError``
        for handlers that catch it, and a 400 response when nobody does.
        """
        body = await self.text()
        try:
            return loads(body)
        except json.JSONDecodeError as exc:
            raise RequestJSONDecodeError(exc) from exc

    async def multipart(self) -> Any:
        """A MultipartReader over the body."""
        from .multipart import MultipartReader

        return MultipartReader(self._headers, self._payload)

    async def post(self) -> "MultiDictProxy[Union[str, bytes, FileField]]":
        """Form fields from an urlencoded or multipart body; files become FileFields.

        The body counts against ``client_max_size`` (413); a malformed one gets 400.
        """
        if self._post is not None:
            return self._post
        if self._method not in self.POST_METHODS:
            self._post = MultiDictProxy(MultiDict())
            return self._post
        content_type = self.content_type
        if content_type not in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
            self._post = MultiDictProxy(MultiDict())
            return self._post
        out: MultiDict[Union[str, bytes, FileField]] = MultiDict()
        if content_type == "multipart/form-data":
            self._check_declared_size()
            await self._read_multipart_form(out)
        else:
            data = await self.read()
            if data:
                charset = self.charset or "utf-8"
                try:
                    pairs = parse_qsl(
                        data.rstrip().decode(charset),
                        keep_blank_values=True,
                        encoding=charset,
                        errors="strict",
                    )
                except (UnicodeDecodeError, LookupError, ValueError):
                    raise HTTPBadRequest(text="Malformed urlencoded form body")
                out.extend(pairs)
        self._post = MultiDictProxy(out)
        return self._post

    def _check_declared_size(self) -> None:
        """413 at once when Content-Length already says the body is too large."""
        max_size = self._client_max_size
        declared = self.content_length
        if max_size and declared is not None and declared > max_size:
            raise HTTPRequestEntityTooLarge(max_size=max_size, actual_size=declared)

    async def _read_multipart_form(self, out: "MultiDict[Union[str, bytes, FileField]]") -> None:
        from .multipart import BodyPartReader

        max_size = self._client_max_size
        size = 0
        files: list[Any] = []
        try:
            reader = await self.multipart()
            field = await reader.next()
            while field is not None:
                if not isinstance(field, BodyPartReader):
                    raise HTTPBadRequest(text="Nested multipart is not supported in forms")
                field_ct = field.headers.get(hdrs.CONTENT_TYPE)
                name = field.name or ""
                if field.filename is not None:
                    tmp = tempfile.TemporaryFile()
                    files.append(tmp)
                    chunk = await field.read_chunk(size=2**16)
                    while chunk:
                        chunk = field.decode(chunk)
                        size += len(chunk)
                        if 0 < max_size < size:
                            raise HTTPRequestEntityTooLarge(max_size=max_size, actual_size=size)
                        await self._loop.run_in_executor(None, tmp.write, chunk)
                        chunk = await field.read_chunk(size=2**16)
                    await self._loop.run_in_executor(None, tmp.seek, 0)
                    ff = FileField(
                        name,
                        field.filename,
                        cast(io.BufferedReader, tmp),
                        field_ct or "application/octet-stream",
                        field.headers,
                    )
                    out.add(name, ff)
                else:
                    value = bytearray()
                    chunk = await field.read_chunk(size=2**16)
                    while chunk:
                        value.extend(field.decode(chunk))
                        if 0 < max_size < size + len(value):
                            raise HTTPRequestEntityTooLarge(max_size=max_size, actual_size=size + len(value))
                        chunk = await field.read_chunk(size=2**16)
                    size += len(value)
                    if field_ct is None or field_ct.startswith("text/"):
                        charset = field.get_charset(default="utf-8")
                        out.add(name, value.decode(charset))
                    else:
                        out.add(name, bytes(value))
                field = await reader.next()
        except (HTTPBadRequest, HTTPRequestEntityTooLarge):
            for tmp in files:
                tmp.close()
            raise
        except (ValueError, LookupError, UnicodeDecodeError, AssertionError) as exc:
            for tmp in files:
                tmp.close()
            raise HTTPBadRequest(text=f"Malformed multipart body: {exc}")

    # -- misc -------------------------------------------------------------

    def __repr__(self) -> str:
        ascii_encodable_path: str = self.path.encode("ascii", "backslashreplace").decode("ascii")
        return f"<{self.__class__.__name__} {self._method} {ascii_encodable_path} >"

    def __eq__(self, other: object) -> bool:
        return id(self) == id(other)

    def __bool__(self) -> bool:
        return True

    def __hash__(self) -> int:
        return id(self)

    async def _prepare_hook(self, response: "StreamResponse") -> None:
        return

    def _needs_prepare_hook(self) -> bool:
        """Whether ``_prepare_hook`` has anything to run (on_response_prepare handlers)."""
        return False

    async def wait_for_disconnection(self) -> None:
        """Return once the client has closed the connection this request came on."""
        if self._protocol.transport is None:
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        if self._disconnection_waiters is None:
            self._disconnection_waiters = set()
        self._disconnection_waiters.add(fut)
        try:
            await fut
        finally:
            self._disconnection_waiters.discard(fut)

    def _peer_closed(self) -> None:
        """The connection ended (or the client half-closed it): wake wait_for_disconnection()."""
        for fut in self._disconnection_waiters or ():
            if not fut.done():
                fut.set_result(None)

    def _cancel(self, exc: BaseException) -> None:
        self._payload.set_exception(exc)
        self._peer_closed()

    def _finish(self) -> None:
        if self._post is None or self.content_type != "multipart/form-data":
            return
        for _, value in self._post.items():
            if isinstance(value, FileField):
                value.file.close()


class Request(BaseRequest):
    """A request routed through an Application: adds match_info, app and config_dict."""

    _match_info: Optional["UrlMappingMatchInfo"] = None

    def clone(
        self,
        *,
        method: Union[str, Any] = sentinel,
        rel_url: Union[StrOrURL, Any] = sentinel,
        headers: Union[LooseHeaders, Any] = sentinel,
        scheme: Union[str, Any] = sentinel,
        host: Union[str, Any] = sentinel,
        remote: Union[str, Any] = sentinel,
        client_max_size: Union[int, Any] = sentinel,
    ) -> "Request":
        new_req = super().clone(
            method=method,
            rel_url=rel_url,
            headers=headers,
            scheme=scheme,
            host=host,
            remote=remote,
            client_max_size=client_max_size,
        )
        new_req = cast(Request, new_req)
        new_req._match_info = self._match_info
        return new_req

    @property
    def match_info(self) -> "UrlMappingMatchInfo":
        """What the router matched: dynamic path parts, the route, the apps."""
        match_info = self._match_info
        assert match_info is not None
        return match_info

    @property
    def app(self) -> "Application":
        """The application that handles the request (the innermost sub-app)."""
        match_info = self._match_info
        assert match_info is not None
        return match_info.current_app

    @property
    def config_dict(self) -> Any:
        """Lookups that fall back from the current app to its parents."""
        from .helpers import ChainMapProxy

        match_info = self._match_info
        assert match_info is not None
        lst = match_info.apps
        app = self.app
        idx = lst.index(app)
        sublist = list(reversed(lst[: idx + 1]))
        return ChainMapProxy(sublist)

    def _needs_prepare_hook(self) -> bool:
        match_info = self._match_info
        if match_info is None:
            return False
        for app in match_info._apps:
            if app._has_prepare_hooks:
                return True
        return False

    async def _prepare_hook(self, response: "StreamResponse") -> None:
        match_info = self._match_info
        if match_info is None:
            return
        for app in match_info._apps:
            if app.on_response_prepare:
                await app.on_response_prepare.send(self, response)
