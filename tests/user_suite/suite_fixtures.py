import pytest

from aiohttp import web


async def hello(request):
    return web.Response(text="Hello, world")


async def previous(request):
    if request.method == "POST":
        request.app["value"] = (await request.post())["value"]
        return web.Response(body=b"thanks for the data")
    return web.Response(body="value: {}".format(request.app["value"]).encode("utf-8"))


def create_app():
    app = web.Application()
    app.router.add_get("/", hello)
    return app


async def test_hello(aiohttp_client):
    app = web.Application()
    app.router.add_get("/", hello)
    client = await aiohttp_client(app)
    resp = await client.get("/")
    assert resp.status == 200
    text = await resp.text()
    assert "Hello, world" in text


@pytest.fixture
async def cli(aiohttp_client):
    app = web.Application()
    app.router.add_get("/", previous)
    app.router.add_post("/", previous)
    return await aiohttp_client(app)


async def test_set_value(cli):
    resp = await cli.post("/", data={"value": "foo"})
    assert resp.status == 200
    assert await resp.text() == "thanks for the data"
    assert cli.server.app["value"] == "foo"


async def test_get_value(cli):
    cli.server.app["value"] = "bar"
    resp = await cli.get("/")
    assert resp.status == 200
    assert await resp.text() == "value: bar"


@pytest.fixture
def sync_cli(loop, aiohttp_client):
    app = web.Application()
    app.router.add_get("/", previous)
    app.router.add_post("/", previous)
    return loop.run_until_complete(aiohttp_client(app))


async def test_fixture_made_with_the_loop(sync_cli):
    sync_cli.server.app["value"] = "baz"
    resp = await sync_cli.get("/")
    assert await resp.text() == "value: baz"


async def test_aiohttp_server(aiohttp_server, aiohttp_client):
    server = await aiohttp_server(create_app())
    assert server.port
    client = await aiohttp_client(server)
    resp = await client.get("/")
    assert resp.status == 200


async def test_aiohttp_server_url(aiohttp_server):
    server = await aiohttp_server(create_app())
    assert str(server.make_url("/")) == f"http://127.0.0.1:{server.port}/"


async def test_aiohttp_raw_server(aiohttp_raw_server, aiohttp_client):
    async def handler(request):
        return web.Response(text="OK")

    raw_server = await aiohttp_raw_server(handler)
    client = await aiohttp_client(raw_server)
    resp = await client.get("/")
    assert resp.status == 200
    assert await resp.text() == "OK"


async def test_unused_port(aiohttp_client, aiohttp_unused_port):
    port = aiohttp_unused_port()
    client = await aiohttp_client(create_app(), server_kwargs={"port": port})
    assert client.port == port
    resp = await client.get("/")
    assert resp.status == 200


async def test_client_kwargs_reach_the_session(aiohttp_client):
    async def show(request):
        return web.Response(text=request.headers.get("X-Token", ""))

    app = web.Application()
    app.router.add_get("/", show)
    client = await aiohttp_client(app, headers={"X-Token": "t"})
    resp = await client.get("/")
    assert await resp.text() == "t"


async def test_cookies_persist_between_requests(aiohttp_client):
    async def login(request):
        resp = web.Response(text="in")
        resp.set_cookie("user", "alice")
        return resp

    async def whoami(request):
        return web.Response(text=request.cookies.get("user", "nobody"))

    app = web.Application()
    app.router.add_get("/login", login)
    app.router.add_get("/whoami", whoami)
    client = await aiohttp_client(app)
    await client.get("/login")
    resp = await client.get("/whoami")
    assert await resp.text() == "alice"


async def test_json_round_trip(aiohttp_client):
    async def echo(request):
        return web.json_response(await request.json())

    app = web.Application()
    app.router.add_post("/echo", echo)
    client = await aiohttp_client(app)
    async with client.post("/echo", json={"a": 1}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"a": 1}


async def test_app_state_from_startup(aiohttp_client):
    async def startup(app):
        app["db"] = "connected"

    async def show(request):
        return web.Response(text=request.app["db"])

    app = web.Application()
    app.on_startup.append(startup)
    app.router.add_get("/", show)
    client = await aiohttp_client(app)
    resp = await client.get("/")
    assert await resp.text() == "connected"


def test_sync_test_with_loop(loop):
    async def add(a, b):
        return a + b

    assert loop.run_until_complete(add(1, 2)) == 3
