"""Routes that show what the deployment does: who the client is, request ids in logs,
uploads, slow and failing handlers. The reference stack and its integration tests use them.
"""

import asyncio
import logging
import os

from aiohttp import web

log = logging.getLogger("example.ops")
routes = web.RouteTableDef()

#: The longest /slow may take; well under nginx's proxy_read_timeout (60 s).
MAX_SLOW_MS = 5000


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Readiness probe: 200 once a worker answers."""
    return web.Response(text="ok\n")


@routes.get("/whoami")
async def whoami(request: web.Request) -> web.Response:
    """The client as the app sees it after trusted proxies, and which process answered."""
    return web.json_response(
        {
            "remote": request.remote,
            "scheme": request.scheme,
            "host": request.host,
            "pid": os.getpid(),
            "request_id": request.get("request_id"),
        }
    )


@routes.get("/log")
async def log_line(request: web.Request) -> web.Response:
    """Writes one log line (it carries the request id) and answers with the id."""
    log.info("handling /log for %s", request.remote)
    return web.json_response({"request_id": request.get("request_id"), "pid": os.getpid()})


@routes.get("/boom")
async def boom(request: web.Request) -> web.Response:
    """An unhandled error: a 500 for the client, a traceback with the id in the log."""
    raise RuntimeError("boom: an unhandled error, on purpose")


@routes.post("/upload")
async def upload(request: web.Request) -> web.Response:
    """Reads the whole body (413 above the app's client_max_size) and reports its size."""
    body = await request.read()
    return web.json_response({"size": len(body), "pid": os.getpid()})


@routes.post("/echo")
async def echo(request: web.Request) -> web.Response:
    """A non-idempotent request: echoes the body back."""
    body = await request.read()
    return web.Response(body=body, content_type="application/octet-stream")


@routes.route("*", "/slow")
async def slow(request: web.Request) -> web.Response:
    """Answers after ``?ms=`` milliseconds (at most MAX_SLOW_MS): keeps requests in flight."""
    try:
        ms = int(request.query.get("ms", "100"))
    except ValueError:
        raise web.HTTPBadRequest(text="ms must be an integer\n")
    await request.read()
    await asyncio.sleep(min(max(ms, 0), MAX_SLOW_MS) / 1000)
    return web.json_response({"slept_ms": ms, "pid": os.getpid()})
