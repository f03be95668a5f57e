"""aiohttp.test_utils: test servers on loopback, the test client, mocked requests, loops."""

import asyncio
import socket
import ssl
import unittest
from typing import Any

import pytest
from multidict import CIMultiDict
from yarl import URL

from aiohttp import web
from aiohttp.test_utils import (
    AioHTTPTestCase,
    RawTestServer,
    TestClient,
    TestServer,
    get_port_socket,
    get_unused_port_socket,
    loop_context,
    make_mocked_coro,
    make_mocked_request,
    setup_test_loop,
    teardown_test_loop,
    unittest_run_loop,
    unused_port,
)

SESSION = web.AppKey("SESSION", str)


async def echo(request: web.BaseRequest) -> web.Response:
    body = await request.read()
    return web.Response(
        text=f"{request.method} {request.path_qs} {body.decode()}",
        headers={"X-Cookie": request.headers.get("Cookie", "")},
    )


def make_app() -> web.Application:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Hello, world")

    async def set_cookie(request: web.Request) -> web.Response:
        resp = web.Response(text="set")
        resp.set_cookie("session", "abc")
        return resp

    async def show_cookie(request: web.Request) -> web.Response:
        return web.Response(text=request.cookies.get("session", "none"))

    app.router.add_get("/", hello)
    app.router.add_get("/set", set_cookie)
    app.router.add_get("/show", show_cookie)
    return app


# -- RawTestServer and TestClient ---------------------------------------------------


async def test_raw_server_serves_a_handler_on_loopback() -> None:
    async with RawTestServer(echo) as server:
        assert server.host == "127.0.0.1"
        assert server.scheme == "http"
        assert isinstance(server.port, int)
        assert server.make_url("/a?b=1") == URL(f"http://127.0.0.1:{server.port}/a?b=1")
        async with TestClient(server) as client:
            resp = await client.get("/a?b=1")
            assert resp.status == 200
            assert await resp.text() == "GET /a?b=1 "


async def test_client_has_every_request_method() -> None:
    async with TestClient(RawTestServer(echo)) as client:
        for method in ("get", "post", "put", "patch", "delete", "options"):
            resp = await getattr(client, method)("/m", data=b"x" if method != "get" else None)
            expected = method.upper() + " /m " + ("x" if method != "get" else "")
            assert await resp.text() == expected
        resp = await client.head("/m")
        assert resp.status == 200
        assert await resp.read() == b""
        resp = await client.request("POST", "/r", data="body")
        assert await resp.text() == "POST /r body"


async def test_client_requests_work_as_context_managers() -> None:
    async with TestClient(RawTestServer(echo)) as client:
        async with client.get("/ctx") as resp:
            assert await resp.text() == "GET /ctx "


async def test_client_exposes_server_session_and_address() -> None:
    server = RawTestServer(echo)
    client = TestClient(server)
    try:
        await client.start_server()
        assert client.server is server
        assert client.app is None
        assert client.host == "127.0.0.1"
        assert client.port == server.port
        assert client.scheme == "http"
        assert client.make_url("/x") == server.make_url("/x")
        # The session takes absolute URLs.
        resp = await client.session.get(client.make_url("/abs"))
        assert await resp.text() == "GET /abs "
        resp.release()
    finally:
        await client.close()
    assert client.session.closed
    assert server.closed


async def test_close_twice_is_harmless() -> None:
    client = TestClient(RawTestServer(echo))
    await client.start_server()
    await client.close()
    await client.close()


async def test_close_releases_unread_responses() -> None:
    client = TestClient(RawTestServer(echo))
    await client.start_server()
    resp = await client.get("/never-read")
    await client.close()
    assert resp.closed


async def test_server_start_is_idempotent_and_port_can_be_chosen() -> None:
    port = unused_port()
    server = RawTestServer(echo, port=port)
    await server.start_server()
    try:
        await server.start_server()
        assert server.port == port
        assert server.started
        assert isinstance(server.handler, web.Server)
        assert server.server is not None
    finally:
        await server.close()
    assert server.port is None


async def test_server_passes_options_to_web_server() -> None:
    async def boom(request: web.BaseRequest) -> web.Response:
        raise RuntimeError("boom")

    async with TestClient(RawTestServer(boom, debug=True)) as client:
        resp = await client.get("/")
        assert resp.status == 500


