from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, loop_context


def _create_example_app():
    async def hello(request):
        return web.Response(text="Hello, world")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


def test_high_level():
    with loop_context() as loop:
        app = _create_example_app()

        async def test_get_route():
            async with TestClient(TestServer(app), loop=loop) as client:
                resp = await client.get("/")
                assert resp.status == 200
                text = await resp.text()
                assert "Hello, world" in text

        loop.run_until_complete(test_get_route())


def test_granular():
    with loop_context() as loop:
        app = _create_example_app()
        client = TestClient(TestServer(app), loop=loop)
        loop.run_until_complete(client.start_server())
        root = f"http://127.0.0.1:{client.port}"

        async def test_get_route():
            resp = await client.get("/")
            assert resp.status == 200
            assert str(resp.url).startswith(root)
            text = await resp.text()
            assert "Hello, world" in text

        loop.run_until_complete(test_get_route())
        loop.run_until_complete(client.close())
