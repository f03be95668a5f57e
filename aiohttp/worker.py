"""gunicorn workers: ``gunicorn app:app --worker-class aiohttp.GunicornWebWorker``.

Theory of operation
-------------------
The arbiter forks a worker and hands it the listening sockets. The worker makes a fresh
event loop, loads the app (an Application, a function or coroutine returning one, or a
coroutine returning a runner), applies gunicorn's settings to the runner, and serves on
every inherited socket. A heartbeat coroutine tells the arbiter it is alive, and notices
when the arbiter has gone.

Stopping comes in three kinds:

* graceful (TERM, parent gone): take the connections the kernel has already accepted,
  stop listening, answer every request in flight or arriving on an open connection within
  a short grace with ``Connection: close``, then run the app's shutdown within
  ``graceful_timeout``;
* recycling (``max_requests``): the request that reaches the limit is answered with
  ``Connection: close`` and the worker stops listening at once, leaving queued
  connections to the next worker (the arbiter still holds the socket);
* quick (INT, QUIT): close everything now, run the app's cleanup, exit.

ABRT is handled by a plain ``signal.signal`` handler so that ``worker_abort`` runs even
while a handler blocks the loop.
"""

import asyncio
import inspect
import logging
import os
import re
import signal
import socket
import ssl
import sys
from typing import TYPE_CHECKING, Any, Final, Optional, Union

try:
    from gunicorn.config import AccessLogFormat as _GunicornAccessLogFormat
    from gunicorn.workers import base
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "aiohttp.worker needs gunicorn: pip install gunicorn (or aiohttp-deploy[gunicorn])"
    ) from exc

from .abc import AbstractAccessLogger, AbstractAsyncAccessLogger
from .log import server_logger
from .web_log import AccessLogger
from .web_runner import AppRunner, BaseRunner, ServerRunner, SockSite

if TYPE_CHECKING:
    from .web_server import Server

__all__ = ("GunicornUVLoopWebWorker", "GunicornWebWorker")

#: nginx's default ``keepalive_timeout`` for pooled upstream connections, in seconds.
NGINX_UPSTREAM_KEEPALIVE_TIMEOUT: Final = 60
#: What "unlimited" (0) means for gunicorn's request limits.
_UNLIMITED_LINE: Final = 65536
_UNLIMITED_FIELDS: Final = 32768

#: gunicorn access-log atoms and the aiohttp atoms that say the same thing.
_GUNICORN_ATOMS: Final[dict[str, str]] = {
    "h": "%a",
    "l": "-",
    "t": "%t",
    "r": "%r",
    "s": "%s",
    "b": "%b",
    "B": "%b",
    "f": "%{Referer}i",
    "a": "%{User-Agent}i",
    "T": "%T",
    "D": "%D",
    "L": "%Tf",
    "p": "%P",
}
_GUNICORN_ATOM_RE: Final = re.compile(r"%\(([^)]*)\)s")
_GUNICORN_HEADER_RE: Final = re.compile(r"\{([A-Za-z0-9\-_]+)\}([ioe])")


