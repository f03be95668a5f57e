"""Route resolution: a static path, and a dynamic one behind 50 other routes."""

from __future__ import annotations

import pytest
from conftest import run_now

web = pytest.importorskip("aiohttp.web")
test_utils = pytest.importorskip("aiohttp.test_utils")


async def handler(request):
    return web.Response(text="ok")


@pytest.fixture
def app(loop):
    app = web.Application()
    app.router.add_get("/", handler)
    for i in range(25):
        app.router.add_get(f"/static{i}/page", handler)
        app.router.add_get(f"/api/v{i}/{{name}}/items", handler)
    app.router.add_get("/user/{id}", handler)
    app.freeze()
    return app


@pytest.mark.parametrize(
    "path",
    ["/", "/static24/page", "/user/12345", "/nowhere"],
    ids=["root", "static", "dynamic", "miss"],
)
def test_resolve(benchmark, loop, app, path: str) -> None:
    request = test_utils.make_mocked_request("GET", path, app=app)

    def resolve():
        return run_now(loop, app.router.resolve(request))

    match_info = benchmark(resolve)
    if path == "/user/12345":
        assert match_info["id"] == "12345"
