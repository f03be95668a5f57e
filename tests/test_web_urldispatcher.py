"""Routing over real sockets: plain and dynamic paths, 404/405, names, views, static files."""

import asyncio
import os
import pathlib
import warnings

import pytest
from realistic_app import fetch, parse_reply, raw, serve

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    info = dict(request.match_info)
    return web.json_response({"method": request.method, "match": info})


# -- plain and dynamic routes ---------------------------------------------------


async def test_plain_dynamic_and_regex_routes() -> None:
    app = web.Application()
    app.router.add_get("/", echo)
    app.router.add_get("/users/{user_id}", echo)
    app.router.add_get(r"/items/{item:\d+}", echo)
    app.router.add_get("/files/{path:.*}", echo)
    app.router.add_get(r"/code/{code:\d{3}}", echo)
    async with serve(app) as port:
        assert (await fetch(port, "/")).json() == {"method": "GET", "match": {}}
        assert (await fetch(port, "/users/ann")).json()["match"] == {"user_id": "ann"}
        assert (await fetch(port, "/items/42")).json()["match"] == {"item": "42"}
        assert (await fetch(port, "/items/abc")).status == 404
        assert (await fetch(port, "/files/a/b/c.txt")).json()["match"] == {"path": "a/b/c.txt"}
        assert (await fetch(port, "/code/404")).json()["match"] == {"code": "404"}
        assert (await fetch(port, "/code/4040")).status == 404


async def test_match_info_is_percent_decoded_and_slash_stays_in_one_part() -> None:
    app = web.Application()
    app.router.add_get("/users/{name}", echo)
    async with serve(app) as port:
        reply = await fetch(port, "/users/a%20b%2Fc")
        assert reply.json()["match"] == {"name": "a b/c"}
        assert (await fetch(port, "/users/a/b")).status == 404


async def test_plain_path_wins_over_dynamic_one() -> None:
    async def me(request: web.Request) -> web.Response:
        return web.Response(text="me")

    app = web.Application()
    app.router.add_get("/users/{name}", echo)
    app.router.add_get("/users/me", me)
    async with serve(app) as port:
        assert (await fetch(port, "/users/me")).text == "me"
        assert (await fetch(port, "/users/you")).json()["match"] == {"name": "you"}


async def test_404_and_405_with_allow_header() -> None:
    app = web.Application()
    app.router.add_get("/thing", echo)
    app.router.add_post("/thing", echo)
    async with serve(app) as port:
        assert (await fetch(port, "/nothing")).status == 404
        reply = await fetch(port, "/thing", "DELETE")
        assert reply.status == 405
        assert reply.headers["Allow"] == "GET,HEAD,POST"


async def test_add_get_answers_head_unless_told_not_to() -> None:
    app = web.Application()
    app.router.add_get("/with-head", echo)
    app.router.add_get("/no-head", echo, allow_head=False)
    async with serve(app) as port:
        reply = await fetch(port, "/with-head", "HEAD")
        assert reply.status == 200 and reply.body == b""
        assert (await fetch(port, "/no-head", "HEAD")).status == 405


async def test_any_method_route() -> None:
    app = web.Application()
    app.router.add_route("*", "/any", echo)
    async with serve(app) as port:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            assert (await fetch(port, "/any", method)).json()["method"] == method


# -- names and URLs -------------------------------------------------------------------


def test_url_for_named_resources() -> None:
    app = web.Application()
    app.router.add_get("/", echo, name="index")
    app.router.add_get("/users/{name}/posts/{post}", echo, name="user-post")
    assert str(app.router["index"].url_for()) == "/"
    url = app.router["user-post"].url_for(name="ann smith", post="7")
    assert str(url) == "/users/ann%20smith/posts/7"
    assert str(url.with_query(page=2)) == "/users/ann%20smith/posts/7?page=2"
    assert set(app.router.named_resources()) == {"index", "user-post"}
    assert "index" in app.router