def translate_gunicorn_log_format(source_format: str) -> str:
    """Rewrite gunicorn's ``%(h)s`` atoms as aiohttp atoms; ValueError names any without one."""
    if source_format == _GunicornAccessLogFormat.default:
        return AccessLogger.LOG_FORMAT

    def replace(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name in _GUNICORN_ATOMS:
            return _GUNICORN_ATOMS[name]
        header = _GUNICORN_HEADER_RE.fullmatch(name)
        if header is not None:
            return f"%{{{header.group(1)}}}{header.group(2)}"
        raise ValueError(
            f"gunicorn access_log_format atom %({name})s has no aiohttp equivalent; "
            "write the format with aiohttp's atoms (%a %t %r %s %b %T %Tf %D %P "
            "%{Header}i %{Header}o %{VAR}e), see docs/logging.md"
        )

    return _GUNICORN_ATOM_RE.sub(replace, source_format)


def runner_accepts_trusted_proxies(runner_cls: type = AppRunner) -> bool:
    """True when ``runner_cls`` takes ``trusted_proxies``: by name, or as an AppRunner,
    which hands its keyword arguments to ``web.Server``."""
    classes: list[type] = list(runner_cls.__mro__)
    if issubclass(runner_cls, AppRunner):
        from .web_server import Server

        classes.append(Server)
    for cls in classes:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            continue
        if "trusted_proxies" in params:
            return True
    return False


class GunicornWebWorker(base.Worker):
    """Serves an aiohttp app in a gunicorn worker process, on asyncio's default loop."""

    DEFAULT_AIOHTTP_LOG_FORMAT = AccessLogger.LOG_FORMAT
    DEFAULT_GUNICORN_LOG_FORMAT = _GunicornAccessLogFormat.default
    #: Subclasses may set another access logger class for the app.
    access_log_class: type[Union[AbstractAccessLogger, AbstractAsyncAccessLogger]] = AccessLogger
    #: Exit status gunicorn's arbiter takes as "stop, do not respawn".
    WORKER_BOOT_ERROR: Final = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop: asyncio.AbstractEventLoop
        self.exit_code = 0
        self._runner: Optional[BaseRunner[Any]] = None
        self._listeners: list[socket.socket] = []
        self._ssl_context: Optional[ssl.SSLContext] = None
        self._stop_mode = "graceful"
        self._wakeup: Optional[asyncio.Future[None]] = None
        self._taken: list[asyncio.Task[Any]] = []

    # -- gunicorn's worker contract ------------------------------------------

    def init_process(self) -> None:
        """Make a fresh loop in the forked child, then let gunicorn load the app and run."""
        self.loop = self._new_loop()
        asyncio.set_event_loop(self.loop)
        super().init_process()

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.new_event_loop()

    def run(self) -> None:
        """Serve until stopped; exit with the code gunicorn's arbiter understands."""
        try:
            self.loop.run_until_complete(self._run())
        except Exception:
            self.log.exception("Exception in gunicorn worker")
            self.exit_code = self.exit_code or 1
        finally:
            try:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()
        sys.exit(self.exit_code)

    def init_signals(self) -> None:
        """TERM, INT, QUIT, USR1 and WINCH through the loop; ABRT as a plain handler."""
        for sig in self.SIGNALS:  # SIGCHLD among them: subprocess exit codes stay right
            signal.signal(sig, signal.SIG_DFL)
        add = self.loop.add_signal_handler
        add(signal.SIGTERM, self.handle_exit, signal.SIGTERM, None)
        add(signal.SIGQUIT, self.handle_quit, signal.SIGQUIT, None)
        add(signal.SIGINT, self.handle_quit, signal.SIGINT, None)
        add(signal.SIGUSR1, self.handle_usr1, signal.SIGUSR1, None)
        add(signal.SIGWINCH, self.handle_winch, signal.SIGWINCH, None)
        signal.signal(signal.SIGABRT, self.handle_abort)
        signal.siginterrupt(signal.SIGTERM, False)
        signal.siginterrupt(signal.SIGUSR1, False)

    def handle_exit(self, sig: int, frame: Any) -> None:
        """TERM: drain gracefully."""
        self._stop("graceful")

    def handle_quit(self, sig: int, frame: Any) -> None:
        """INT, QUIT: run ``worker_int`` and shut down quickly."""
        self.cfg.worker_int(self)
        self._stop("quick")

    def handle_abort(self, sig: int, frame: Any) -> None:
        """ABRT (the arbiter's timeout): run ``worker_abort`` and exit, even mid-handler."""
        self.alive = False
        self.exit_code = 1
        self.cfg.worker_abort(self)
        sys.exit(1)

    def _stop(self, mode: str) -> None:
        if self.alive or mode == "quick":
            self._stop_mode = mode
        self.alive = False
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- serving --------------------------------------------------------------

    async def _run(self) -> None:
        try:
            runner = await self._make_runner()
            self._runner = runner
            await runner.setup()
            server = runner.server
            assert server is not None
            if self.max_requests < sys.maxsize:
                self._count_requests(server)
            self._ssl_context = self._create_ssl_context(self.cfg) if self.cfg.is_ssl else None
            for gsock in self.sockets:
                raw = getattr(gsock, "sock", gsock)
                site = SockSite(runner, raw, ssl_context=self._ssl_context, backlog=self.cfg.backlog)
                await site.start()
                self._listeners.append(raw)
        except Exception as exc:
            self.log.exception("Worker failed to boot: %s", exc)
            self.exit_code = self.WORKER_BOOT_ERROR
            if self._runner is not None:
                await self._quiet_cleanup(self._runner)
            return
        self._warn_short_keepalive()
        await self._heartbeat()
        if self._stop_mode == "quick":
            await self._quick_stop(runner)
        elif self._stop_mode == "recycle":
            await self._stop_listening()
            await runner.cleanup()
        else:
            await self._graceful_stop(runner)

    async def _heartbeat(self) -> None:
        """Tell the arbiter we are alive; stop when asked or when the arbiter is gone."""
        interval = min(1.0, self.timeout) if self.timeout and self.timeout > 0 else 1.0
        loop = self.loop
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                self._stop("graceful")
                break
            waiter = self._wakeup = loop.create_future()
            handle = loop.call_later(interval, _resolve, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self._wakeup = None
        self.notify()

    def _count_requests(self, server: "Server") -> None:
        """Stop after exactly ``max_requests``: that request's answer closes its connection."""
        make_request = server.request_factory
        limit = self.max_requests

        def counting_factory(*args: Any) -> Any:
            request = make_request(*args)
            if server.requests_count >= limit:
                protocol = args[2]
                protocol._force_close = True
                if self.alive:
                    self.log.info("Max requests exceeded, shutting down: %s", self)
                    self._pause_accepting(close_if_unpausable=True)
                    self._stop("recycle")
            return request

        server.request_factory = counting_factory

    def _pause_accepting(self, close_if_unpausable: bool = False) -> None:
        """Stop taking new connections now, leaving the sockets open for ``_stop_listening``.

        asyncio's selector loop finishes setting up connections it has just accepted in
        tasks of their own, and drops them if the server closes first; so it stops polling
        the sockets here and closes them a loop iteration later. uvloop sets connections
        up at once and has no way to pause: it goes on until ``_stop_listening``, or closes
        now with ``close_if_unpausable``.
        """
        if isinstance(self.loop, asyncio.selector_events.BaseSelectorEventLoop):
            for raw in self._listeners:
                if raw.fileno() != -1:
                    self.loop.remove_reader(raw.fileno())
        elif close_if_unpausable and self._runner is not None:
            for site in list(self._runner.sites):
                if site._server is not None:
                    site._server.close()

    async def _stop_listening(self, take_backlog: bool = False) -> None:
        """Close every listener; with ``take_backlog`` first accept what the kernel queued."""
        self._pause_accepting()
        for _ in range(3):
            await asyncio.sleep(0)
        runner = self._runner
        server = runner.server if runner is not None else None
        if take_backlog and server is not None:
            for raw in self._listeners:
                if raw.fileno() != -1:
                    self._take_backlog(raw, server)
        if runner is not None:
            for site in list(runner.sites):
                listener = site._server
                if listener is not None:
                    listener.close()
        for raw in self._listeners:
            raw.close()

    def _take_backlog(self, raw: socket.socket, server: "Server") -> None:
        while True:
            try:
                conn, _ = raw.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            self._taken.append(
                self.loop.create_task(self.loop.connect_accepted_socket(server, conn, ssl=self._ssl_context))
            )

    async def _graceful_stop(self, runner: BaseRunner[Any]) -> None:
        loop = self.loop
        deadline = loop.time() + self.cfg.graceful_timeout
        await self._stop_listening(take_backlog=True)
        for site in list(runner.sites):
            await site.stop()
        server = runner.server
        if server is not None:
            if self._taken:
                await asyncio.wait(self._taken, timeout=max(0.0, deadline - loop.time()))
            self.log.debug(
                "Draining: %d queued connections taken, %d open, %d idle",
                len(self._taken), len(server.connections), sum(c.idle for c in server.connections),
            )
        runner._shutdown_timeout = max(0.0, deadline - loop.time())
        await runner.cleanup()

    async def _quick_stop(self, runner: BaseRunner[Any]) -> None:
        await self._stop_listening()
        server = runner.server
        if server is not None:
            for conn in server.connections:
                conn.force_close()
        runner._shutdown_timeout = 0.0
        await self._quiet_cleanup(runner)

    async def _quiet_cleanup(self, runner: BaseRunner[Any]) -> None:
        try:
            await runner.cleanup()
        except Exception:
            self.log.exception("Error while cleaning the application up")

    # -- the app and gunicorn's settings ----------------------------------------

    async def _make_runner(self) -> BaseRunner[Any]:
        """Turn what gunicorn loaded into a runner with gunicorn's settings applied."""
        target: Any = self.wsgi
        if not _is_application(target) and not isinstance(target, BaseRunner):
            if not callable(target):
                raise TypeError(
                    f"{self.cfg.wsgi_app or 'the app'} must be an aiohttp Application, or a function "
                    f"or coroutine returning an Application or AppRunner, not {target!r}"
                )
            target = target()
            if inspect.isawaitable(target):
                target = await target
        if isinstance(target, BaseRunner):
            if target.server is not None:
                raise RuntimeError("The app factory returned a runner that is already set up; return it before setup()")
            self._apply_settings(target)
            return target
        if _is_application(target):
            settings = self._settings()
            return AppRunner(
                target,
                handle_signals=False,
                shutdown_timeout=self.cfg.graceful_timeout,
                **settings,
            )
        raise TypeError(
            f"The app factory returned {target!r}; it must return an aiohttp Application or AppRunner"
        )

    def _settings(self) -> dict[str, Any]:
        """The server options gunicorn's settings stand for."""
        cfg = self.cfg
        settings: dict[str, Any] = {
            "keepalive_timeout": cfg.keepalive,
            "access_log_class": self.access_log_class,
            "access_log": self._access_logger(),
            "access_log_format": self._get_valid_log_format(cfg.access_log_format),
            "logger": getattr(self.log, "error_log", self.log),
            "max_line_size": cfg.limit_request_line or _UNLIMITED_LINE,
            "max_headers": cfg.limit_request_fields or _UNLIMITED_FIELDS,
            "max_field_size": cfg.limit_request_field_size or _UNLIMITED_LINE,
        }
        if runner_accepts_trusted_proxies():
            # gunicorn trusts every peer on a unix socket (the local nginx); TCP peers
            # only when forwarded_allow_ips lists them.
            settings["trusted_proxies"] = ["unix", *cfg.forwarded_allow_ips]
        return settings

    #: Server option -> gunicorn setting it comes from (for telling operator choices apart).
    _SETTING_NAMES: Final = {
        "keepalive_timeout": "keepalive",
        "access_log": "accesslog",
        "access_log_format": "access_log_format",
        "logger": "errorlog",
        "max_line_size": "limit_request_line",
        "max_headers": "limit_request_fields",
        "max_field_size": "limit_request_field_size",
        "trusted_proxies": "forwarded_allow_ips",
    }

    def _apply_settings(self, runner: BaseRunner[Any]) -> None:
        """Give a factory-made runner gunicorn's settings; options the runner set win,
        unless the operator set the gunicorn setting too (then gunicorn wins, with a warning)."""
        if isinstance(runner, ServerRunner):
            target: dict[str, Any] = runner._web_server._kwargs
        else:
            target = runner._kwargs
        if target.get("logger") is server_logger:
            del target["logger"]  # the server's default, not the app's choice
        for key, value in self._settings().items():
            if key not in target:
                target[key] = value
                continue
            setting = self._SETTING_NAMES.get(key)
            if setting is not None and self._operator_set(setting) and target[key] != value:
                self.log.warning(
                    "The app's runner sets %s=%r; gunicorn's %s setting replaces it with %r",
                    key, target[key], setting, value,
                )
                target[key] = value
        if isinstance(runner, ServerRunner) and isinstance(target.get("trusted_proxies"), list):
            # web.Server normalises this argument when it is made; do what it would have done.
            from .trusted_proxies import make_trusted_proxies

            proxies = make_trusted_proxies(target.pop("trusted_proxies"))
            if proxies is not None:
                target["trusted_proxies"] = proxies
                target.setdefault("peer_trusted", proxies.trusts_protocol)
        if runner._handle_signals:
            self.log.info("The app's runner asked to handle signals; the gunicorn worker handles them")
            runner._handle_signals = False
        runner._shutdown_timeout = self.cfg.graceful_timeout

    def _operator_set(self, name: str) -> bool:
        setting = self.cfg.settings.get(name)
        return setting is not None and setting.value != setting.default

    def _access_logger(self) -> Optional[logging.Logger]:
        """gunicorn's access logger when gunicorn would write an access log, else None."""
        cfg = self.cfg
        wanted = (
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or getattr(cfg, "logconfig_json", None)
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
        )
        if not wanted:
            return None
        logger = getattr(self.log, "access_log", None)
        return logger if isinstance(logger, logging.Logger) else None

    def _get_valid_log_format(self, source_format: str) -> str:
        """gunicorn's default becomes aiohttp's; gunicorn atoms are translated."""
        return translate_gunicorn_log_format(source_format)

    @staticmethod
    def _create_ssl_context(cfg: Any) -> ssl.SSLContext:
        """The server's TLS context from gunicorn's settings, through its ``ssl_context`` hook."""

        def default_ssl_context_factory() -> ssl.SSLContext:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cfg.ca_certs)
            password = getattr(cfg, "keyfile_password", None) or os.environ.get("AIOHTTP_KEYFILE_PASSWORD")
            ctx.load_cert_chain(cfg.certfile, cfg.keyfile, password=password)
            ctx.verify_mode = cfg.cert_reqs
            if cfg.ciphers:
                ctx.set_ciphers(cfg.ciphers)
            ctx.set_alpn_protocols(["http/1.1"])
            return ctx

        hook = getattr(cfg, "ssl_context", None)
        if hook is None:
            return default_ssl_context_factory()
        ctx = hook(cfg, default_ssl_context_factory)
        if not isinstance(ctx, ssl.SSLContext):
            raise TypeError(f"gunicorn's ssl_context hook must return an ssl.SSLContext, not {ctx!r}")
        return ctx

    def _warn_short_keepalive(self) -> None:
        keepalive = self.cfg.keepalive
        if self.age == 1 and 0 < keepalive < NGINX_UPSTREAM_KEEPALIVE_TIMEOUT:
            self.log.warning(
                "keepalive is %ss, shorter than nginx's default upstream keepalive_timeout (%ss): "
                "behind nginx with pooled upstream connections this causes 502s. Set gunicorn's "
                "--keepalive above nginx's keepalive_timeout (e.g. --keepalive 75) or lower "
                "nginx's keepalive_timeout below it; see docs/deployment.md",
                keepalive,
                NGINX_UPSTREAM_KEEPALIVE_TIMEOUT,
            )


class GunicornUVLoopWebWorker(GunicornWebWorker):
    """The same worker on a uvloop event loop (made directly, no event-loop policy)."""

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        try:
            import uvloop
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("GunicornUVLoopWebWorker needs uvloop: pip install uvloop") from exc
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop


def _resolve(waiter: "asyncio.Future[None]") -> None:
    if not waiter.done():
        waiter.set_result(None)


def _is_application(obj: Any) -> bool:
    try:
        from .web_app import Application
    except ImportError:  # the application layer is optional for low-level servers
        return False
    return isinstance(obj, Application)

