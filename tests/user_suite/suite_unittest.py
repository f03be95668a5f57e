from aiohttp import web
from aiohttp.test_utils import AioHTTPTestCase


class MyAppTestCase(AioHTTPTestCase):
    async def get_application(self):
        """
        Override the get_app method to return your application.
        """

        async def hello(request):
            return web.Response(text="Hello, world")

        app = web.Application()
        app.router.add_get("/", hello)
        return app

    async def test_example(self):
        async with self.client.request("GET", "/") as resp:
            self.assertEqual(resp.status, 200)
            text = await resp.text()
        self.assertIn("Hello, world", text)

    async def test_get(self):
        resp = await self.client.get("/")
        assert resp.status == 200

    def test_attributes(self):
        assert self.app is not None
        assert self.server.app is self.app
        assert self.client.server is self.server


class SetUpTestCase(AioHTTPTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.extra = "ready"

    async def get_application(self):
        async def hello(request):
            return web.Response(text=request.app["greeting"])

        app = web.Application()
        app["greeting"] = "hi"
        app.router.add_get("/", hello)
        return app

    async def test_extra(self):
        assert self.extra == "ready"
        resp = await self.client.get("/")
        assert await resp.text() == "hi"
