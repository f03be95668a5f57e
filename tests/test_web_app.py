"""The Application: typed state, freezing, signals, cleanup contexts, sub-apps, config_dict."""

import asyncio
import warnings
from collections.abc import AsyncIterator

import pytest
from realistic_app import fetch, serve

from aiohttp import web

db_key = web.AppKey("db_key", str)
counter_key = web.AppKey("counter_key", int)


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


# -- state ------------------------------------------------------------------------------


def test_app_keys_store_typed_state() -> None:
    app = web.Application()
    app[db_key] = "postgres://"
    app[counter_key] = 3
    assert app[db_key] == "postgres://"
    assert app.get(counter_key) == 3
    assert app.get(web.AppKey("missing", int), 7) == 7
    assert db_key in app and len(app) == 2 and set(app) == {db_key, counter_key}
    del app[counter_key]
    assert counter_key not in app
    assert repr(db_key) == f"<AppKey({__name__}.db_key, type=str)>"


def test_plain_string_keys_work_with_a_warning() -> None:
    app = web.Application()
    with pytest.warns(web.NotAppKeyWarning):
        app["config"] = {"debug": True}
    assert app["config"] == {"debug": True}


def test_application_identity_and_call() -> None:
    app = web.Application()
    assert bool(app) is True  # an empty mapping, yet truthy
    assert app() is app  # gunicorn may call what it loads
    assert app != web.Application()
    assert repr(app).startswith("<Application 0x")
    assert {app: 1}[app] == 1


