"""Redirects, cookies, client middlewares and request-id propagation."""

import asyncio
import time
from http.cookies import SimpleCookie

import pytest
from client_servers import Reply, Request, serve
from yarl import URL

import aiohttp
from aiohttp.client_middlewares import propagate_request_id, request_id_middleware
from aiohttp.cookiejar import CookieJar, DummyCookieJar


def redirector(req: Request) -> Reply:
    """/r/<status>/<n> redirects n times with <status>; /target answers with the method."""
    parts = req.path.strip("/").split("/")
    if parts[0] == "r":
        status, count = int(parts[1]), int(parts[2])
        location = f"/r/{status}/{count - 1}" if count > 1 else "/target"
        if req.query:
            location += "?" + req.query
        return Reply(status, b"moved", [("Location", location)], "Redirect")
    if parts[0] == "loop":
        return Reply(302, b"", [("Location", "/loop")], "Found")
    if parts[0] == "nolocation":
        return Reply(302, b"", [], "Found")
    if parts[0] == "bad":
        return Reply(302, b"", [("Location", "ftp://example.com/")], "Found")
    body = f"{req.method} {req.body.decode()} {req.headers.get('Content-Type', '-')}"
    return Reply(200, body.encode())


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [
        (301, "POST", "GET  -"),
        (302, "POST", "GET  -"),
        (303, "POST", "GET  -"),
        (303, "PUT", "GET  -"),
        (307, "POST", "POST data application/octet-stream"),
        (308, "PUT", "PUT data application/octet-stream"),
        (302, "PUT", "PUT data application/octet-stream"),
    ],
)
async def test_method_rewriting_on_redirect(status: int, method: str, expected: str) -> None:
    async with serve(redirector) as srv, aiohttp.ClientSession() as session:
        async with session.request(method, srv.url(f"/r/{status}/1"), data=b"data") as resp:
            assert resp.status == 200
            assert await resp.text() == expected
            assert [r.status for r in resp.history] == [status]
            assert resp.url == URL(srv.url("/target"))


async def test_history_and_reuse_across_hops() -> None:
    async with serve(redirector) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/r/302/3")) as resp:
            assert resp.status == 200
            assert len(resp.history) == 3
            assert resp.history[0].url == URL(srv.url("/r/302/3"))
            assert all(r.status == 302 for r in resp.history)
        assert srv.connections == 1  # small redirect bodies are drained, the connection reused


async def test_allow_redirects_false_returns_the_redirect() -> None:
    async with serve(redirector) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/r/302/1"), allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/target"
            assert resp.history == ()


async def test_too_many_redirects() -> None:
    async with serve(redirector) as srv, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.TooManyRedirects) as info:
            await session.get(srv.url("/loop"), max_redirects=3)
        assert len(info.value.history) == 4
        assert isinstance(info.value, aiohttp.ClientResponseError)


async def test_redirect_without_location_is_returned() -> None:
    async with serve(redirector) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/nolocation")) as resp:
            assert resp.status == 302


async def test_redirect_to_non_http_scheme_is_refused() -> None:
    async with serve(redirector) as srv, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.NonHttpUrlRedirectClientError):
            await session.get(srv.url("/bad"))
        assert issubclass(aiohttp.NonHttpUrlRedirectClientError, aiohttp.InvalidURL)


async def test_credentials_dropped_when_redirected_to_another_host() -> None:
    seen: list[Request] = []

    async with serve(lambda r: Reply(200, b"landed"), seen) as other:

        def first(req: Request) -> Reply:
            if req.path == "/same":
                return Reply(302, b"", [("Location", "/check")], "Found")
            if req.path == "/check":
                return Reply(200, req.headers.get("Authorization", "none").encode())
            return Reply(302, b"", [("Location", other.url("/elsewhere"))], "Found")

        async with serve(first) as srv, aiohttp.ClientSession() as session:
            auth = aiohttp.BasicAuth("user", "secret")
            async with session.get(srv.url("/same"), auth=auth) as resp:
                assert (await resp.text()).startswith("Basic ")
            async with session.get(
                srv.url("/away"), auth=auth, headers={"Cookie": "sid=1"}
            ) as resp:
                assert await resp.text() == "landed"
    assert "Authorization" not in seen[0].headers
    assert "Cookie" not in seen[0].headers


# -- cookies ----------------------------------------------------------------------------


def cookie_server(req: Request) -> Reply:
    if req.path == "/set":
        return Reply(
            200,
            b"set",
            [
                ("Set-Cookie", "session=abc; Path=/; HttpOnly"),
                ("Set-Cookie", "scoped=1; Path=/app"),
                ("Set-Cookie", "gone=x; Max-Age=0"),
            ],
        )
    if req.path == "/login":
        return Reply(302, b"", [("Location", "/show"), ("Set-Cookie", "auth=yes; Path=/")], "Found")
    return Reply(200, req.headers.get("Cookie", "").encode())


