"""ClientSession over real loopback sockets: methods, bodies, params, headers, auth, JSON."""

import io
import json

import pytest
from client_servers import Reply, Request, serve
from multidict import MultiDict
from yarl import URL

import aiohttp
from aiohttp import hdrs


def echo(req: Request) -> Reply:
    """Answer with a JSON description of the request."""
    data = {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "headers": dict(req.headers),
        "body": req.body.decode("latin-1"),
    }
    return Reply(200, json.dumps(data).encode(), [("Content-Type", "application/json")])


async def test_get_returns_status_headers_and_body() -> None:
    async with serve(lambda r: Reply(200, b"hello", [("Content-Type", "text/plain; charset=utf-8")])) as srv:
        async with aiohttp.ClientSession() as session:
            async with session.get(srv.url("/hi")) as resp:
                assert resp.status == 200
                assert resp.reason == "OK"
                assert resp.ok
                assert resp.content_type == "text/plain"
                assert resp.charset == "utf-8"
                assert resp.content_length == 5
                assert resp.headers["Content-Length"] == "5"
                assert (b"Content-Type", b"text/plain; charset=utf-8") in resp.raw_headers
                assert resp.url == URL(srv.url("/hi"))
                assert resp.version == (1, 1)
                assert await resp.text() == "hello"
                assert await resp.read() == b"hello"  # cached


async def test_every_method_helper_sends_its_method() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        for name in ("get", "post", "put", "patch", "delete", "options"):
            async with getattr(session, name)(srv.url()) as resp:
                assert (await resp.json())["method"] == name.upper()
        async with session.head(srv.url()) as resp:
            assert resp.status == 200
            assert await resp.read() == b""
        async with session.request("PROPFIND", srv.url()) as resp:
            assert (await resp.json())["method"] == "PROPFIND"


async def test_await_without_context_manager_then_release() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        resp = await session.get(srv.url())
        assert (await resp.json())["method"] == "GET"
        resp.release()
        assert resp.closed


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"a": "1", "b": "x y"}, "a=1&b=x+y"),
        ([("a", "1"), ("a", "2")], "a=1&a=2"),
        (MultiDict([("k", "v"), ("k", "w")]), "k=v&k=w"),
        ("raw=1&x=%20", "raw=1&x=%20"),
        ({"n": 5}, "n=5"),
    ],
)
async def test_params_in_every_documented_shape(params: object, query: str) -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/q"), params=params) as resp:
            assert (await resp.json())["query"] == query


async def test_params_extend_a_query_already_in_the_url() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/q?x=1"), params={"y": "2"}) as resp:
            assert (await resp.json())["query"] == "x=1&y=2"


async def test_bytes_str_and_json_bodies() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.post(srv.url(), data=b"\x00\x01") as resp:
            got = await resp.json()
            assert got["body"] == "\x00\x01"
            assert got["headers"]["Content-Type"] == "application/octet-stream"
            assert got["headers"]["Content-Length"] == "2"
        async with session.post(srv.url(), data="héllo") as resp:
            got = await resp.json()
            assert got["body"].encode("latin-1").decode() == "héllo"
            assert got["headers"]["Content-Type"] == "text/plain; charset=utf-8"
        async with session.post(srv.url(), json={"a": [1, 2]}) as resp:
            got = await resp.json()
            assert json.loads(got["body"]) == {"a": [1, 2]}
            assert got["headers"]["Content-Type"] == "application/json"


async def test_data_and_json_together_is_refused() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="data and json"):
            await session.post("http://127.0.0.1:1/", data=b"x", json={})


