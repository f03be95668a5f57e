"""The example application served by ./deploy/run (``deploy.example.app:make_app``)."""

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .ops import routes as ops_routes

log = logging.getLogger("example")
routes = web.RouteTableDef()
greeting_key = web.AppKey("greeting", str)


@routes.get("/")
async def hello(request: web.Request) -> web.Response:
    log.info("saying hello to %s", request.remote)
    return web.Response(text=request.app[greeting_key] + "\n")


@routes.get("/hello/{name}")
async def hello_name(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    log.info("greeting %s", name)
    return web.json_response({"hello": name})


@web.middleware
async def log_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """One log line per request, after the handler answered."""
    response = await handler(request)
    log.info("%s %s -> %s", request.method, request.path, response.status)
    return response


def make_app(argv: list[str]) -> web.Application:
    """The CLI entry point: ``python -m aiohttp.web deploy.example.app:make_app``."""
    app = web.Application(middlewares=[log_requests])
    app[greeting_key] = "Hello from aiohttp-deploy"
    app.add_routes(routes)
    app.add_routes(ops_routes)
    return app



def create_app() -> web.Application:
    """The gunicorn entry point: ``gunicorn deploy.example.app:create_app``."""
    return make_app([])
