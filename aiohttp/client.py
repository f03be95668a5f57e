"""ClientSession: the HTTP client's entry point, and the ``aiohttp.request()`` shortcut.

A request goes: build the URL and headers -> ClientRequest -> the middleware chain ->
the innermost handler (get a pooled connection, send, read the status and headers) ->
cookies stored -> redirects followed (each hop through the middlewares again) ->
``raise_for_status`` -> the response, whose body reads are bounded by the timeouts.
"""

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Sequence
from types import SimpleNamespace, TracebackType
from typing import Any, Optional, Union

import attr
from multidict import CIMultiDict, istr
from yarl import URL

from . import hdrs
from .client_exceptions import (
    ClientConnectionError,
    ClientConnectionResetError,
    ClientConnectorCertificateError,
    ClientConnectorDNSError,
    ClientConnectorError,
    ClientConnectorSSLError,
    ClientError,
    ClientHttpProxyError,
    ClientOSError,
    ClientPayloadError,
    ClientProxyConnectionError,
    ClientResponseError,
    ClientSSLError,
    ConnectionTimeoutError,
    ContentTypeError,
    InvalidURL,
    InvalidUrlClientError,
    InvalidUrlRedirectClientError,
    NonHttpUrlClientError,
    NonHttpUrlRedirectClientError,
    RedirectClientError,
    ServerConnectionError,
    ServerDisconnectedError,
    ServerFingerprintMismatch,
    ServerTimeoutError,
    SocketTimeoutError,
    TooManyRedirects,
    UnixClientConnectorError,
    WSServerHandshakeError,
)
from .client_middlewares import (
    ClientHandlerType,
    ClientMiddlewareType,
    build_client_middlewares,
)
from .client_proto import HttpVersion, HttpVersion10, HttpVersion11
from .client_reqrep import ClientRequest, ClientResponse, ConnectionKey, RequestInfo
from .connector import BaseConnector, Connection, TCPConnector, UnixConnector
from .cookiejar import AbstractCookieJar, CookieJar, DummyCookieJar
from .helpers import BasicAuth
from .tracing import (
    Trace,
    TraceConfig,
    TraceRequestEndParams,
    TraceRequestExceptionParams,
    TraceRequestRedirectParams,
    TraceRequestStartParams,
    make_traces,
    send_traces,
)
from .typedefs import JSONEncoder, StrOrURL

__all__ = (
    # exceptions
    "ClientConnectionError",
    "ClientConnectionResetError",
    "ClientConnectorCertificateError",
    "ClientConnectorDNSError",
    "ClientConnectorError",
    "ClientConnectorSSLError",
    "ClientError",
    "ClientHttpProxyError",
    "ClientOSError",
    "ClientPayloadError",
    "ClientProxyConnectionError",
    "ClientResponseError",
    "ClientSSLError",
    "ConnectionTimeoutError",
    "ContentTypeError",
    "InvalidURL",
    "InvalidUrlClientError",
    "InvalidUrlRedirectClientError",
    "NonHttpUrlClientError",
    "NonHttpUrlRedirectClientError",
    "RedirectClientError",
    "ServerConnectionError",
    "ServerDisconnectedError",
    "ServerFingerprintMismatch",
    "ServerTimeoutError",
    "SocketTimeoutError",
    "TooManyRedirects",
    "UnixClientConnectorError",
    "WSServerHandshakeError",
    # the rest
    "BaseConnector",
    "BasicAuth",
    "ClientHandlerType",
    "ClientMiddlewareType",
    "ClientRequest",
    "ClientResponse",
    "ClientSession",
    "ClientTimeout",
    "Connection",
    "ConnectionKey",
    "CookieJar",
    "DummyCookieJar",
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "RequestInfo",
    "TCPConnector",
    "UnixConnector",
    "request",
)


@attr.s(auto_attribs=True, frozen=True, slots=True)
class ClientTimeout:
    """Timeouts of a request, in seconds; None (or 0) means no limit.

    total: the whole operation, connecting through reading the body.
    connect: getting a connection (waiting for a pool slot included).
    sock_connect: connecting to one address.
    sock_read: the longest wait for new bytes from the server.
    """

    total: Optional[float] = None
    connect: Optional[float] = None
    sock_read: Optional[float] = None
    sock_connect: Optional[float] = None
    ceil_threshold: float = 5


