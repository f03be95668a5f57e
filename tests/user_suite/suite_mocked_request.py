from aiohttp import web
from aiohttp.test_utils import make_mocked_coro, make_mocked_request


def handler(request):
    assert request.headers.get("token") == "x"
    return web.Response(body=b"data")


def test_handler():
    req = make_mocked_request("GET", "/", headers={"token": "x"})
    resp = handler(req)
    assert resp.body == b"data"


def test_match_info():
    req = make_mocked_request("GET", "/user/42", match_info={"name": "42"})
    assert req.match_info["name"] == "42"


def test_app():
    app = web.Application()
    app["setting"] = 1
    req = make_mocked_request("GET", "/", app=app)
    assert req.app["setting"] == 1


async def test_mocked_coro():
    mocked = make_mocked_coro(1)
    assert 1 == await mocked(1, 2)
    mocked.assert_called_with(1, 2)