async def test_dict_data_is_urlencoded() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.post(srv.url(), data={"a": "1", "b": "ü"}) as resp:
            got = await resp.json()
            assert got["body"] == "a=1&b=%C3%BC"
            assert got["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


async def test_formdata_urlencoded_and_multipart_with_file() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        form = aiohttp.FormData()
        form.add_field("name", "value")
        async with session.post(srv.url(), data=form) as resp:
            got = await resp.json()
            assert got["body"] == "name=value"
            assert got["headers"]["Content-Type"] == "application/x-www-form-urlencoded"

        form = aiohttp.FormData()
        form.add_field("title", "report")
        form.add_field("file", io.BytesIO(b"file-bytes"), filename="r.txt", content_type="text/plain")
        async with session.post(srv.url(), data=form) as resp:
            got = await resp.json()
            assert got["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
            assert 'filename="r.txt"' in got["body"]
            assert "file-bytes" in got["body"]
            assert "report" in got["body"]


async def test_async_generator_body_is_sent_chunked() -> None:
    async def chunks():
        for part in (b"one,", b"two,", b"three"):
            yield part

    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.post(srv.url(), data=chunks()) as resp:
            got = await resp.json()
            assert got["body"] == "one,two,three"
            assert got["headers"]["Transfer-Encoding"] == "chunked"


async def test_file_object_body_with_known_size(tmp_path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"x" * 100_000)
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        with path.open("rb") as f:
            async with session.put(srv.url(), data=f) as resp:
                got = await resp.json()
                assert len(got["body"]) == 100_000
                assert got["headers"]["Content-Length"] == "100000"


async def test_compress_sends_deflated_chunked_body() -> None:
    import zlib

    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.post(srv.url(), data=b"a" * 1000, compress="deflate") as resp:
            got = await resp.json()
            assert got["headers"]["Content-Encoding"] == "deflate"
            assert zlib.decompress(got["body"].encode("latin-1")) == b"a" * 1000


async def test_session_and_request_headers_merge() -> None:
    async with serve(echo) as srv:
        async with aiohttp.ClientSession(headers={"X-Session": "s", "X-Both": "session"}) as session:
            async with session.get(srv.url(), headers={"X-Both": "request"}) as resp:
                headers = (await resp.json())["headers"]
                assert headers["X-Session"] == "s"
                assert headers["X-Both"] == "request"
                assert headers["Host"] == f"127.0.0.1:{srv.port}"
                assert headers["Accept-Encoding"].startswith("gzip, deflate")
                assert headers["User-Agent"].startswith("Python/")


async def test_skip_auto_headers() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as session:
        async with session.get(srv.url(), skip_auto_headers=["Accept-Encoding"]) as resp:
            headers = (await resp.json())["headers"]
            assert "User-Agent" not in headers
            assert "Accept-Encoding" not in headers


async def test_header_injection_is_refused() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="newline"):
            await session.get(srv.url(), headers={"X-Evil": "a\r\nInjected: yes"})
        with pytest.raises(ValueError, match="token"):
            await session.get(srv.url(), headers={"X Bad": "v"})
        with pytest.raises(ValueError, match="token"):
            await session.request("GE T", srv.url())


async def test_base_url_joins_relative_paths() -> None:
    async with serve(echo) as srv:
        async with aiohttp.ClientSession(base_url=srv.url("/api/v1/")) as session:
            async with session.get("items", params={"a": "1"}) as resp:
                got = await resp.json()
                assert got["path"] == "/api/v1/items"
            async with session.get("/root") as resp:
                assert (await resp.json())["path"] == "/root"
    with pytest.raises(ValueError, match="end with '/'"):
        aiohttp.ClientSession(base_url="http://127.0.0.1/api")
    with pytest.raises(ValueError, match="absolute"):
        aiohttp.ClientSession(base_url="/relative/")


async def test_basic_auth_session_request_and_url() -> None:
    async with serve(echo) as srv:
        async with aiohttp.ClientSession(auth=aiohttp.BasicAuth("user", "pass")) as session:
            async with session.get(srv.url()) as resp:
                auth = (await resp.json())["headers"]["Authorization"]
                assert aiohttp.BasicAuth.decode(auth) == aiohttp.BasicAuth("user", "pass")
            async with session.get(srv.url(), auth=aiohttp.BasicAuth("other")) as resp:
                auth = (await resp.json())["headers"]["Authorization"]
                assert aiohttp.BasicAuth.decode(auth).login == "other"
        async with aiohttp.ClientSession() as session:
            url = URL(srv.url()).with_user("u").with_password("p")
            async with session.get(url) as resp:
                auth = (await resp.json())["headers"]["Authorization"]
                assert aiohttp.BasicAuth.decode(auth) == aiohttp.BasicAuth("u", "p")
            with pytest.raises(ValueError, match="AUTH"):
                await session.get(url, auth=aiohttp.BasicAuth("x", "y"))


async def test_json_and_text_decoding_rules() -> None:
    def route(req: Request) -> Reply:
        if req.path == "/json":
            return Reply(200, '{"ü": 1}'.encode(), [("Content-Type", "application/vnd.api+json")])
        if req.path == "/latin":
            return Reply(200, "é".encode("latin-1"), [("Content-Type", "text/plain; charset=latin-1")])
        if req.path == "/empty":
            return Reply(200, b"", [("Content-Type", "application/json")])
        return Reply(200, b'{"a": 1}', [("Content-Type", "text/html")])

    async with serve(route) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/json")) as resp:
            assert await resp.json() == {"ü": 1}
        async with session.get(srv.url("/latin")) as resp:
            assert await resp.text() == "é"
            assert await resp.text(encoding="utf-8", errors="replace") == "\ufffd"
        async with session.get(srv.url("/empty")) as resp:
            assert await resp.json() is None
        async with session.get(srv.url("/html")) as resp:
            with pytest.raises(aiohttp.ContentTypeError) as info:
                await resp.json()
            assert info.value.status == 200
            assert "text/html" in info.value.message
            assert await resp.json(content_type=None) == {"a": 1}
            assert await resp.json(content_type=None, loads=lambda s: s.upper()) == '{"A": 1}'


async def test_raise_for_status_session_request_and_callable() -> None:
    async with serve(lambda r: Reply(404, b"missing", reason="Not Found")) as srv:
        async with aiohttp.ClientSession() as session:
            async with session.get(srv.url("/x")) as resp:
                assert not resp.ok
                with pytest.raises(aiohttp.ClientResponseError) as info:
                    resp.raise_for_status()
                assert info.value.status == 404
                assert info.value.message == "Not Found"
                assert info.value.request_info.url == URL(srv.url("/x"))
            with pytest.raises(aiohttp.ClientResponseError):
                await session.get(srv.url(), raise_for_status=True)
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            with pytest.raises(aiohttp.ClientResponseError) as info:
                await session.get(srv.url())
            assert "404" in str(info.value)
            async with session.get(srv.url(), raise_for_status=False) as resp:
                assert resp.status == 404

        seen = []

        async def check(resp: aiohttp.ClientResponse) -> None:
            seen.append(resp.status)

        async with aiohttp.ClientSession(raise_for_status=check) as session:
            async with session.get(srv.url()) as resp:
                assert resp.status == 404
        assert seen == [404]


async def test_custom_json_serialize() -> None:
    async with serve(echo) as srv:
        async with aiohttp.ClientSession(json_serialize=lambda o: "CUSTOM") as session:
            async with session.post(srv.url(), json={"a": 1}) as resp:
                assert (await resp.json())["body"] == "CUSTOM"


async def test_invalid_urls_raise_invalid_url() -> None:
    async with aiohttp.ClientSession() as session:
        for bad in ("http://", "ftp://example.com/", "not a url", "/relative"):
            with pytest.raises(aiohttp.InvalidURL):
                await session.get(bad)
        with pytest.raises(aiohttp.InvalidURL):
            await session.get("http://[::1")
        assert issubclass(aiohttp.InvalidURL, ValueError)


async def test_closed_session_refuses_requests_and_close_is_idempotent() -> None:
    session = aiohttp.ClientSession()
    assert not session.closed
    await session.close()
    await session.close()
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        await session.get("http://127.0.0.1:1/")


async def test_request_shortcut_closes_its_session() -> None:
    async with serve(echo) as srv:
        async with aiohttp.request("POST", srv.url("/short"), json={"x": 1}) as resp:
            got = await resp.json()
            assert got["path"] == "/short"
            assert got["method"] == "POST"


async def test_timeout_must_be_client_timeout() -> None:
    with pytest.raises(TypeError, match="ClientTimeout"):
        aiohttp.ClientSession(timeout=5)
    t = aiohttp.ClientTimeout(total=1, sock_read=0.5)
    async with aiohttp.ClientSession(timeout=t) as session:
        assert session.timeout.total == 1
        assert session.timeout.sock_read == 0.5
        assert session.timeout.connect is None


async def test_unknown_encoding_falls_back_to_resolver() -> None:
    async with serve(lambda r: Reply(200, "ö".encode("latin-1"), [("Content-Type", "text/plain")])) as srv:
        async with aiohttp.ClientSession(fallback_charset_resolver=lambda r, b: "latin-1") as session:
            async with session.get(srv.url()) as resp:
                assert await resp.text() == "ö"


async def test_request_info_and_repr() -> None:
    async with serve(echo) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url("/info#frag")) as resp:
            assert resp.request_info.method == "GET"
            assert resp.request_info.url == URL(srv.url("/info"))
            assert resp.request_info.real_url == URL(srv.url("/info#frag"))
            assert resp.real_url == URL(srv.url("/info#frag"))
            assert resp.url == URL(srv.url("/info"))
            assert hdrs.HOST in resp.request_info.headers
            assert "200" in repr(resp)
