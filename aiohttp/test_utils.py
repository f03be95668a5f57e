"""Test helpers: servers on loopback, a client bound to them, mocked requests and loops.

``TestServer`` runs an Application and ``RawTestServer`` a bare request handler, each on a
free port of 127.0.0.1; ``TestClient`` wraps a ClientSession that sends paths to that
server. ``make_mocked_request`` builds a Request without any socket, for unit tests of
handlers. ``AioHTTPTestCase`` does the set-up for unittest-style suites.
"""

import asyncio
import contextlib
import gc
import socket
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Optional, Self, TypeVar, Union, cast
from unittest import IsolatedAsyncioTestCase, mock

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from . import hdrs
from .abc import AbstractCookieJar, AbstractStreamWriter
from .client import ClientResponse, ClientSession, _RequestContextManager
from .cookiejar import CookieJar
from .helpers import sentinel
from .http_parser import RawRequestMessage
from .http_writer import HttpVersion, HttpVersion11
from .streams import EMPTY_PAYLOAD, StreamReader
from .typedefs import LooseHeaders, StrOrURL
from .web_app import Application
from .web_request import BaseRequest, Request
from .web_response import StreamResponse
from .web_runner import AppRunner, BaseRunner, ServerRunner, SockSite
from .web_server import Server
from .web_urldispatcher import UrlMappingMatchInfo

if TYPE_CHECKING:
    from ssl import SSLContext
else:
    SSLContext = Any

__all__ = (
    "AioHTTPTestCase",
    "BaseTestServer",
    "RawTestServer",
    "TestClient",
    "TestServer",
    "get_port_socket",
    "get_unused_port_socket",
    "loop_context",
    "make_mocked_coro",
    "make_mocked_request",
    "setup_test_loop",
    "teardown_test_loop",
    "unittest_run_loop",
    "unused_port",
)

_Request = TypeVar("_Request", bound=BaseRequest)
_ApplicationNone = TypeVar("_ApplicationNone", Application, None)
_Handler = Callable[[BaseRequest], Awaitable[StreamResponse]]
_SocketFactory = Callable[[str, int, socket.AddressFamily], socket.socket]

REUSE_ADDRESS = sys.platform != "win32"


# -- ports and sockets ---------------------------------------------------------


def get_port_socket(
    host: str, port: int, family: socket.AddressFamily = socket.AF_INET
) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not listening yet)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    if REUSE_ADDRESS:
        # Lets a test rebind a port that a previous test left in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def get_unused_port_socket(
    host: str, family: socket.AddressFamily = socket.AF_INET
) -> socket.socket:
    """A TCP socket bound to a free port of ``host``."""
    return get_port_socket(host, 0, family)


def unused_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- test servers ----------------------------------------------------------------