def test_resources_and_routes_views() -> None:
    app = web.Application()
    app.router.add_get("/a", echo)
    app.router.add_post("/a", echo)
    app.router.add_get("/b/{x}", echo)
    resources = list(app.router.resources())
    assert [r.canonical for r in resources] == ["/a", "/b/{x}"]
    assert len(app.router.routes()) == 5  # GET+HEAD+POST on /a, GET+HEAD on /b/{x}
    assert {route.method for route in app.router.routes()} == {"GET", "HEAD", "POST"}
    resource = app.router.add_resource("/c", name="c")
    route = resource.add_route("PUT", echo)
    assert route.resource is resource and route.name == "c"
    assert resource.get_info() == {"path": "/c"}


def test_duplicate_route_name_names_both() -> None:
    app = web.Application()
    app.router.add_get("/one", echo, name="dup")
    with pytest.raises(ValueError, match=r"dup.*/two.*/one"):
        app.router.add_get("/two", echo, name="dup")


def test_same_method_and_path_twice_is_refused_naming_both() -> None:
    async def other(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_get("/x", echo)
    app.router.add_get("/y", echo)
    with pytest.raises(RuntimeError, match=r"(?s)other.*echo|echo.*other"):
        app.router.add_get("/x", other)
    with pytest.raises(RuntimeError, match="already registered"):
        app.router.add_post("/y", echo).resource.add_route("POST", other)  # type: ignore[union-attr]


def test_bad_route_arguments() -> None:
    router = web.Application().router
    with pytest.raises(TypeError, match="handler"):
        router.add_get("/x", "not a handler")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start with /"):
        router.add_get("x", echo)
    with pytest.raises(ValueError, match="unbalanced"):
        router.add_get("/x/{oops", echo)
    with pytest.raises(ValueError, match="Bad pattern"):
        router.add_get("/x/{a:(}", echo)
    with pytest.raises(ValueError, match="method"):
        router.add_route("GE T", "/x", echo)
    with pytest.raises(ValueError, match="Incorrect route name"):
        router.add_get("/x", echo, name="not valid!")
    with pytest.raises(TypeError, match="path"):
        router.add_get(b"/x", echo)  # type: ignore[arg-type]


async def test_sync_handler_is_deprecated_but_works() -> None:
    def sync_handler(request: web.Request) -> web.Response:
        return web.Response(text="sync")

    app = web.Application()
    with pytest.warns(DeprecationWarning, match="Bare functions"):
        app.router.add_get("/", sync_handler)
    async with serve(app) as port:
        assert (await fetch(port, "/")).text == "sync"


def test_frozen_router_refuses_routes() -> None:
    app = web.Application()
    app.freeze()
    with pytest.raises(RuntimeError, match="frozen"):
        app.router.add_get("/", echo)


# -- views and route definitions -------------------------------------------------------


class Article(web.View):
    async def get(self) -> web.Response:
        return web.json_response({"id": self.request.match_info["id"]})

    async def post(self) -> web.Response:
        return web.Response(status=201, text="created")


async def test_class_based_view_and_405_for_missing_methods() -> None:
    app = web.Application()
    app.router.add_view("/articles/{id}", Article)
    async with serve(app) as port:
        assert (await fetch(port, "/articles/3")).json() == {"id": "3"}
        assert (await fetch(port, "/articles/3", "POST")).status == 201
        reply = await fetch(port, "/articles/3", "DELETE")
        assert reply.status == 405
        assert reply.headers["Allow"] == "GET,POST"


async def test_route_table_def_and_route_functions(tmp_path: pathlib.Path) -> None:
    (tmp_path / "hello.txt").write_text("hello file")
    routes = web.RouteTableDef()

    @routes.get("/table")
    async def table(request: web.Request) -> web.Response:
        return web.Response(text="table")

    @routes.view("/view/{id}")
    class TableView(Article):
        pass

    routes.static("/files", tmp_path)

    async def posted(request: web.Request) -> web.Response:
        return web.Response(text="posted")

    app = web.Application()
    app.add_routes(routes)
    registered = app.add_routes(
        [web.post("/posted", posted), web.route("PATCH", "/patched", posted), web.get("/got", posted, name="got")]
    )
    assert [r.method for r in registered] == ["POST", "PATCH", "GET"]
    assert len(routes) == 3 and "<RouteTableDef count=3>" == repr(routes)
    async with serve(app) as port:
        assert (await fetch(port, "/table")).text == "table"
        assert (await fetch(port, "/view/9")).json() == {"id": "9"}
        assert (await fetch(port, "/files/hello.txt")).text == "hello file"
        assert (await fetch(port, "/posted", "POST")).text == "posted"
        assert (await fetch(port, "/patched", "PATCH")).text == "posted"
        assert (await fetch(port, "/got", "HEAD")).status == 200


def test_add_routes_refuses_what_is_not_a_route_definition() -> None:
    app = web.Application()
    with pytest.raises(TypeError, match="route definitions"):
        app.add_routes([("GET", "/", echo)])  # type: ignore[list-item]


# -- sub-applications and domains ----------------------------------------------------


async def test_sub_application_routes_and_urls() -> None:
    admin = web.Application()
    admin.router.add_get("/", echo, name="admin-index")
    admin.router.add_get("/users/{name}", echo, name="admin-user")
    app = web.Application()
    app.router.add_get("/", echo)
    resource = app.add_subapp("/admin/", admin)
    assert resource.canonical == "/admin"
    assert str(admin.router["admin-user"].url_for(name="x")) == "/admin/users/x"
    async with serve(app) as port:
        assert (await fetch(port, "/admin/users/bob")).json()["match"] == {"name": "bob"}
        assert (await fetch(port, "/admin/")).status == 200
        assert (await fetch(port, "/admin/missing")).status == 404
        assert (await fetch(port, "/admin/users/bob", "POST")).status == 405


async def test_domain_sub_applications() -> None:
    async def which(request: web.Request) -> web.Response:
        return web.Response(text=request.app["name"])

    def make(name: str) -> web.Application:
        sub = web.Application()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            sub["name"] = name
        sub.router.add_get("/", which)
        return sub

    app = web.Application()
    app.add_domain("api.example.com", make("api"))
    app.add_domain("*.example.org", make("wild"))
    async with serve(app) as port:
        assert (await fetch(port, "/", headers={"Host": "api.example.com"})).text == "api"
        assert (await fetch(port, "/", headers={"Host": "API.example.com:8080"})).text == "api"
        assert (await fetch(port, "/", headers={"Host": "x.example.org"})).text == "wild"
        assert (await fetch(port, "/", headers={"Host": "example.net"})).status == 404


def test_add_domain_rejects_bad_domains() -> None:
    app = web.Application()
    with pytest.raises(TypeError, match="domain"):
        app.add_domain(123, web.Application())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="domain"):
        app.add_domain("http://example.com", web.Application())
    with pytest.raises(ValueError, match="domain"):
        app.add_domain("", web.Application())


