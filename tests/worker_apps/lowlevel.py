"""Worker test app on the low-level server: a coroutine returning a ServerRunner.

Paths: ``/`` answers the worker's pid; ``/slow?t=S`` sleeps S seconds first; ``/block``
blocks the loop with ``time.sleep``; ``/boom`` raises; ``/child`` reports a subprocess's
exit code; ``/echo-ctx`` sets a context variable the access logger reads.
"""

import asyncio
import os
import subprocess
import sys
import time

from aiohttp import web


async def handler(request: web.BaseRequest) -> web.StreamResponse:
    path = request.path
    if path == "/slow":
        await asyncio.sleep(float(request.query.get("t", "0.5")))
    elif path == "/block":
        time.sleep(float(request.query.get("t", "30")))
    elif path == "/boom":
        raise RuntimeError("boom from the handler")
    elif path == "/remote":
        return web.Response(text=f"{request.remote} {request.scheme}\n")
    elif path == "/child":
        proc = subprocess.run([sys.executable, "-c", "raise SystemExit(7)"], timeout=10)
        return web.Response(text=f"{proc.returncode}\n")
    return web.Response(text=f"{os.getpid()}\n")


async def make_runner() -> web.ServerRunner:
    return web.ServerRunner(web.Server(handler))


async def make_runner_with_options() -> web.ServerRunner:
    """A runner built with its own options; gunicorn's settings still apply."""
    return web.ServerRunner(web.Server(handler, keepalive_timeout=300))


async def failing_factory() -> web.ServerRunner:
    raise RuntimeError("the factory could not reach its database")