async def test_ipv6_loopback_server() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        get_port_socket("::1", 0, socket.AF_INET6).close()
    except OSError:
        pytest.skip("::1 is not available")
    async with TestClient(RawTestServer(echo, host="::1")) as client:
        assert str(client.make_url("/")).startswith("http://[::1]:")
        resp = await client.get("/v6")
        assert await resp.text() == "GET /v6 "


async def test_make_url_refuses_absolute_urls_unless_asked() -> None:
    async with RawTestServer(echo) as server:
        with pytest.raises(AssertionError):
            server.make_url("http://example.com/")
    async with RawTestServer(echo, skip_url_asserts=True) as server:
        assert str(server.make_url("/p")).endswith("/p")


async def test_https_server_with_trustme() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    server = RawTestServer(echo)
    await server.start_server(ssl=server_ctx)
    async with TestClient(server) as client:
        assert client.scheme == "https"
        resp = await client.get("/tls", ssl=client_ctx)
        assert await resp.text() == "GET /tls "


def test_sync_with_is_refused() -> None:
    server = RawTestServer(echo)
    with pytest.raises(TypeError, match="async with"):
        with server:
            pass


def test_client_refuses_what_is_not_a_server() -> None:
    with loop_context() as loop:
        with pytest.raises(TypeError, match="TestServer"):
            TestClient("http://127.0.0.1/", loop=loop)  # type: ignore[arg-type]


def test_test_server_refuses_what_is_not_an_app() -> None:
    with pytest.raises(TypeError, match="Application"):
        TestServer(object())  # type: ignore[arg-type]


def test_framework_agnostic_use_with_loop_context() -> None:
    with loop_context() as loop:
        client = TestClient(RawTestServer(echo), loop=loop)
        loop.run_until_complete(client.start_server())

        async def go() -> str:
            resp = await client.get("/plain")
            return await resp.text()

        assert loop.run_until_complete(go()) == "GET /plain "
        loop.run_until_complete(client.close())


# -- with an Application ------------------------------------------------------------


async def test_test_server_runs_an_application() -> None:
    app = make_app()
    async with TestClient(TestServer(app)) as client:
        assert client.app is app
        resp = await client.get("/")
        assert await resp.text() == "Hello, world"


async def test_client_keeps_cookies_from_the_loopback_server() -> None:
    async with TestClient(TestServer(make_app())) as client:
        await (await client.get("/set")).read()
        assert "session" in {c.key for c in client.session.cookie_jar}
        resp = await client.get("/show")
        assert await resp.text() == "abc"


async def test_client_accepts_an_application_directly() -> None:
    async with TestClient(make_app()) as client:
        resp = await client.get("/")
        assert resp.status == 200


# -- make_mocked_request -----------------------------------------------------------


def test_mocked_request_has_method_path_headers() -> None:
    req = make_mocked_request("POST", "/a/b?x=1", headers={"token": "x"})
    assert req.method == "POST"
    assert req.path == "/a/b"
    assert req.query["x"] == "1"
    assert req.headers["TOKEN"] == "x"
    assert req.raw_headers == ((b"token", b"x"),)
    assert req.remote == "127.0.0.1"
    assert req.scheme == "http"
    assert req.client_max_size == 1024**2


def test_mocked_request_headers_may_be_a_multidict() -> None:
    req = make_mocked_request("GET", "/", headers=CIMultiDict([("A", "1"), ("A", "2")]))
    assert req.headers.getall("a") == ["1", "2"]


def test_mocked_request_match_info_and_app() -> None:
    app = web.Application()
    app[SESSION] = "fake"
    req = make_mocked_request("GET", "/users/7", match_info={"id": "7"}, app=app)
    assert req.match_info["id"] == "7"
    assert req.app is app
    assert req.app[SESSION] == "fake"


def test_mocked_request_default_app_is_an_empty_application() -> None:
    req = make_mocked_request("GET", "/")
    assert isinstance(req.app, web.Application)
    req.app[SESSION] = "value"
    assert req.app[SESSION] == "value"
    assert req.config_dict[SESSION] == "value"


def test_mocked_request_sslcontext_makes_it_https() -> None:
    req = make_mocked_request("GET", "/", sslcontext=ssl.create_default_context())
    assert req.scheme == "https"
    assert req.secure


