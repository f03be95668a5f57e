"""The benchmark app, served unchanged by this project and by the real aiohttp.

Endpoints: plaintext `/`, `/json`, `/user/{id}` behind 50 other routes, and `/log`, which
writes one application log line carrying the request id. The request-id setup differs only
in where it comes from: aiohttp-request-id-logging on the real aiohttp, the built-in switch
(an environment variable read by our gunicorn worker) on this project.
"""

from __future__ import annotations

import logging
import os

from aiohttp import web

CORRELATED = os.environ.get("BENCH_CORRELATED") == "1"
APP_LOG = os.environ.get("BENCH_APP_LOG")
APP_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(requestIdPrefix)s%(message)s"

log = logging.getLogger("bench")


async def plaintext(request: web.Request) -> web.Response:
    return web.Response(text="Hello, World!")


async def json_hello(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, World!"})


async def user(request: web.Request) -> web.Response:
    return web.Response(text="user " + request.match_info["id"])


async def logged(request: web.Request) -> web.Response:
    log.info("handled %s", request.path_qs)
    return web.Response(text="logged")


async def other(request: web.Request) -> web.Response:
    return web.Response(text="other")


def _request_id_setup() -> tuple[list, dict]:
    """Turn request ids on; return the middlewares and handler_args that takes."""
    try:
        import aiohttp_request_id_logging as ridl  # only ever installed beside the real aiohttp
    except ImportError:
        ridl = None
    if ridl is not None:
        ridl.setup_logging_request_id_prefix()
        middleware = ridl.RequestIdMiddleware(log_request_start=ridl.noop)
        return [middleware], {"access_log_class": ridl.RequestIdAccessLogger}
    # This project: the gunicorn worker's built-in switch does the middleware and the
    # access logger; the record factory is the same public call as in the library.
    from aiohttp.request_id import setup_logging_request_id_prefix

    setup_logging_request_id_prefix()
    return [], {}


def _app_log_setup() -> None:
    handler: logging.Handler = logging.FileHandler(APP_LOG) if APP_LOG else logging.StreamHandler()
    handler.setFormatter(logging.Formatter(APP_LOG_FORMAT))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def make_app() -> web.Application:
    middlewares: list = []
    handler_args: dict = {}
    if CORRELATED:
        middlewares, handler_args = _request_id_setup()
        _app_log_setup()
    app = web.Application(middlewares=middlewares, handler_args=handler_args or None)
    app.router.add_get("/", plaintext)
    app.router.add_get("/json", json_hello)
    for i in range(25):
        app.router.add_get(f"/static{i}/page", other)
        app.router.add_get(f"/api/v{i}/{{name}}/items", other)
    app.router.add_get("/user/{id}", user)
    app.router.add_get("/log", logged)
    return app


app = make_app()
