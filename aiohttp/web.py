"""The public server API: ``from aiohttp import web``; also ``python -m aiohttp.web``."""

import asyncio
import logging
import os
import socket
import sys
from argparse import ArgumentParser
from collections.abc import Awaitable, Callable, Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any, Optional, Union

from .abc import AbstractAccessLogger, AbstractAsyncAccessLogger
from .helpers import RequestKey, ResponseKey
from .log import access_logger
from .web_exceptions import *  # noqa: F403
from .web_exceptions import __all__ as _exceptions_all
from .web_log import AccessLogger
from .web_protocol import PayloadAccessError, RequestHandler, RequestPayloadError
from .web_request import BaseRequest, FileField, Request
from .web_response import ContentCoding, Response, StreamResponse, json_response
from .web_runner import (
    AppRunner,
    BaseRunner,
    BaseSite,
    GracefulExit,
    ServerRunner,
    SockSite,
    TCPSite,
    UnixSite,
)
from .web_server import Server

# isort: split
# --- application layer (routing, apps, middlewares, static files) ---
# Names from web_app, web_urldispatcher, web_routedef, web_middlewares and
# web_fileresponse are imported below this line.
from .web_app import AppKey, Application, CleanupError
from .web_fileresponse import FileResponse
from .web_middlewares import middleware, normalize_path_middleware
from .web_routedef import (
    AbstractRouteDef,
    RouteDef,
    RouteTableDef,
    StaticDef,
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
    route,
    static,
    view,
)
from .web_urldispatcher import (
    AbstractResource,
    AbstractRoute,
    DynamicResource,
    PlainResource,
    PrefixedSubAppResource,
    Resource,
    ResourceRoute,
    StaticResource,
    UrlDispatcher,
    UrlMappingMatchInfo,
    View,
)

if TYPE_CHECKING:
    from ssl import SSLContext
else:
    SSLContext = Any

__all__ = [
    *_exceptions_all,
    # application layer
    "AbstractResource",
    "AbstractRoute",
    "AbstractRouteDef",
    "AppKey",
    "Application",
    "CleanupError",
    "DynamicResource",
    "PlainResource",
    "PrefixedSubAppResource",
    "Resource",
    "ResourceRoute",
    "RouteDef",
    "RouteTableDef",
    "StaticDef",
    "StaticResource",
    "UrlDispatcher",
    "UrlMappingMatchInfo",
    "View",
    "delete",
    "get",
    "head",
    "middleware",
    "normalize_path_middleware",
    "options",
    "patch",
    "post",
    "put",
    "route",
    "static",
    "view",
    # server core
    "AccessLogger",
    "AppRunner",
    "BaseRequest",
    "BaseRunner",
    "BaseSite",
    "ContentCoding",
    "FileField",
    "FileResponse",
    "GracefulExit",
    "PayloadAccessError",
    "Request",
    "RequestKey",
    "RequestHandler",
    "RequestPayloadError",
    "Response",
    "ResponseKey",
    "Server",
    "ServerRunner",
    "SockSite",
    "StreamResponse",
    "TCPSite",
    "UnixSite",
    "json_response",
    "run_app",
]

HostSequence = Iterable[str]


async def _run_app(
    app: Union["Application", Awaitable["Application"]],
    *,
    host: Optional[Union[str, HostSequence]] = None,
    port: Optional[int] = None,
    path: Union[str, os.PathLike[str], Iterable[Union[str, os.PathLike[str]]], None] = None,
    sock: Optional[Union[socket.socket, Iterable[socket.socket]]] = None,
    ssl_context: Optional["SSLContext"] = None,
    print: Optional[Callable[..., None]] = print,
    backlog: int = 128,
    reuse_address: Optional[bool] = None,
    reuse_port: Optional[bool] = None,
    **runner_kwargs: Any,
) -> None:
    if asyncio.iscoroutine(app):
        app = await app
    runner = AppRunner(app, **runner_kwargs)  # type: ignore[arg-type]
    sites: list[BaseSite] = []
    try:
        # Inside the try: a failing on_startup still cleans up what it set up.
        await runner.setup()
        if host is not None:
            hosts = [host] if isinstance(host, str) else list(host)
            for h in hosts:
                sites.append(
                    TCPSite(
                        runner,
                        h,
                        port,
                        ssl_context=ssl_context,
                        backlog=backlog,
                        reuse_address=reuse_address,
                        reuse_port=reuse_port,
                    )
                )
        elif (path is None and sock is None) or port is not None:
            sites.append(
                TCPSite(
                    runner,
                    port=port,
                    ssl_context=ssl_context,
                    backlog=backlog,
                    reuse_address=reuse_address,
                    reuse_port=reuse_port,
                )
            )
        if path is not None:
            paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
            for p in paths:
                sites.append(UnixSite(runner, p, ssl_context=ssl_context, backlog=backlog))
        if sock is not None:
            socks = [sock] if isinstance(sock, socket.socket) else list(sock)
            for s in socks:
                sites.append(SockSite(runner, s, ssl_context=ssl_context, backlog=backlog))
        for site in sites:
            await site.start()
        if print:
            names = sorted(str(s.name) for s in runner.sites)
            print("======== Running on {} ========\n(Press CTRL+C to quit)".format(", ".join(names)))
        while True:
            await asyncio.sleep(3600)
    finally:
        await runner.cleanup()