def test_custom_attributes_and_subclasses_are_discouraged() -> None:
    app = web.Application()
    with pytest.warns(DeprecationWarning, match="custom web.Application.extra"):
        app.extra = 1  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match="Inheritance"):

        class MyApp(web.Application):
            pass


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="client_max_size"):
        web.Application(client_max_size=-1)
    with pytest.raises(ValueError, match="client_max_size"):
        web.Application(client_max_size="big")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="middlewares"):
        web.Application(middlewares=[42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="handler_args"):
        web.Application(handler_args=[("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="router"):
        web.Application(router=object())  # type: ignore[arg-type]


# -- freezing ----------------------------------------------------------------------------


def test_frozen_app_refuses_structural_changes() -> None:
    app = web.Application()
    app.freeze()
    assert app.frozen and app.pre_frozen
    with pytest.raises(RuntimeError):
        app.router.add_get("/", ok)
    with pytest.raises(RuntimeError):
        app.middlewares.append(web.normalize_path_middleware())
    with pytest.raises(RuntimeError):
        app.on_startup.append(lambda app: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(RuntimeError):
        app.add_subapp("/sub", web.Application())
    with pytest.warns(DeprecationWarning, match="started"):
        app[db_key] = "late"


def test_sub_application_rules() -> None:
    app = web.Application()
    sub = web.Application()
    app.add_subapp("/sub", sub)
    with pytest.raises(RuntimeError):  # a sub-app is frozen once added
        sub.router.add_get("/late", ok)
    with pytest.raises(RuntimeError, match="frozen"):
        web.Application().add_subapp("/again", sub)
    with pytest.raises(ValueError, match="empty"):
        app.add_subapp("/", web.Application())
    with pytest.raises(TypeError, match="prefix"):
        app.add_subapp(None, web.Application())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="subapp"):
        app.add_subapp("/x", object())  # type: ignore[arg-type]


def test_make_handler_is_deprecated(loop: asyncio.AbstractEventLoop) -> None:
    app = web.Application()
    with pytest.warns(DeprecationWarning, match="AppRunner"):
        server = app.make_handler(loop=loop)
    assert isinstance(server, web.Server)


# -- signals and cleanup contexts ----------------------------------------------------


async def test_signals_run_in_order_over_a_real_server() -> None:
    events: list[str] = []

    async def on_startup(app: web.Application) -> None:
        events.append("startup")

    async def on_shutdown(app: web.Application) -> None:
        events.append("shutdown")

    async def on_cleanup(app: web.Application) -> None:
        events.append("cleanup")

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        events.append("ctx-up")
        yield
        events.append("ctx-down")

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Prepared"] = "yes"

    app = web.Application()
    app.router.add_get("/", ok)
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.cleanup_ctx.append(ctx)
    app.on_response_prepare.append(on_prepare)
    async with serve(app) as port:
        reply = await fetch(port, "/")
        assert reply.headers["X-Prepared"] == "yes"
        assert (await fetch(port, "/missing")).headers["X-Prepared"] == "yes"
        assert events == ["ctx-up", "startup"]
    assert events == ["ctx-up", "startup", "shutdown", "ctx-down", "cleanup"]


async def test_cleanup_ctx_unwinds_in_reverse_and_after_a_failed_setup() -> None:
    events: list[str] = []

    def make(name: str, fail: bool = False):  # type: ignore[no-untyped-def]
        async def ctx(app: web.Application) -> AsyncIterator[None]:
            if fail:
                raise RuntimeError(f"{name} failed")
            events.append(f"{name}-up")
            yield
            events.append(f"{name}-down")

        return ctx

    app = web.Application()
    app.cleanup_ctx.extend([make("a"), make("b"), make("c", fail=True)])
    runner = web.AppRunner(app)
    with pytest.raises(RuntimeError, match="c failed"):
        await runner.setup()
    await runner.cleanup()
    assert events == ["a-up", "b-up", "b-down", "a-down"]


async def test_cleanup_errors_are_collected() -> None:
    async def bad(app: web.Application) -> AsyncIterator[None]:
        yield
        raise ValueError("bad cleanup")

    async def two_yields(app: web.Application) -> AsyncIterator[None]:
        yield
        yield

    app = web.Application()
    app.cleanup_ctx.append(bad)
    app.cleanup_ctx.append(two_yields)
    runner = web.AppRunner(app)
    await runner.setup()
    with pytest.raises(web.CleanupError) as info:
        await runner.cleanup()
    assert len(info.value.exceptions) == 2


async def test_cleanup_ctx_accepts_async_context_managers() -> None:
    from contextlib import asynccontextmanager

    events: list[str] = []

    @asynccontextmanager
    async def resource(app: web.Application) -> AsyncIterator[None]:
        events.append("open")
        yield
        events.append("close")

    app = web.Application()
    app.cleanup_ctx.append(resource)
    async with serve(app):
        assert events == ["open"]
    assert events == ["open", "close"]


async def test_sub_application_signals_and_config_dict() -> None:
    events: list[str] = []
    outer_key = web.AppKey("outer", str)
    inner_key = web.AppKey("inner", str)

    async def sub_startup(app: web.Application) -> None:
        events.append("sub-startup")

    async def sub_cleanup(app: web.Application) -> None:
        events.append("sub-cleanup")

    async def handler(request: web.Request) -> web.Response:
        config = request.config_dict
        return web.json_response(
            {
                "outer": config[outer_key],
                "inner": config[inner_key],
                "is_sub": request.app is sub,
                "apps": len(request.match_info.apps),
            }
        )

    app = web.Application()
    app[outer_key] = "from outer"
    sub = web.Application()
    sub[inner_key] = "from inner"
    sub.on_startup.append(sub_startup)
    sub.on_cleanup.append(sub_cleanup)
    sub.router.add_get("/info", handler)
    app.add_subapp("/sub", sub)
    async with serve(app) as port:
        assert events == ["sub-startup"]
        reply = await fetch(port, "/sub/info")
        assert reply.json() == {"outer": "from outer", "inner": "from inner", "is_sub": True, "apps": 2}
    assert events == ["sub-startup", "sub-cleanup"]


# -- serving -------------------------------------------------------------------------------


async def test_client_max_size_limits_the_body() -> None:
    async def read(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    app = web.Application(client_max_size=10)
    app.router.add_post("/", read)
    async with serve(app) as port:
        assert (await fetch(port, "/", "POST", body=b"x" * 10)).text == "10"
        assert (await fetch(port, "/", "POST", body=b"x" * 11)).status == 413


async def test_handler_args_reach_the_server() -> None:
    app = web.Application(handler_args={"keepalive_timeout": 1.5})
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert runner.server is not None
        protocol = runner.server()
        assert protocol.keepalive_timeout == 1.5
    finally:
        await runner.cleanup()


async def test_handler_errors_become_500_and_exceptions_become_responses() -> None:
    async def boom(request: web.Request) -> web.Response:
        raise ZeroDivisionError

    async def teapot(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    app = web.Application()
    app.router.add_get("/boom", boom)
    app.router.add_get("/redirect", teapot)
    with warnings.catch_warnings():
        async with serve(app) as port:
            assert (await fetch(port, "/boom")).status == 500
            reply = await fetch(port, "/redirect")
            assert reply.status == 302 and reply.headers["Location"] == "/elsewhere"
