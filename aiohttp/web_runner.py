"""Runners and sites: set an app or a low-level server up, listen, and shut down gracefully."""

import asyncio
import signal
import socket
import warnings
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

from yarl import URL

from .web_server import Server

if TYPE_CHECKING:
    from ssl import SSLContext

    from .web_app import Application
    from .web_request import BaseRequest, Request  # noqa: F401 - used in a string below
else:
    SSLContext = Any

__all__ = (
    "BaseSite",
    "TCPSite",
    "UnixSite",
    "SockSite",
    "BaseRunner",
    "AppRunner",
    "ServerRunner",
    "GracefulExit",
)

_Request = TypeVar("_Request", bound="BaseRequest")


#: How long a graceful stop lets idle keep-alive connections send one last request
#: (see ``Server.drain_idle``); at most half of ``shutdown_timeout``.
IDLE_GRACE = 1.0


class GracefulExit(SystemExit):
    """Raised by the signal handlers that runners install; stops ``run_app`` cleanly."""

    code = 1


def _raise_graceful_exit() -> None:
    raise GracefulExit()


class BaseSite(ABC):
    """A listening endpoint of a runner."""

    __slots__ = ("_backlog", "_runner", "_server", "_ssl_context")

    def __init__(
        self,
        runner: "BaseRunner[Any]",
        *,
        shutdown_timeout: Optional[float] = None,
        ssl_context: Optional["SSLContext"] = None,
        backlog: int = 128,
    ) -> None:
        if not isinstance(runner, BaseRunner):
            raise TypeError(f"runner must be a BaseRunner (e.g. web.AppRunner), not {runner!r}")
        if runner.server is None:
            raise RuntimeError("Call runner.setup() before making a site")
        if shutdown_timeout is not None:
            warnings.warn("shutdown_timeout should be set on the runner", DeprecationWarning, stacklevel=3)
            runner._shutdown_timeout = shutdown_timeout
        if not isinstance(backlog, int) or backlog < 0:
            raise ValueError(f"backlog must be a non-negative int, not {backlog!r}")
        self._runner = runner
        self._ssl_context = ssl_context
        self._backlog = backlog
        self._server: Optional[asyncio.Server] = None

    @property
    @abstractmethod
    def name(self) -> str:
        """Where the site listens, as a URL or path."""

    @abstractmethod
    async def start(self) -> None:
        self._runner._reg_site(self)

    async def stop(self) -> None:
        """Stop accepting; connections already open are left to the runner's shutdown."""
        self._runner._check_site(self)
        if self._server is not None:
            self._server.close()
        self._runner._unreg_site(self)


class TCPSite(BaseSite):
    """Listens on a TCP host and port (``0.0.0.0:8080`` by default)."""

    __slots__ = ("_host", "_port", "_reuse_address", "_reuse_port")

    def __init__(
        self,
        runner: "BaseRunner[Any]",
        host: Optional[str] = None,
        port: Optional[int] = None,
        *,
        shutdown_timeout: Optional[float] = None,
        ssl_context: Optional["SSLContext"] = None,
        backlog: int = 128,
        reuse_address: Optional[bool] = None,
        reuse_port: Optional[bool] = None,
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout, ssl_context=ssl_context, backlog=backlog)
        if port is not None and (not isinstance(port, int) or not 0 <= port <= 65535):
            raise ValueError(f"port must be an int in 0..65535, not {port!r}")
        self._host = host
        if port is None:
            port = 8443 if self._ssl_context else 8080
        self._port = port
        self._reuse_address = reuse_address
        self._reuse_port = reuse_port

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host = "0.0.0.0" if not self._host else self._host
        return str(URL.build(scheme=scheme, host=host, port=self.port))

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )


class UnixSite(BaseSite):
    """Listens on a unix domain socket path."""

    __slots__ = ("_path",)

    def __init__(
        self,
        runner: "BaseRunner[Any]",
        path: Any,
        *,
        shutdown_timeout: Optional[float] = None,
        ssl_context: Optional["SSLContext"] = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout, ssl_context=ssl_context, backlog=backlog)
        self._path = path

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://unix:{self._path}:"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_unix_server(
            server, self._path, ssl=self._ssl_context, backlog=self._backlog
        )


class SockSite(BaseSite):
    """Serves on a socket that is already bound (inherited fds, systemd activation)."""

    __slots__ = ("_name", "_sock")

    def __init__(
        self,
        runner: "BaseRunner[Any]",
        sock: socket.socket,
        *,
        shutdown_timeout: Optional[float] = None,
        ssl_context: Optional["SSLContext"] = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout, ssl_context=ssl_context, backlog=backlog)
        if not isinstance(sock, socket.socket):
            raise TypeError(f"sock must be a socket.socket, not {sock!r}")
        self._sock = sock
        scheme = "https" if self._ssl_context else "http"
        if hasattr(socket, "AF_UNIX") and sock.family == socket.AF_UNIX:
            self._name = f"{scheme}://unix:{sock.getsockname()}:"
        else:
            host, port = sock.getsockname()[:2]
            self._name = str(URL.build(scheme=scheme, host=host, port=port))

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            server, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog
        )