class _StartedInAsyncWith:
    """``async with`` starts the object and closes it; a plain ``with`` is a mistake."""

    async def start_server(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> None:
        raise TypeError("Use async with instead")

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        pass  # __enter__ always raises

    async def __aenter__(self) -> Self:
        await self.start_server()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.close()


class BaseTestServer(_StartedInAsyncWith, ABC, Generic[_Request]):
    """A server on a free loopback port; ``start_server()`` to listen, ``close()`` to stop."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        *,
        scheme: str = "",
        host: str = "127.0.0.1",
        port: Optional[int] = None,
        skip_url_asserts: bool = False,
        socket_factory: _SocketFactory = get_port_socket,
        **kwargs: Any,
    ) -> None:
        if not isinstance(host, str):
            raise TypeError(f"host must be a str such as '127.0.0.1', not {host!r}")
        if port is not None and (not isinstance(port, int) or not 0 <= port <= 65535):
            raise ValueError(f"port must be None or an int in 0..65535, not {port!r}")
        self.runner: Optional[BaseRunner[_Request]] = None
        self._root: Optional[URL] = None
        self.host = host
        self.port: Optional[int] = port
        self.scheme = scheme
        self.skip_url_asserts = skip_url_asserts
        self.socket_factory = socket_factory
        self._kwargs = kwargs
        self._closed = False
        self._site: Optional[SockSite] = None

    async def start_server(
        self, loop: Optional[asyncio.AbstractEventLoop] = None, **kwargs: Any
    ) -> None:
        """Set the runner up and listen; ``kwargs`` go to the runner (or web.Server)."""
        if self.runner is not None:
            return
        ssl_context: Optional[SSLContext] = kwargs.pop("ssl", None)
        self.runner = await self._make_runner(**{**self._kwargs, **kwargs})
        await self.runner.setup()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = self.socket_factory(self.host, self.port or 0, family)
        self._site = SockSite(self.runner, sock, ssl_context=ssl_context)
        await self._site.start()
        self.port = int(sock.getsockname()[1])
        if not self.scheme:
            self.scheme = "https" if ssl_context else "http"
        self._root = URL.build(scheme=self.scheme, host=self.host, port=self.port)

    @abstractmethod
    async def _make_runner(self, **kwargs: Any) -> BaseRunner[_Request]:
        """Build the runner this server listens with."""

    def make_url(self, path: StrOrURL) -> URL:
        """The absolute URL of ``path`` on this server."""
        assert self._root is not None, "start the server before making URLs"
        url = URL(path)
        if not self.skip_url_asserts:
            assert not url.absolute, f"make_url() takes a path, not an absolute URL: {path}"
            return self._root.join(url)
        return URL(str(self._root) + str(path))

    @property
    def started(self) -> bool:
        return self.runner is not None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def handler(self) -> Server:
        """The ``web.Server`` that serves this test server's connections."""
        runner = self.runner
        assert runner is not None and runner.server is not None, "the server is not started"
        return runner.server

    @property
    def server(self) -> Optional[asyncio.AbstractServer]:
        """The listening asyncio server, once started."""
        return self._site._server if self._site is not None else None

    async def close(self) -> None:
        """Stop listening and release everything; calling it again does nothing."""
        if self.started and not self.closed:
            assert self.runner is not None
            await self.runner.cleanup()
            self._root = None
            self.port = None
            self._site = None
            self._closed = True



class TestServer(BaseTestServer[Request]):
    """Runs an Application through an AppRunner."""

    def __init__(
        self,
        app: Application,
        *,
        scheme: str = "",
        host: str = "127.0.0.1",
        port: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(app, Application):
            raise TypeError(f"app must be a web.Application, not {app!r}")
        self.app = app
        super().__init__(scheme=scheme, host=host, port=port, **kwargs)

    async def _make_runner(self, **kwargs: Any) -> BaseRunner[Request]:
        return AppRunner(self.app, **kwargs)


class RawTestServer(BaseTestServer[BaseRequest]):
    """Runs a bare ``async def handler(request)`` through a low-level ``web.Server``."""

    def __init__(
        self,
        handler: _Handler,
        *,
        scheme: str = "",
        host: str = "127.0.0.1",
        port: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        if not callable(handler):
            raise TypeError(f"handler must be an async callable taking a request, not {handler!r}")
        self._handler = handler
        super().__init__(scheme=scheme, host=host, port=port, **kwargs)

    async def _make_runner(self, **kwargs: Any) -> BaseRunner[BaseRequest]:
        runner_kwargs = {
            key: kwargs.pop(key) for key in ("handle_signals", "shutdown_timeout") if key in kwargs
        }
        server = Server(self._handler, loop=asyncio.get_running_loop(), **kwargs)
        return ServerRunner(server, **runner_kwargs)


# -- test client -----------------------------------------------------------------


class TestClient(_StartedInAsyncWith, Generic[_Request, _ApplicationNone]):
    """A ClientSession whose request methods take paths on one test server.

    Responses and the session are closed by ``close()``, which also stops the server.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        server: Union[BaseTestServer[_Request], Application],
        *,
        cookie_jar: Optional[AbstractCookieJar] = None,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(server, Application):
            server = cast(BaseTestServer[_Request], TestServer(server))
        if not isinstance(server, BaseTestServer):
            raise TypeError(
                "server must be a TestServer or RawTestServer instance (or a web.Application), "
                f"not {type(server).__name__}"
            )
        self._server: BaseTestServer[_Request] = server
        self._loop = loop
        if cookie_jar is None:
            # The server is a bare IP address, whose cookies a default jar would refuse.
            cookie_jar = CookieJar(unsafe=True, loop=loop)
        self._session = ClientSession(loop=loop, cookie_jar=cookie_jar, **kwargs)
        self._closed = False
        self._responses: list[ClientResponse] = []
        self._websockets: list[Any] = []

    async def start_server(self) -> None:
        await self._server.start_server(loop=self._loop)

    @property
    def scheme(self) -> str:
        return self._server.scheme

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> Optional[int]:
        return self._server.port

    @property
    def server(self) -> BaseTestServer[_Request]:
        return self._server

    @property
    def app(self) -> _ApplicationNone:
        """The Application under test, or None for a RawTestServer."""
        return cast(_ApplicationNone, getattr(self._server, "app", None))

    @property
    def session(self) -> ClientSession:
        """The underlying ClientSession; it takes absolute URLs, unlike this client."""
        return self._session

    def make_url(self, path: StrOrURL) -> URL:
        return self._server.make_url(path)

    async def _request(self, method: str, path: StrOrURL, **kwargs: Any) -> ClientResponse:
        resp = await self._session.request(method, self.make_url(path), **kwargs)
        self._responses.append(resp)
        return resp

    def request(self, method: str, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        """Send ``method path`` to the test server; await it or use ``async with``."""
        return _RequestContextManager(self._request(method, path, **kwargs))

    def get(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        return self.request(hdrs.METH_GET, path, **kwargs)

    def post(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        return self.request(hdrs.METH_POST, path, **kwargs)

    def options(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        return self.request(hdrs.METH_OPTIONS, path, **kwargs)

    def head(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        kwargs.setdefault("allow_redirects", False)
        return self.request(hdrs.METH_HEAD, path, **kwargs)

    def put(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        return self.request(hdrs.METH_PUT, path, **kwargs)

    def patch(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        return self.request(hdrs.METH_PATCH, path, **kwargs)

    def delete(self, path: StrOrURL, **kwargs: Any) -> _RequestContextManager:
        return self.request(hdrs.METH_DELETE, path, **kwargs)

    def ws_connect(self, path: StrOrURL, **kwargs: Any) -> Any:
        """Open a WebSocket to ``path`` (needs the WebSocket client)."""
        return self._session.ws_connect(self.make_url(path), **kwargs)

    async def close(self) -> None:
        """Close every response, the session and the server; again does nothing."""
        if self._closed:
            return
        for resp in self._responses:
            resp.close()
        for ws in self._websockets:
            await ws.close()
        await self._session.close()
        await self._server.close()
        self._closed = True



# -- unittest --------------------------------------------------------------------


class AioHTTPTestCase(IsolatedAsyncioTestCase):
    """unittest base class: each test gets ``self.app``, ``self.server`` and ``self.client``.

    Override ``get_application()``; ``asyncSetUp``/``asyncTearDown`` overrides must call super.
    """

    async def get_application(self) -> Application:
        """Return the web.Application to test; every subclass overrides this."""
        raise RuntimeError("Did you forget to define get_application()?")

    async def get_server(self, app: Application) -> TestServer:
        """The TestServer that serves ``app``; override to pass options."""
        return TestServer(app)

    async def get_client(self, server: TestServer) -> TestClient[Request, Application]:
        """The TestClient bound to ``server``; override to pass options."""
        return TestClient(server)

    def setUp(self) -> None:
        # Kept so that subclasses may call super().setUp(), as with unittest.TestCase.
        pass

    async def asyncSetUp(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.app = await self.get_application()
        self.server = await self.get_server(self.app)
        self.client = await self.get_client(self.server)
        await self.client.start_server()
        await self.setUpAsync()

    async def setUpAsync(self) -> None:
        """Older hook for asynchronous set-up, run after the client has started."""

    async def tearDownAsync(self) -> None:
        """Older hook for asynchronous tear-down, run before the client closes."""

    async def asyncTearDown(self) -> None:
        try:
            await self.tearDownAsync()
        finally:
            await self.client.close()


_F = TypeVar("_F", bound=Callable[..., Any])


def unittest_run_loop(func: _F) -> _F:
    """Deprecated no-op: AioHTTPTestCase runs ``async def`` tests by itself."""
    warnings.warn(
        "unittest_run_loop is no longer needed: AioHTTPTestCase runs async tests itself",
        DeprecationWarning,
        stacklevel=2,
    )
    return func


# -- event loops -----------------------------------------------------------------


_LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@contextlib.contextmanager
def loop_context(
    loop_factory: _LoopFactory = asyncio.new_event_loop, fast: bool = False
) -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop, set as current, closed on exit."""
    loop = setup_test_loop(loop_factory)
    try:
        yield loop
    finally:
        teardown_test_loop(loop, fast=fast)


def setup_test_loop(
    loop_factory: _LoopFactory = asyncio.new_event_loop,
) -> asyncio.AbstractEventLoop:
    """Make a loop and set it as current; pair with ``teardown_test_loop``."""
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    return loop


def teardown_test_loop(loop: asyncio.AbstractEventLoop, fast: bool = False) -> None:
    """Cancel what still runs on ``loop``, close it and unset it.

    Unless ``fast``, collect garbage so that unclosed-resource warnings show up now,
    in the test that caused them.
    """
    if not loop.is_closed():
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    if not fast:
        gc.collect()
    asyncio.set_event_loop(None)


# -- mocks -----------------------------------------------------------------------


def make_mocked_coro(return_value: Any = sentinel, raise_exception: Any = sentinel) -> Any:
    """A Mock that, when called, returns a coroutine giving ``return_value`` (or raising)."""

    async def mock_coro(*args: Any, **kwargs: Any) -> Any:
        if raise_exception is not sentinel:
            raise raise_exception
        return None if return_value is sentinel else return_value

    return mock.Mock(wraps=mock_coro)


def _make_transport(sslcontext: Optional[SSLContext]) -> Any:
    transport = mock.Mock()
    extra = {"sslcontext": sslcontext, "peername": ("127.0.0.1", 0)}
    transport.get_extra_info.side_effect = lambda name, default=None: extra.get(name, default)
    transport.is_closing.return_value = False
    return transport


def make_mocked_request(
    method: str,
    path: str,
    headers: Optional[LooseHeaders] = None,
    *,
    match_info: Any = sentinel,
    version: HttpVersion = HttpVersion11,
    closing: bool = False,
    app: Optional[Application] = None,
    writer: Any = sentinel,
    protocol: Any = sentinel,
    transport: Any = sentinel,
    payload: StreamReader = EMPTY_PAYLOAD,
    sslcontext: Optional[SSLContext] = None,
    client_max_size: int = 1024**2,
    loop: Any = ...,
) -> Request:
    """A ``web.Request`` for unit-testing a handler without a server.

    Whatever is not given is mocked: the app (an empty Application), the writer (its
    async methods do nothing), the transport (peer 127.0.0.1) and the event loop.
    """
    if not isinstance(method, str) or not method:
        raise TypeError(f"method must be a non-empty str such as 'GET', not {method!r}")
    if not isinstance(path, str):
        raise TypeError(f"path must be a str such as '/path?q=1', not {path!r}")
    if loop is ...:
        loop = mock.Mock()
        loop.create_future.return_value = ()

    header_map: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict(headers or ()))
    raw_headers = tuple(
        (name.encode("utf-8"), value.encode("utf-8")) for name, value in header_map.items()
    )
    chunked = "chunked" in header_map.get(hdrs.TRANSFER_ENCODING, "").lower()
    message = RawRequestMessage(
        method,
        path,
        version,
        header_map,
        raw_headers,
        closing,
        None,
        False,
        chunked,
        URL(path),
    )
    if app is None:
        app = Application()
    if transport is sentinel:
        transport = _make_transport(sslcontext)
    if protocol is sentinel:
        protocol = mock.Mock()
        protocol.transport = transport
        protocol.get_extra_info.side_effect = transport.get_extra_info
    if writer is sentinel:
        writer = mock.Mock(spec=AbstractStreamWriter)
        for name in ("write", "write_eof", "drain", "write_headers"):
            setattr(writer, name, make_mocked_coro(None))
        writer.transport = transport
        writer.buffer_size = 0
        writer.output_size = 0
        writer.length = None

    req = Request(
        message,
        payload,
        protocol,
        writer,
        mock.Mock(),  # the handler's task
        loop,
        client_max_size=client_max_size,
    )
    match_dict = {} if match_info is sentinel else dict(match_info)
    req._match_info = UrlMappingMatchInfo(match_dict, mock.Mock())
    req._match_info.add_app(app)
    return req