def _cancel_tasks(to_cancel: set["asyncio.Task[Any]"], loop: asyncio.AbstractEventLoop) -> None:
    if not to_cancel:
        return
    for task in to_cancel:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*to_cancel, return_exceptions=True))
    for task in to_cancel:
        if task.cancelled():
            continue
        if task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )


def run_app(
    app: Union["Application", Awaitable["Application"]],
    *,
    debug: bool = False,
    host: Optional[Union[str, HostSequence]] = None,
    port: Optional[int] = None,
    path: Union[str, os.PathLike[str], Iterable[Union[str, os.PathLike[str]]], None] = None,
    sock: Optional[Union[socket.socket, Iterable[socket.socket]]] = None,
    shutdown_timeout: float = 60.0,
    keepalive_timeout: float = 75.0,
    ssl_context: Optional["SSLContext"] = None,
    print: Optional[Callable[..., None]] = print,
    backlog: int = 128,
    access_log_class: type[Union[AbstractAccessLogger, AbstractAsyncAccessLogger]] = AccessLogger,
    access_log_format: str = AccessLogger.LOG_FORMAT,
    access_log: Optional[logging.Logger] = access_logger,
    handle_signals: bool = True,
    reuse_address: Optional[bool] = None,
    reuse_port: Optional[bool] = None,
    handler_cancellation: bool = False,
    loop: Optional[asyncio.AbstractEventLoop] = None,
    **runner_kwargs: Any,
) -> None:
    """Run an app (or a coroutine returning one) until SIGINT/SIGTERM, then shut down."""
    if not isinstance(access_log_class, type) or not issubclass(
        access_log_class, (AbstractAccessLogger, AbstractAsyncAccessLogger)
    ):
        raise TypeError(
            f"access_log_class must be a subclass of aiohttp.abc.AbstractAccessLogger, got {access_log_class!r}"
        )
    if loop is None:
        loop = asyncio.new_event_loop()
    if debug:
        loop.set_debug(True)
    asyncio.set_event_loop(loop)
    if loop.get_debug() and access_log is not None and access_log.name == "aiohttp.access":
        if access_log.level == logging.NOTSET:
            access_log.setLevel(logging.DEBUG)
        if not access_log.hasHandlers():
            access_log.addHandler(logging.StreamHandler())
    main_task = loop.create_task(
        _run_app(
            app,
            host=host,
            port=port,
            path=path,
            sock=sock,
            ssl_context=ssl_context,
            print=print,
            backlog=backlog,
            reuse_address=reuse_address,
            reuse_port=reuse_port,
            shutdown_timeout=shutdown_timeout,
            keepalive_timeout=keepalive_timeout,
            access_log_class=access_log_class,
            access_log_format=access_log_format,
            access_log=access_log,
            handle_signals=handle_signals,
            handler_cancellation=handler_cancellation,
            **runner_kwargs,
        )
    )
    try:
        loop.run_until_complete(main_task)
    except (GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            main_task.cancel()
            with _suppress_cancel():
                loop.run_until_complete(main_task)
        finally:
            _cancel_tasks(asyncio.all_tasks(loop), loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)


class _suppress_cancel:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return exc_type is not None and issubclass(exc_type, (asyncio.CancelledError, GracefulExit))


def main(argv: list[str]) -> None:
    """``python -m aiohttp.web [-H host] [-P port] [-U path] package.module:init_func``."""
    arg_parser = ArgumentParser(
        description="aiohttp.web Application server", prog="aiohttp.web"
    )
    arg_parser.add_argument(
        "entry_func",
        help=(
            "Callable returning the `aiohttp.web.Application` instance to run. Should be "
            "specified in the 'module:function' syntax."
        ),
        metavar="entry-func",
    )
    arg_parser.add_argument(
        "-H", "--hostname", help="TCP/IP hostname to serve on (default: localhost)", default=None
    )
    arg_parser.add_argument(
        "-P", "--port", help="TCP/IP port to serve on (default: %(default)r)", type=int, default=8080
    )
    arg_parser.add_argument(
        "-U", "--path", help="Unix file system path to serve on. Can be combined with hostname "
        "to serve on both Unix and TCP.",
    )
    args, extra_argv = arg_parser.parse_known_args(argv)

    mod_str, _, func_str = args.entry_func.partition(":")
    if not func_str or not mod_str:
        arg_parser.error("'entry-func' not in 'module:function' syntax")
    if mod_str.startswith("."):
        arg_parser.error("relative module names not supported")
    try:
        module = import_module(mod_str)
    except ImportError as ex:
        arg_parser.error(f"unable to import {mod_str}: {ex}")
    try:
        func = getattr(module, func_str)
    except AttributeError:
        arg_parser.error(f"module {mod_str!r} has no attribute {func_str!r}")

    if args.path is not None and not hasattr(socket, "AF_UNIX"):
        arg_parser.error("file system paths not supported by your operating environment")

    logging.basicConfig(level=logging.DEBUG)
    if args.path and args.hostname is None:
        host = port = None
    else:
        host = args.hostname or "localhost"
        port = args.port
    app = func(extra_argv)
    run_app(app, host=host, port=port, path=args.path)
    arg_parser.exit(message="Stopped\n")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])