# -- Expect: 100-continue --------------------------------------------------------------


async def test_expect_100_continue_is_sent_only_when_the_body_is_read() -> None:
    async def reads(request: web.Request) -> web.Response:
        return web.Response(text=(await request.read()).decode())

    async def refuses(request: web.Request) -> web.Response:
        raise web.HTTPRequestEntityTooLarge(max_size=1, actual_size=5)

    app = web.Application()
    app.router.add_post("/reads", reads)
    app.router.add_post("/refuses", refuses)
    async with serve(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /reads HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        reply = parse_reply(await asyncio.wait_for(reader.read(), 5))
        writer.close()
        assert reply.status == 200 and reply.text == "hello"

        data = await raw(port, b"POST /refuses HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 413")


async def test_unknown_expectation_gets_417_and_custom_expect_handler_can_answer() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="handled")

    async def no_uploads(request: web.Request) -> web.Response:
        return web.Response(status=403, text="no uploads here")

    app = web.Application()
    app.router.add_post("/", handler)
    app.router.add_post("/guarded", handler, expect_handler=no_uploads)
    async with serve(app) as port:
        reply = await fetch(port, "/", "POST", headers={"Expect": "something-else"}, body=b"x")
        assert reply.status == 417
        reply = await fetch(port, "/guarded", "POST", headers={"Expect": "100-continue"}, body=b"x")
        assert reply.status == 403 and reply.text == "no uploads here"