DEFAULT_TIMEOUT = ClientTimeout(total=5 * 60, sock_connect=30)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTTP_SCHEMES = frozenset({"http", "https"})
_sentinel: Any = object()
_FALLBACK_CHARSET: Callable[[ClientResponse, bytes], str] = lambda resp, body: "utf-8"  # noqa: E731


def _positive_or_none(value: Optional[float]) -> Optional[float]:
    return value if value else None


def _build_url(base_url: Optional[URL], str_or_url: StrOrURL, *, redirect: bool = False) -> URL:
    try:
        url = URL(str_or_url)
    except (ValueError, TypeError) as exc:
        cls = InvalidUrlRedirectClientError if redirect else InvalidUrlClientError
        raise cls(str_or_url, str(exc)) from exc
    if base_url is not None and not url.absolute:
        url = base_url.join(url)
    return url


def _check_target(url: URL, *, redirect: bool) -> None:
    if url.scheme not in _HTTP_SCHEMES:
        if not url.absolute:
            cls: type[InvalidUrlClientError] = (
                InvalidUrlRedirectClientError if redirect else InvalidUrlClientError
            )
            raise cls(url, "URL is not absolute")
        raise (NonHttpUrlRedirectClientError if redirect else NonHttpUrlClientError)(url)
    if not url.raw_host:
        cls = InvalidUrlRedirectClientError if redirect else InvalidUrlClientError
        raise cls(url, "URL has no host")


def _merge_headers(defaults: "CIMultiDict[str]", headers: Any) -> "CIMultiDict[str]":
    result: CIMultiDict[str] = CIMultiDict(defaults)
    if headers:
        given: CIMultiDict[str] = CIMultiDict(headers)
        for key in given.keys():
            result.popall(key, None)
        result.extend(given)
    return result