async def test_cookies_are_stored_and_sent_back() -> None:
    async with serve(cookie_server) as srv:
        jar = CookieJar(unsafe=True)  # 127.0.0.1 is an IP address: needs unsafe
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(srv.url("/set")) as resp:
                assert resp.cookies["session"].value == "abc"
            async with session.get(srv.url("/show")) as resp:
                assert await resp.text() == "session=abc"
            async with session.get(srv.url("/app/page")) as resp:
                assert await resp.text() == "scoped=1; session=abc"
            assert len(jar) == 2
            assert {m.key for m in jar} == {"session", "scoped"}


async def test_cookies_set_by_a_redirect_are_sent_on_the_next_hop() -> None:
    async with serve(cookie_server) as srv:
        async with aiohttp.ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
            async with session.get(srv.url("/login")) as resp:
                assert await resp.text() == "auth=yes"


async def test_default_jar_ignores_cookies_from_ip_addresses() -> None:
    async with serve(cookie_server) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/set")) as resp:
            await resp.read()
        assert len(session.cookie_jar) == 0
        url = srv.url("/set").replace("127.0.0.1", "localhost")
        async with session.get(url) as resp:
            await resp.read()
        async with session.get(url.replace("/set", "/show")) as resp:
            assert await resp.text() == "session=abc"


async def test_session_cookies_and_request_cookies() -> None:
    async with serve(cookie_server) as srv:
        async with aiohttp.ClientSession(cookies={"shared": "1"}) as session:
            async with session.get(srv.url("/show")) as resp:
                assert await resp.text() == "shared=1"
            async with session.get(srv.url("/show"), cookies={"extra": "two words"}) as resp:
                assert await resp.text() == 'shared=1; extra="two words"'


async def test_dummy_cookie_jar_keeps_nothing() -> None:
    async with serve(cookie_server) as srv:
        async with aiohttp.ClientSession(cookie_jar=DummyCookieJar()) as session:
            async with session.get(srv.url("/set")) as resp:
                await resp.read()
            async with session.get(srv.url("/show")) as resp:
                assert await resp.text() == ""
            assert len(session.cookie_jar) == 0


def test_cookie_jar_domain_path_secure_and_expiry_rules() -> None:
    jar = CookieJar()
    set_cookie_headers = [
        "host=1; Path=/",
        "wide=2; Domain=example.com; Path=/",
        "sec=3; Secure; Path=/",
        "deep=4; Path=/a/b",
        "soon=5; Max-Age=1000",
        "old=6; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ]
    cookies = SimpleCookie()
    for header in set_cookie_headers:
        cookies.load(header)
    jar.update_cookies(cookies, URL("http://www.example.com/a/index.html"))
    jar.update_cookies({"plain": "1"}, URL("http://www.example.com/"))
    # a host may not set cookies for another domain
    jar.update_cookies(SimpleCookie("x=1; Domain=other.org"), URL("http://www.example.com/"))

    def names(url: str) -> set[str]:
        return set(jar.filter_cookies(URL(url)).keys())

    assert names("http://www.example.com/a/b/c") == {"host", "wide", "deep", "soon", "plain"}
    assert names("https://www.example.com/") == {"host", "wide", "sec", "plain"}
    assert names("http://sub.example.com/") == {"wide"}  # host-only cookies stay on their host
    assert names("http://other.org/") == set()
    assert "old" not in names("http://www.example.com/")
    # "soon" got the default path /a: sent to /a and below, not to /ab
    assert names("http://www.example.com/ab") == {"host", "wide", "plain"}
    assert "soon" in names("http://www.example.com/a")

    jar.clear_domain("example.com")
    assert len(jar) == 0


def test_cookie_jar_expiry_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    jar = CookieJar()
    jar.update_cookies(SimpleCookie("t=1; Max-Age=10"), URL("http://example.com/"))
    assert len(jar) == 1
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 20)
    assert len(jar) == 0


def test_cookie_jar_save_load_and_clear(tmp_path) -> None:
    jar = CookieJar()
    jar.update_cookies({"a": "1", "b": "2"}, URL("http://example.com/"))
    path = tmp_path / "cookies.pickle"
    jar.save(path)
    other = CookieJar()
    other.load(path)
    assert {m.key for m in other} == {"a", "b"}
    other.clear(lambda m: m.key == "a")
    assert {m.key for m in other} == {"b"}
    other.clear()
    assert len(other) == 0


def test_treat_as_secure_origin_and_unquoted_cookies() -> None:
    jar = CookieJar(treat_as_secure_origin="http://127.0.0.1:8080", unsafe=True, quote_cookie=False)
    jar.update_cookies(SimpleCookie('s="a b"; Secure'), URL("http://127.0.0.1:8080/"))
    cookies = jar.filter_cookies(URL("http://127.0.0.1:8080/"))
    assert "s" in cookies
    assert jar.filter_cookies(URL("http://127.0.0.1:9090/")).get("s") is None


