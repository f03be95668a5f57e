"""Middlewares over real sockets: order, sub-apps, error pages and path normalisation."""

from collections.abc import Awaitable, Callable

import pytest
from realistic_app import fetch, serve

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tracer(name: str, log: list[str]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        log.append(f"{name}>{'sub' if request.app.get(sub_marker) else 'root'}")
        response = await handler(request)
        log.append(f"<{name}")
        return response

    return mw


sub_marker = web.AppKey("sub_marker", bool)


async def test_middlewares_run_in_order_outer_app_first() -> None:
    log: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        log.append("handler")
        return web.Response(text="ok")

    app = web.Application(middlewares=[tracer("a", log), web.middleware(tracer("b", log))])
    sub = web.Application(middlewares=[tracer("s", log)])
    sub[sub_marker] = True
    sub.router.add_get("/x", handler)
    app.router.add_get("/", handler)
    app.add_subapp("/sub", sub)
    async with serve(app) as port:
        assert (await fetch(port, "/")).text == "ok"
        assert log == ["a>root", "b>root", "handler", "<b", "<a"]
        log.clear()
        assert (await fetch(port, "/sub/x")).text == "ok"
        # request.app is the outer app inside its middlewares, the sub-app inside the sub-app's.
        assert log == ["a>root", "b>root", "s>sub", "handler", "<s", "<b", "<a"]
        log.clear()
        assert (await fetch(port, "/sub/missing")).status == 404
        assert log == ["a>root", "b>root", "s>sub"]  # 404 raised inside, middlewares still ran


async def test_middleware_sees_handler_attributes_and_can_answer_errors() -> None:
    def public(handler: Handler) -> Handler:
        handler.is_public = True  # type: ignore[attr-defined]
        return handler

    @public
    async def open_page(request: web.Request) -> web.Response:
        return web.Response(text="open")

    async def private_page(request: web.Request) -> web.Response:
        return web.Response(text="private")

    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not getattr(handler, "is_public", False) and request.headers.get("Authorization") != "token":
            raise web.HTTPUnauthorized()
        return await handler(request)

    async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return web.json_response({"error": "not found", "path": request.path}, status=404)

    app = web.Application(middlewares=[error_pages, auth])
    app.router.add_get("/open", open_page)
    app.router.add_get("/private", private_page)
    async with serve(app) as port:
        assert (await fetch(port, "/open")).text == "open"
        assert (await fetch(port, "/private")).status == 401
        assert (await fetch(port, "/private", headers={"Authorization": "token"})).text == "private"
        reply = await fetch(port, "/nope", headers={"Authorization": "token"})
        assert reply.status == 404 and reply.json() == {"error": "not found", "path": "/nope"}


async def test_middleware_runs_once_per_request() -> None:
    calls = []

    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        calls.append(request.path)
        return await handler(request)

    async def ok(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application(middlewares=[count])
    app.router.add_get("/", ok)
    async with serve(app) as port:
        for _ in range(3):
            await fetch(port, "/")
    assert calls == ["/", "/", "/"]


# -- normalize_path_middleware ----------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    return web.Response(text=request.path)


def normalizing_app(**kwargs: object) -> web.Application:
    app = web.Application(middlewares=[web.normalize_path_middleware(**kwargs)])  # type: ignore[arg-type]
    app.router.add_get("/docs/", page)
    app.router.add_get("/api/items", page)
    return app


async def test_append_slash_and_merge_slashes_redirect() -> None:
    async with serve(normalizing_app()) as port:
        reply = await fetch(port, "/docs?page=2")
        assert reply.status == 308 and reply.headers["Location"] == "/docs/?page=2"
        reply = await fetch(port, "/api//items")
        assert reply.status == 308 and reply.headers["Location"] == "/api/items"
        reply = await fetch(port, "//docs")
        assert reply.status == 308 and reply.headers["Location"] == "/docs/"
        assert (await fetch(port, "/docs/")).text == "/docs/"
        assert (await fetch(port, "/unknown")).status == 404


async def test_remove_slash_and_custom_redirect_class() -> None:
    app = normalizing_app(append_slash=False, remove_slash=True, redirect_class=web.HTTPFound)
    async with serve(app) as port:
        reply = await fetch(port, "/api/items/")
        assert reply.status == 302 and reply.headers["Location"] == "/api/items"


async def test_normalize_path_never_redirects_off_site() -> None:
    app = web.Application(middlewares=[web.normalize_path_middleware()])
    app.router.add_get("/{anything:.*}/", page)
    async with serve(app) as port:
        for path in ("//evil.com", "///evil.com", "/\\evil.com", "//evil.com/%2F.."):
            reply = await fetch(port, path)
            location = reply.headers.get("Location", "/")
            assert location.startswith("/"), (path, location)
            assert not location.startswith("//") and not location.startswith("/\\"), (path, location)


def test_normalize_path_bad_arguments() -> None:
    with pytest.raises(ValueError, match="append_slash"):
        web.normalize_path_middleware(append_slash=True, remove_slash=True)
    with pytest.raises(TypeError, match="redirect_class"):
        web.normalize_path_middleware(redirect_class=web.HTTPNotFound)  # type: ignore[arg-type]


async def test_nested_sub_applications_compose_middlewares_and_prefixes() -> None:
    log: list[str] = []
    name_key = web.AppKey("name", str)

    def named(name: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
            log.append(f"{name}:{request.app[name_key]}")
            return await handler(request)

        return mw

    async def leaf(request: web.Request) -> web.Response:
        log.append(f"handler:{request.app[name_key]}")
        return web.Response(text=str(request.app.router["leaf"].url_for(x="1")))

    root = web.Application(middlewares=[named("root")])
    middle = web.Application(middlewares=[named("middle")])
    inner = web.Application(middlewares=[named("inner")])
    for app, name in ((root, "root"), (middle, "middle"), (inner, "inner")):
        app[name_key] = name
    inner.router.add_get("/c/{x}", leaf, name="leaf")
    middle.add_subapp("/b", inner)
    root.add_subapp("/a", middle)
    async with serve(root) as port:
        assert (await fetch(port, "/a/b/c/1")).text == "/a/b/c/1"
    assert log == ["root:root", "middle:middle", "inner:inner", "handler:inner"]