class ClientSession:
    """A connection pool, cookie jar and defaults shared by the requests made through it."""

    ATTRS = frozenset(
        {
            "_base_url",
            "_connector",
            "_loop",
            "_cookie_jar",
            "_connector_owner",
            "_default_auth",
            "_version",
            "_json_serialize",
            "_requote_redirect_url",
            "_timeout",
            "_raise_for_status",
            "_auto_decompress",
            "_trust_env",
            "_default_headers",
            "_skip_auto_headers",
            "_request_class",
            "_response_class",
            "_ws_response_class",
            "_trace_configs",
            "_read_bufsize",
            "_max_line_size",
            "_max_field_size",
            "_max_headers",
            "_resolve_charset",
            "_middlewares",
            "_request_id_header",
        }
    )

    _connector: Optional[BaseConnector] = None

    def __init__(
        self,
        base_url: Optional[StrOrURL] = None,
        *,
        connector: Optional[BaseConnector] = None,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        cookies: Any = None,
        headers: Any = None,
        skip_auto_headers: Optional[Iterable[str]] = None,
        auth: Optional[BasicAuth] = None,
        json_serialize: JSONEncoder = json.dumps,
        request_class: type[ClientRequest] = ClientRequest,
        response_class: type[ClientResponse] = ClientResponse,
        ws_response_class: Any = None,
        version: HttpVersion = HttpVersion11,
        cookie_jar: Optional[AbstractCookieJar] = None,
        connector_owner: bool = True,
        raise_for_status: Union[bool, Callable[[ClientResponse], Awaitable[None]]] = False,
        timeout: Union[ClientTimeout, Any] = _sentinel,
        auto_decompress: bool = True,
        trust_env: bool = False,
        requote_redirect_url: bool = True,
        trace_configs: Optional[list[TraceConfig]] = None,
        middlewares: Sequence[ClientMiddlewareType] = (),
        read_bufsize: int = 2**16,
        max_line_size: int = 8190,
        max_field_size: int = 8190,
        max_headers: int = 128,
        fallback_charset_resolver: Callable[[ClientResponse, bytes], str] = _FALLBACK_CHARSET,
        ssl_shutdown_timeout: Any = _sentinel,
        propagate_request_id: Union[bool, str] = False,
    ) -> None:
        if base_url is None or isinstance(base_url, URL):
            self._base_url: Optional[URL] = base_url
        else:
            self._base_url = URL(base_url)
        if self._base_url is not None:
            if not self._base_url.absolute:
                raise ValueError("base_url must be an absolute URL, e.g. 'http://example.com/'")
            if self._base_url.path and not self._base_url.path.endswith("/"):
                raise ValueError("base_url must end with '/' when it has a path")
        if timeout is _sentinel or timeout is None:
            timeout = DEFAULT_TIMEOUT
        if not isinstance(timeout, ClientTimeout):
            raise TypeError(
                f"timeout parameter cannot be of {type(timeout)} type, "
                "please use 'timeout=ClientTimeout(...)'"
            )
        for name, value in (
            ("read_bufsize", read_bufsize),
            ("max_line_size", max_line_size),
            ("max_field_size", max_field_size),
            ("max_headers", max_headers),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if auth is not None and not isinstance(auth, BasicAuth):
            raise TypeError("auth must be an aiohttp.BasicAuth instance or None")
        for trace_config in trace_configs or ():
            if not isinstance(trace_config, TraceConfig):
                raise TypeError(
                    f"trace_configs must be a list of aiohttp.TraceConfig, got {trace_config!r}"
                )
        if loop is None:
            if connector is not None:
                loop = connector._loop
            else:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    loop = asyncio.get_event_loop()
        self._loop = loop
        if connector is None:
            connector = TCPConnector(loop=loop)
        elif not isinstance(connector, BaseConnector):
            raise TypeError(f"connector must be a BaseConnector, got {type(connector).__name__}")
        if connector._loop is not loop:
            raise RuntimeError("Session and connector have to use the same event loop")
        self._connector = connector
        self._connector_owner = connector_owner
        self._cookie_jar: AbstractCookieJar = cookie_jar if cookie_jar is not None else CookieJar()
        if cookies:
            self._cookie_jar.update_cookies(cookies)
        self._default_auth = auth
        self._version = version
        self._json_serialize = json_serialize
        self._timeout: ClientTimeout = timeout
        self._raise_for_status = raise_for_status
        self._auto_decompress = auto_decompress
        self._trust_env = trust_env
        self._requote_redirect_url = requote_redirect_url
        self._default_headers: CIMultiDict[str] = CIMultiDict(headers) if headers else CIMultiDict()
        self._skip_auto_headers = frozenset(istr(h) for h in skip_auto_headers or ())
        self._request_class = request_class
        self._response_class = response_class
        self._ws_response_class = ws_response_class
        self._trace_configs = trace_configs or []
        for trace_config in self._trace_configs:
            trace_config.freeze()
        self._read_bufsize = read_bufsize
        self._max_line_size = max_line_size
        self._max_field_size = max_field_size
        self._max_headers = max_headers
        self._resolve_charset = fallback_charset_resolver
        self._middlewares = tuple(middlewares)
        if propagate_request_id is True:
            self._request_id_header: Optional[str] = "X-Request-ID"
        elif propagate_request_id:
            self._request_id_header = str(propagate_request_id)
        else:
            self._request_id_header = None

    def __init_subclass__(cls: type["ClientSession"]) -> None:
        warnings.warn(
            f"Inheritance class {cls.__name__} from ClientSession is discouraged",
            DeprecationWarning,
            stacklevel=2,
        )

    def __repr__(self) -> str:
        return f"<ClientSession base_url={self._base_url} closed={self.closed}>"

    def __del__(self, _warnings: Any = warnings) -> None:
        if not self.closed:
            _warnings.warn(f"Unclosed client session {self!r}", ResourceWarning, source=self)

    # -- requests ---------------------------------------------------------------

    def request(self, method: str, url: StrOrURL, **kwargs: Any) -> "_RequestContextManager":
        """Perform an HTTP request; use as ``async with`` or await it."""
        return _RequestContextManager(self._request(method, url, **kwargs))

    def get(self, url: StrOrURL, *, allow_redirects: bool = True, **kwargs: Any) -> "_RequestContextManager":
        return _RequestContextManager(
            self._request(hdrs.METH_GET, url, allow_redirects=allow_redirects, **kwargs)
        )

    def options(
        self, url: StrOrURL, *, allow_redirects: bool = True, **kwargs: Any
    ) -> "_RequestContextManager":
        return _RequestContextManager(
            self._request(hdrs.METH_OPTIONS, url, allow_redirects=allow_redirects, **kwargs)
        )

    def head(self, url: StrOrURL, *, allow_redirects: bool = False, **kwargs: Any) -> "_RequestContextManager":
        return _RequestContextManager(
            self._request(hdrs.METH_HEAD, url, allow_redirects=allow_redirects, **kwargs)
        )

    def post(self, url: StrOrURL, *, data: Any = None, **kwargs: Any) -> "_RequestContextManager":
        return _RequestContextManager(self._request(hdrs.METH_POST, url, data=data, **kwargs))

    def put(self, url: StrOrURL, *, data: Any = None, **kwargs: Any) -> "_RequestContextManager":
        return _RequestContextManager(self._request(hdrs.METH_PUT, url, data=data, **kwargs))

    def patch(self, url: StrOrURL, *, data: Any = None, **kwargs: Any) -> "_RequestContextManager":
        return _RequestContextManager(self._request(hdrs.METH_PATCH, url, data=data, **kwargs))

    def delete(self, url: StrOrURL, **kwargs: Any) -> "_RequestContextManager":
        return _RequestContextManager(self._request(hdrs.METH_DELETE, url, **kwargs))

    def ws_connect(self, url: StrOrURL, **kwargs: Any) -> Any:
        """The WebSocket client is not implemented yet."""
        raise NotImplementedError("the WebSocket client is not supported yet")

    async def _request(
        self,
        method: str,
        str_or_url: StrOrURL,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        cookies: Any = None,
        headers: Any = None,
        skip_auto_headers: Optional[Iterable[str]] = None,
        auth: Optional[BasicAuth] = None,
        allow_redirects: bool = True,
        max_redirects: int = 10,
        compress: Union[str, bool, None] = None,
        chunked: Optional[bool] = None,
        expect100: bool = False,
        raise_for_status: Union[bool, Callable[[ClientResponse], Awaitable[None]], None] = None,
        read_until_eof: bool = True,
        proxy: Optional[StrOrURL] = None,
        proxy_auth: Optional[BasicAuth] = None,
        timeout: Union[ClientTimeout, Any] = _sentinel,
        ssl: Any = True,
        server_hostname: Optional[str] = None,
        proxy_headers: Any = None,
        trace_request_ctx: Any = None,
        read_bufsize: Optional[int] = None,
        auto_decompress: Optional[bool] = None,
        max_line_size: Optional[int] = None,
        max_field_size: Optional[int] = None,
        max_headers: Optional[int] = None,
        middlewares: Optional[Sequence[ClientMiddlewareType]] = None,
    ) -> ClientResponse:
        if self.closed:
            raise RuntimeError("Session is closed")
        if proxy is not None:
            raise NotImplementedError("HTTP proxies are not supported yet")
        if data is not None and json is not None:
            raise ValueError("data and json parameters can not be used at the same time")
        if json is not None:
            data = self._json_serialize(json).encode("utf-8")
            headers = _merge_headers(CIMultiDict(), headers)
            headers.setdefault(hdrs.CONTENT_TYPE, "application/json")
        if not isinstance(max_redirects, int) or max_redirects < 0:
            raise ValueError("max_redirects must be a non-negative int")
        if timeout is _sentinel or timeout is None:
            real_timeout = self._timeout
        elif isinstance(timeout, ClientTimeout):
            real_timeout = timeout
        else:
            raise TypeError("timeout must be an aiohttp.ClientTimeout instance")

        url = _build_url(self._base_url, str_or_url)
        _check_target(url, redirect=False)
        all_headers = _merge_headers(self._default_headers, headers)
        skip_headers = set(self._skip_auto_headers)
        if skip_auto_headers is not None:
            skip_headers.update(istr(h) for h in skip_auto_headers)
        if auth is None:
            auth = self._default_auth
        if raise_for_status is None:
            raise_for_status = self._raise_for_status
        settings = SimpleNamespace(
            timeout=real_timeout,
            read_bufsize=read_bufsize or self._read_bufsize,
            auto_decompress=self._auto_decompress if auto_decompress is None else auto_decompress,
            max_line_size=max_line_size or self._max_line_size,
            max_field_size=max_field_size or self._max_field_size,
            max_headers=max_headers or self._max_headers,
            deadline=None,
            traces=(
                make_traces(self, self._trace_configs, trace_request_ctx)
                if self._trace_configs
                else ()
            ),
        )
        traces: tuple[Trace, ...] = settings.traces
        chain = self._middlewares if middlewares is None else tuple(middlewares)
        handler = build_client_middlewares(
            lambda req: self._send_once(req, settings), chain
        )

        total = _positive_or_none(real_timeout.total)
        if total is not None:
            settings.deadline = self._loop.time() + total
        history: list[ClientResponse] = []
        req: Optional[ClientRequest] = None
        if traces:
            await send_traces(
                traces,
                TraceConfig.on_request_start,
                TraceRequestStartParams(method, url, all_headers),
            )
        try:
            async with asyncio.timeout_at(settings.deadline):
                while True:
                    url_auth = BasicAuth.from_url(url)
                    if url_auth is not None:
                        if auth is not None and auth is not self._default_auth:
                            raise ValueError(
                                "Cannot combine AUTH argument with credentials encoded in URL"
                            )
                        auth = url_auth
                        url = url.with_user(None).with_password(None)
                    req = self._request_class(
                        method,
                        url,
                        params=params,
                        headers=all_headers,
                        skip_auto_headers=skip_headers,
                        data=data,
                        cookies=self._request_cookies(url, cookies),
                        auth=auth,
                        version=self._version,
                        compress=compress,
                        chunked=chunked,
                        expect100=expect100,
                        loop=self._loop,
                        response_class=self._response_class,
                        session=self,
                        ssl=ssl,
                        server_hostname=server_hostname,
                        json_serialize=self._json_serialize,
                        traces=traces,
                    )
                    resp = await handler(req)
                    if resp.status not in _REDIRECTS or not allow_redirects:
                        break
                    location = resp.headers.get(hdrs.LOCATION) or resp.headers.get(hdrs.URI)
                    if location is None:
                        break
                    if traces:
                        await send_traces(
                            traces,
                            TraceConfig.on_request_redirect,
                            TraceRequestRedirectParams(req.method, req.url, req.headers, resp),
                        )
                    history.append(resp)
                    if len(history) > max_redirects:
                        resp.close()
                        raise TooManyRedirects(history[0].request_info, tuple(history))
                    await _discard_small_body(resp)
                    resp.release()

                    if (resp.status == 303 and resp.method != hdrs.METH_HEAD) or (
                        resp.status in (301, 302) and resp.method == hdrs.METH_POST
                    ):
                        method = hdrs.METH_GET
                        data = None
                        for name in (hdrs.CONTENT_LENGTH, hdrs.CONTENT_TYPE, hdrs.TRANSFER_ENCODING):
                            all_headers.popall(name, None)
                    new_url = _build_url(None, location, redirect=True)
                    if not new_url.absolute:
                        new_url = url.join(new_url)
                    _check_target(new_url, redirect=True)
                    if new_url.raw_fragment == "" and url.raw_fragment:
                        new_url = new_url.with_fragment(url.raw_fragment)
                    if url.origin() != new_url.origin():
                        # Credentials were meant for the first origin only.
                        auth = None
                        all_headers.popall(hdrs.AUTHORIZATION, None)
                        all_headers.popall(hdrs.COOKIE, None)
                    url = new_url
                    params = None
            resp._history = tuple(history)
            if raise_for_status is True:
                resp.raise_for_status()
            elif raise_for_status:
                try:
                    await raise_for_status(resp)
                except BaseException:
                    resp.release()
                    raise
        except BaseException as exc:
            for old in history:
                old.close()
            if traces and isinstance(exc, (Exception, asyncio.CancelledError)):
                headers_used = req.headers if req is not None else all_headers
                await send_traces(
                    traces,
                    TraceConfig.on_request_exception,
                    TraceRequestExceptionParams(method, url, headers_used, exc),
                )
            raise
        if traces:
            assert req is not None
            await send_traces(
                traces,
                TraceConfig.on_request_end,
                TraceRequestEndParams(req.method, req.url, req.headers, resp),
            )
        resp._arm_total_timeout(settings.deadline)
        return resp

    def _request_cookies(self, url: URL, cookies: Any) -> Any:
        jar_cookies = self._cookie_jar.filter_cookies(url)
        if not cookies:
            return jar_cookies or None
        from .cookiejar import CookieJar as _Jar

        tmp = _Jar(unsafe=True)
        tmp.update_cookies(cookies)
        extra = tmp.filter_cookies(URL())
        merged = dict(jar_cookies)
        merged.update(extra)
        return merged

    async def _send_once(self, req: ClientRequest, settings: SimpleNamespace) -> ClientResponse:
        """The innermost handler: one request on one connection, up to the headers."""
        if self._request_id_header is not None:
            from .client_middlewares import current_request_id

            rid = current_request_id()
            if rid is not None and self._request_id_header not in req.headers:
                req.headers[self._request_id_header] = rid
        assert self._connector is not None
        timeout: ClientTimeout = settings.timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(_positive_or_none(timeout.connect)):
                    conn = await self._connector.connect(req, settings.traces, timeout)
            except TimeoutError as exc:
                if isinstance(exc, ServerTimeoutError):
                    raise
                raise ConnectionTimeoutError(f"Connection timeout to host {req.url}") from exc
            protocol = conn.protocol
            assert protocol is not None
            reused = protocol.requests_sent > 0
            protocol.set_response_params(
                method=req.method,
                auto_decompress=settings.auto_decompress,
                read_timeout=_positive_or_none(timeout.sock_read),
                read_bufsize=settings.read_bufsize,
                max_line_size=settings.max_line_size,
                max_field_size=settings.max_field_size,
                max_headers=settings.max_headers,
            )
            try:
                resp = await req.send(conn)
                try:
                    await resp.start(conn)
                except BaseException:
                    resp.close()
                    raise
            except (ServerDisconnectedError, ClientConnectionResetError, ClientOSError) as exc:
                req.terminate()
                conn.close()
                # A pooled connection the server had already closed: the request never
                # reached it, so an idempotent, replayable request may go on a fresh one.
                if reused and attempt < 3 and _replayable(req) and not protocol.got_bytes:
                    continue
                if isinstance(exc, OSError) and not isinstance(exc, ClientError):
                    raise ClientOSError(*exc.args) from exc
                raise
            except BaseException as exc:
                req.terminate()
                conn.close()
                if isinstance(exc, OSError) and not isinstance(exc, ClientError):
                    raise ClientOSError(*exc.args) from exc
                raise
            self._cookie_jar.update_cookies(resp.cookies, resp.url)
            return resp

    # -- closing --------------------------------------------------------------------

    async def close(self) -> None:
        """Close the session (and its connector, if the session owns it)."""
        if not self.closed:
            if self._connector is not None and self._connector_owner:
                await self._connector.close()
            self._connector = None

    @property
    def closed(self) -> bool:
        return self._connector is None or self._connector.closed

    async def __aenter__(self) -> "ClientSession":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    def detach(self) -> None:
        """Forget the connector without closing it."""
        self._connector = None

    # -- properties -------------------------------------------------------------------

    @property
    def connector(self) -> Optional[BaseConnector]:
        return self._connector

    @property
    def cookie_jar(self) -> AbstractCookieJar:
        return self._cookie_jar

    @property
    def version(self) -> HttpVersion:
        return self._version

    @property
    def requote_redirect_url(self) -> bool:
        return self._requote_redirect_url

    @property
    def timeout(self) -> ClientTimeout:
        return self._timeout

    @property
    def headers(self) -> "CIMultiDict[str]":
        return self._default_headers

    @property
    def skip_auto_headers(self) -> frozenset[istr]:
        return self._skip_auto_headers

    @property
    def auth(self) -> Optional[BasicAuth]:
        return self._default_auth

    @property
    def json_serialize(self) -> JSONEncoder:
        return self._json_serialize

    @property
    def connector_owner(self) -> bool:
        return self._connector_owner

    @property
    def raise_for_status(self) -> Union[bool, Callable[[ClientResponse], Awaitable[None]]]:
        return self._raise_for_status

    @property
    def auto_decompress(self) -> bool:
        return self._auto_decompress

    @property
    def trust_env(self) -> bool:
        return self._trust_env

    @property
    def trace_configs(self) -> list[TraceConfig]:
        return self._trace_configs

    @property
    def middlewares(self) -> tuple[ClientMiddlewareType, ...]:
        return self._middlewares

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def base_url(self) -> Optional[URL]:
        return self._base_url


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


def _replayable(req: ClientRequest) -> bool:
    return req.method in _IDEMPOTENT and isinstance(req.body, bytes)


async def _discard_small_body(resp: ClientResponse) -> None:
    """Read a redirect's short body so that its connection can be reused."""
    length = resp.content_length
    if length is not None and length <= 2**16 and not resp.content.is_eof():
        try:
            await resp.read()
        except ClientError:
            pass


class _RequestContextManager(Coroutine[Any, Any, ClientResponse]):
    """What session.get() & co. return: await it, or ``async with`` it."""

    __slots__ = ("_coro", "_resp")

    def __init__(self, coro: Coroutine[Any, Any, ClientResponse]) -> None:
        self._coro = coro
        self._resp: Optional[ClientResponse] = None

    def send(self, arg: None) -> Any:
        return self._coro.send(arg)

    def throw(self, *args: Any, **kwargs: Any) -> Any:
        return self._coro.throw(*args, **kwargs)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, ClientResponse]:
        return self._coro.__await__()

    def __iter__(self) -> Generator[Any, None, ClientResponse]:
        return self.__await__()

    async def __aenter__(self) -> ClientResponse:
        self._resp = await self._coro
        return self._resp

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        assert self._resp is not None
        self._resp.release()
        await self._resp.wait_for_close()