# -- middlewares --------------------------------------------------------------------------


def echo_headers(req: Request) -> Reply:
    return Reply(200, "|".join(f"{k}={v}" for k, v in req.headers.items() if k.startswith("X-")).encode())


async def test_middlewares_run_in_order_and_can_change_the_request() -> None:
    calls: list[str] = []

    async def first(req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        calls.append("first-in")
        req.headers["X-First"] = "1"
        resp = await handler(req)
        calls.append("first-out")
        return resp

    async def second(req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        calls.append("second-in")
        req.headers["X-Second"] = req.headers["X-First"] + "2"
        return await handler(req)

    async with serve(echo_headers) as srv:
        async with aiohttp.ClientSession(middlewares=(first, second)) as session:
            async with session.get(srv.url()) as resp:
                assert await resp.text() == "X-First=1|X-Second=12"
            assert calls == ["first-in", "second-in", "first-out"]
            async with session.get(srv.url(), middlewares=()) as resp:
                assert await resp.text() == ""


async def test_retry_middleware_calls_the_handler_again() -> None:
    attempts = 0

    def flaky(req: Request) -> Reply:
        nonlocal attempts
        attempts += 1
        return Reply(503 if attempts < 3 else 200, b"")

    async def retry(req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        for _ in range(5):
            resp = await handler(req)
            if resp.status < 500:
                return resp
            resp.release()
        return resp

    async with serve(flaky) as srv, aiohttp.ClientSession(middlewares=[retry]) as session:
        async with session.get(srv.url()) as resp:
            assert resp.status == 200
    assert attempts == 3


async def test_middlewares_see_each_redirect_hop() -> None:
    seen: list[str] = []

    async def record(req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        seen.append(req.url.path)
        return await handler(req)

    async with serve(redirector) as srv, aiohttp.ClientSession(middlewares=(record,)) as session:
        async with session.get(srv.url("/r/302/2")) as resp:
            assert resp.status == 200
    assert seen == ["/r/302/2", "/r/302/1", "/target"]


async def test_middleware_may_answer_without_calling_the_handler() -> None:
    async with serve(echo_headers) as srv:
        async with aiohttp.ClientSession() as session:
            cached = await session.get(srv.url(), headers={"X-Cached": "yes"})
            await cached.read()

            async def from_cache(req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
                return cached

            async with session.get(srv.url("/other"), middlewares=(from_cache,)) as resp:
                assert await resp.text() == "X-Cached=yes"


# -- request-id propagation -----------------------------------------------------------------


async def test_request_id_is_not_sent_by_default() -> None:
    from aiohttp.request_id import request_id

    token = request_id.set("abc123")
    try:
        async with serve(echo_headers) as srv, aiohttp.ClientSession() as session:
            async with session.get(srv.url()) as resp:
                assert "X-Request-ID" not in await resp.text()
    finally:
        request_id.reset(token)


async def test_request_id_middleware_sends_the_current_id() -> None:
    from aiohttp.request_id import request_id

    async with serve(echo_headers) as srv:
        async with aiohttp.ClientSession(middlewares=(propagate_request_id,)) as session:
            async with session.get(srv.url()) as resp:
                assert await resp.text() == ""  # outside a request: nothing to send
            token = request_id.set("req-42")
            try:
                async with session.get(srv.url()) as resp:
                    assert await resp.text() == "X-Request-ID=req-42"
                async with session.get(srv.url(), headers={"X-Request-ID": "mine"}) as resp:
                    assert await resp.text() == "X-Request-ID=mine"
            finally:
                request_id.reset(token)
        custom = request_id_middleware("X-Correlation-ID")
        async with aiohttp.ClientSession(middlewares=(custom,)) as session:
            token = request_id.set("req-43")
            try:
                async with session.get(srv.url()) as resp:
                    assert await resp.text() == "X-Correlation-ID=req-43"
            finally:
                request_id.reset(token)


async def test_propagate_request_id_session_option() -> None:
    from aiohttp.request_id import request_id

    async def in_request(session: aiohttp.ClientSession, url: str) -> str:
        request_id.set("from-task")  # a task runs in a copy of the context
        async with session.get(url, middlewares=()) as resp:
            return await resp.text()

    async with serve(echo_headers) as srv:
        async with aiohttp.ClientSession(propagate_request_id=True) as session:
            assert await asyncio.ensure_future(in_request(session, srv.url())) == "X-Request-ID=from-task"
            async with session.get(srv.url()) as resp:
                assert await resp.text() == ""
        async with aiohttp.ClientSession(propagate_request_id="X-Trace") as session:
            assert await asyncio.ensure_future(in_request(session, srv.url())) == "X-Trace=from-task"