# -- static files ---------------------------------------------------------------------------


@pytest.fixture
def static_root(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "css" / "site.css").write_text("body {}")
    (root / "with space.txt").write_text("spaced")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(root / "index.html", root / "link-in.html")
    return root


async def test_static_files_are_served(static_root: pathlib.Path) -> None:
    app = web.Application()
    app.router.add_static("/static/", static_root, name="static")
    async with serve(app) as port:
        reply = await fetch(port, "/static/css/site.css")
        assert reply.status == 200 and reply.text == "body {}"
        assert reply.headers["Content-Type"].startswith("text/css")
        assert (await fetch(port, "/static/with%20space.txt")).text == "spaced"
        assert (await fetch(port, "/static/index.html", "HEAD")).status == 200
        assert (await fetch(port, "/static/missing.txt")).status == 404
        assert (await fetch(port, "/static/css")).status == 403  # a directory, no index
        assert (await fetch(port, "/static/index.html", "POST")).status == 405
        assert (await fetch(port, "/static/link-in.html")).text == "<h1>home</h1>"


async def test_static_never_serves_outside_its_root(static_root: pathlib.Path) -> None:
    app = web.Application()
    app.router.add_static("/static", static_root)
    attacks = [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/css/../../secret.txt",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static/link-out.txt",
        "/static/%00",
    ]
    async with serve(app) as port:
        for path in attacks:
            data = await raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            reply = parse_reply(data)
            assert reply.status in (400, 403, 404), (path, reply.status)
            assert b"TOP SECRET" not in data and b"root:" not in data, path


async def test_static_follow_symlinks_allows_links_out(static_root: pathlib.Path) -> None:
    app = web.Application()
    app.router.add_static("/static", static_root, follow_symlinks=True)
    async with serve(app) as port:
        assert (await fetch(port, "/static/link-out.txt")).text == "TOP SECRET"
        assert (await fetch(port, "/static/../secret.txt")).status in (403, 404)


async def test_static_directory_index(static_root: pathlib.Path) -> None:
    app = web.Application()
    app.router.add_static("/static", static_root, show_index=True)
    async with serve(app) as port:
        reply = await fetch(port, "/static/")
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
        assert 'href="/static/css"' in reply.text and "Index of /static/" in reply.text
        assert 'href="/static/with%20space.txt"' in reply.text


def test_static_url_for_and_append_version(static_root: pathlib.Path) -> None:
    app = web.Application()
    resource = app.router.add_static("/static", static_root, name="static")
    assert str(resource.url_for(filename="css/site.css")) == "/static/css/site.css"
    assert str(resource.url_for(filename="with space.txt")) == "/static/with%20space.txt"
    versioned = resource.url_for(filename="css/site.css", append_version=True)
    assert versioned.path == "/static/css/site.css" and len(versioned.query["v"]) > 20
    assert "v" not in resource.url_for(filename="missing.css", append_version=True).query
    assert resource.get_info()["prefix"] == "/static"


def test_add_static_bad_arguments(tmp_path: pathlib.Path) -> None:
    router = web.Application().router
    with pytest.raises(ValueError, match="does not exist"):
        router.add_static("/s", tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        router.add_static("/s", tmp_path / "file")
    with pytest.raises(ValueError, match="start with /"):
        router.add_static("s", tmp_path)
    with pytest.raises(ValueError, match="chunk_size"):
        router.add_static("/s", tmp_path, chunk_size=0)


async def test_deep_paths_resolve_like_short_ones() -> None:
    app = web.Application()
    app.router.add_get("/a/{rest:.*}", echo)
    app.router.add_get("/x/y", echo)
    async with serve(app) as port:
        deep = "/a/" + "s/" * 3000 + "end"
        reply = await fetch(port, deep)
        assert reply.status == 200 and reply.json()["match"]["rest"].endswith("s/end")
        assert (await fetch(port, "/x/y")).status == 200
        assert (await fetch(port, "/x/y/" + "z/" * 3000)).status == 404
