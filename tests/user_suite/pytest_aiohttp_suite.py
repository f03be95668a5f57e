import pytest

from aiohttp import web


async def hello(request):
    return web.Response(body=b"Hello, world")


def create_app():
    app = web.Application()
    app.router.add_route("GET", "/", hello)
    return app


async def test_hello(aiohttp_client):
    client = await aiohttp_client(create_app())
    resp = await client.get("/")
    assert resp.status == 200
    text = await resp.text()
    assert "Hello, world" in text


@pytest.fixture
async def cli(aiohttp_client):
    return await aiohttp_client(create_app())


async def test_async_fixture(cli):
    resp = await cli.get("/")
    assert resp.status == 200


async def test_server_then_client(aiohttp_server, aiohttp_client):
    server = await aiohttp_server(create_app())
    client = await aiohttp_client(server)
    resp = await client.get("/")
    assert await resp.text() == "Hello, world"


async def test_raw_server(aiohttp_raw_server, aiohttp_client):
    async def handler(request):
        return web.Response(text="OK")

    raw_server = await aiohttp_raw_server(handler)
    client = await aiohttp_client(raw_server)
    resp = await client.get("/")
    assert resp.status == 200
    assert await resp.text() == "OK"


async def test_unused_port(aiohttp_client, unused_tcp_port):
    port = unused_tcp_port
    client = await aiohttp_client(create_app(), server_kwargs={"port": port})
    assert client.port == port
    resp = await client.get("/")
    assert resp.status == 200


async def test_app_state(aiohttp_client):
    app = create_app()
    app["value"] = "kept"
    client = await aiohttp_client(app)
    assert client.server.app["value"] == "kept"