class BaseRunner(ABC, Generic[_Request]):
    """Owns a Server and its sites; ``setup()`` then sites, ``cleanup()`` to finish."""

    __slots__ = ("_handle_signals", "_kwargs", "_server", "_shutdown_timeout", "_sites")

    def __init__(
        self,
        *,
        handle_signals: bool = False,
        shutdown_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        if shutdown_timeout is not None and shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout must be >= 0, not {shutdown_timeout!r}")
        self._handle_signals = handle_signals
        self._kwargs = kwargs
        self._server: Optional[Server] = None
        self._sites: list[BaseSite] = []
        self._shutdown_timeout = shutdown_timeout

    @property
    def server(self) -> Optional[Server]:
        return self._server

    @property
    def addresses(self) -> list[Any]:
        """The socket names every site listens on."""
        ret: list[Any] = []
        for site in self._sites:
            server = site._server
            if server is not None:
                for sock in server.sockets or ():
                    ret.append(sock.getsockname())
        return ret

    @property
    def sites(self) -> set[BaseSite]:
        return set(self._sites)

    async def setup(self) -> None:
        """Install signal handlers (if asked) and make the server."""
        loop = asyncio.get_running_loop()
        if self._handle_signals:
            try:
                loop.add_signal_handler(signal.SIGINT, _raise_graceful_exit)
                loop.add_signal_handler(signal.SIGTERM, _raise_graceful_exit)
            except NotImplementedError:  # pragma: no cover - not on Unix
                pass
        self._server = await self._make_server()

    @abstractmethod
    async def shutdown(self) -> None:
        """Hook between stopping the sites and waiting for in-flight requests."""

    async def cleanup(self) -> None:
        """Stop listening, finish in-flight requests within ``shutdown_timeout``, clean up."""
        for site in list(self._sites):
            await site.stop()
        if self._server is not None:
            await self._server.drain_idle(min(IDLE_GRACE, (self._shutdown_timeout or 0) / 2))
            self._server.pre_shutdown()
            await self.shutdown()
            await self._server.shutdown(self._shutdown_timeout)
        await self._cleanup_server()
        self._server = None
        if self._handle_signals:
            loop = asyncio.get_running_loop()
            try:
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)
            except NotImplementedError:  # pragma: no cover
                pass

    @abstractmethod
    async def _make_server(self) -> Server:
        """Build the Server."""

    @abstractmethod
    async def _cleanup_server(self) -> None:
        """Release what _make_server made."""

    def _reg_site(self, site: BaseSite) -> None:
        if site in self._sites:
            raise RuntimeError(f"Site {site} is already registered in runner {self}")
        self._sites.append(site)

    def _check_site(self, site: BaseSite) -> None:
        if site not in self._sites:
            raise RuntimeError(f"Site {site} is not registered in runner {self}")

    def _unreg_site(self, site: BaseSite) -> None:
        if site not in self._sites:
            raise RuntimeError(f"Site {site} is not registered in runner {self}")
        self._sites.remove(site)


class ServerRunner(BaseRunner["BaseRequest"]):
    """Runs a low-level ``web.Server``."""

    __slots__ = ("_web_server",)

    def __init__(self, web_server: Server, *, handle_signals: bool = False, **kwargs: Any) -> None:
        if not isinstance(web_server, Server):
            raise TypeError(f"web_server must be a web.Server, not {web_server!r}")
        super().__init__(handle_signals=handle_signals, **kwargs)
        self._web_server = web_server

    async def shutdown(self) -> None:
        pass

    async def _make_server(self) -> Server:
        return self._web_server

    async def _cleanup_server(self) -> None:
        pass


class AppRunner(BaseRunner["Request"]):
    """Runs an Application: startup signals on setup, shutdown and cleanup on cleanup."""

    __slots__ = ("_app",)

    def __init__(
        self,
        app: "Application",
        *,
        handle_signals: bool = False,
        **kwargs: Any,
    ) -> None:
        from .web_app import Application

        if not isinstance(app, Application):
            raise TypeError(f"The first argument should be web.Application instance, got {app!r}")
        super().__init__(handle_signals=handle_signals, **kwargs)
        self._app = app

    @property
    def app(self) -> "Application":
        return self._app

    async def shutdown(self) -> None:
        await self._app.shutdown()

    async def _make_server(self) -> Server:
        loop = asyncio.get_running_loop()
        self._app._set_loop(loop)
        self._app.on_startup.freeze()
        await self._app.startup()
        self._app.freeze()
        return self._app._make_handler(loop=loop, **self._kwargs)

    async def _cleanup_server(self) -> None:
        await self._app.cleanup()

