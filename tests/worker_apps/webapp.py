"""Worker test apps built on web.Application: an app object, a function and a coroutine
returning one, a coroutine returning an AppRunner, and an app whose on_startup fails."""

import asyncio
import os

from aiohttp import web


async def index(request: web.Request) -> web.Response:
    return web.Response(text=f"{os.getpid()}\n")


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("t", "0.5")))
    return web.Response(text=f"{os.getpid()}\n")


async def remote(request: web.Request) -> web.Response:
    return web.Response(text=f"{request.remote} {request.scheme}\n")


def create_app() -> web.Application:
    application = web.Application()
    application.router.add_get("/", index)
    application.router.add_get("/remote", remote)
    application.router.add_get("/slow", slow)
    return application


async def create_app_async() -> web.Application:
    return create_app()


async def create_runner() -> web.AppRunner:
    return web.AppRunner(create_app(), keepalive_timeout=300)


async def _fail(app: web.Application) -> None:
    raise RuntimeError("on_startup could not open the database")


def create_failing_app() -> web.Application:
    application = create_app()
    application.on_startup.append(_fail)
    return application


app = create_app()