class _SessionRequestContextManager:
    """What ``aiohttp.request()`` returns: closes its own session on exit."""

    __slots__ = ("_coro", "_resp", "_session")

    def __init__(self, coro: Coroutine[Any, Any, ClientResponse], session: ClientSession) -> None:
        self._coro = coro
        self._resp: Optional[ClientResponse] = None
        self._session = session

    async def __aenter__(self) -> ClientResponse:
        try:
            self._resp = await self._coro
        except BaseException:
            await self._session.close()
            raise
        return self._resp

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        assert self._resp is not None
        self._resp.release()
        await self._session.close()


def request(
    method: str,
    url: StrOrURL,
    *,
    version: HttpVersion = HttpVersion11,
    connector: Optional[BaseConnector] = None,
    loop: Optional[asyncio.AbstractEventLoop] = None,
    **kwargs: Any,
) -> _SessionRequestContextManager:
    """One request in a session of its own: ``async with aiohttp.request("GET", url) as r``.

    Session options (cookies, headers, auth, timeout, raise_for_status, ...) and request
    options may both be given; the session is closed when the block ends.
    """
    session_keys = {
        "cookies",
        "json_serialize",
        "timeout",
        "auto_decompress",
        "max_line_size",
        "max_field_size",
        "read_bufsize",
        "middlewares",
        "propagate_request_id",
    }
    session_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in session_keys}
    connector_owner = connector is None
    if connector is None:
        connector = TCPConnector(loop=loop, force_close=True)
    session = ClientSession(
        loop=loop, version=version, connector=connector, connector_owner=connector_owner, **session_kwargs
    )
    return _SessionRequestContextManager(session._request(method, url, **kwargs), session)