def test_mocked_request_custom_transport_writer_and_size() -> None:
    transport = make_mocked_request("GET", "/").transport
    writer = object()
    req = make_mocked_request(
        "GET", "/", transport=transport, writer=writer, client_max_size=10
    )
    assert req.transport is transport
    assert req.writer is writer
    assert req.client_max_size == 10


async def test_mocked_request_payload_is_read() -> None:
    from aiohttp.streams import StreamReader

    protocol: Any = type("P", (), {"_reading_paused": False})()
    payload = StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(b"hello")
    payload.feed_eof()
    req = make_mocked_request("POST", "/", payload=payload, loop=asyncio.get_running_loop())
    assert await req.read() == b"hello"


async def test_response_prepares_on_a_mocked_request() -> None:
    req = make_mocked_request("GET", "/")
    resp = web.Response(text="data")
    await resp.prepare(req)
    await resp.write_eof()
    req.writer.write_headers.assert_called_once()  # type: ignore[attr-defined]


def test_mocked_request_documented_example() -> None:
    def handler(request: web.Request) -> web.Response:
        assert request.headers.get("token") == "x"
        return web.Response(body=b"data")

    req = make_mocked_request("GET", "/", headers={"token": "x"})
    assert handler(req).body == b"data"


def test_mocked_request_refuses_bad_arguments() -> None:
    with pytest.raises(TypeError, match="method"):
        make_mocked_request(1, "/")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        make_mocked_request("GET", b"/")  # type: ignore[arg-type]


# -- make_mocked_coro, ports, loops ------------------------------------------------


async def test_make_mocked_coro_returns_and_records_calls() -> None:
    mocked = make_mocked_coro(1)
    assert await mocked(1, 2) == 1
    mocked.assert_called_with(1, 2)


async def test_make_mocked_coro_raises() -> None:
    mocked = make_mocked_coro(raise_exception=ValueError("no"))
    with pytest.raises(ValueError, match="no"):
        await mocked()


def test_unused_port_can_be_bound() -> None:
    port = unused_port()
    sock = get_port_socket("127.0.0.1", port)
    sock.close()
    sock = get_unused_port_socket("127.0.0.1")
    assert sock.getsockname()[1] > 0
    sock.close()


def test_setup_and_teardown_test_loop() -> None:
    loop = setup_test_loop()
    assert asyncio.get_event_loop_policy().get_event_loop() is loop

    async def forever() -> None:
        await asyncio.sleep(3600)

    task = loop.create_task(forever())
    teardown_test_loop(loop, fast=True)
    assert loop.is_closed()
    assert task.cancelled()


def test_loop_context_accepts_a_factory() -> None:
    made: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    with loop_context(factory) as loop:
        assert loop is made[0]
    assert loop.is_closed()


# -- AioHTTPTestCase -----------------------------------------------------------------


def test_unittest_run_loop_is_a_deprecated_no_op() -> None:
    async def f() -> None:
        pass

    with pytest.warns(DeprecationWarning):
        assert unittest_run_loop(f) is f


def test_aiohttp_test_case_runs_against_the_app() -> None:
    class Case(AioHTTPTestCase):
        async def get_application(self) -> web.Application:
            return make_app()

        async def test_hello(self) -> None:
            resp = await self.client.get("/")
            self.assertEqual(await resp.text(), "Hello, world")
            self.assertIs(self.client.app, self.app)
            self.assertIs(self.client.server, self.server)
            self.assertIs(asyncio.get_running_loop(), self.loop)

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert result.testsRun == 1


def test_aiohttp_test_case_without_get_application_errors() -> None:
    class Case(AioHTTPTestCase):
        async def test_nothing(self) -> None:
            pass

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert len(result.errors) == 1
    assert "get_application" in result.errors[0][1]


def test_aiohttp_test_case_older_async_hooks_still_run() -> None:
    calls: list[str] = []

    class Case(AioHTTPTestCase):
        async def get_application(self) -> web.Application:
            return make_app()

        async def setUpAsync(self) -> None:
            calls.append(f"setUp, client started: {self.client.port is not None}")

        async def tearDownAsync(self) -> None:
            calls.append("tearDown")

        async def test_nothing(self) -> None:
            calls.append("test")

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert calls == ["setUp, client started: True", "test", "tearDown"]
