"""The example application served by ./deploy/run."""

import logging

from aiohttp import web

log = logging.getLogger("example")


async def hello(request: web.BaseRequest) -> web.Response:
    log.info("saying hello to %s", request.remote)
    return web.Response(text="Hello from aiohttp-deploy\n")


def make_server() -> web.Server:
    """A low-level server; the full example app arrives with the web API."""
    return web.Server(hello)
