"""What a handler sees in a request, checked over a real socket."""

import asyncio
import datetime
import json
import socket
import struct
from typing import Any

import pytest
from raw_http import TIMEOUT, connect, read_response, request, serve
from raw_http import get as http_get

from aiohttp import web
from aiohttp.helpers import ETag


async def test_url_parts_host_scheme_remote() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.json_response(
            {
                "url": str(req.url),
                "rel_url": str(req.rel_url),
                "host": req.host,
                "scheme": req.scheme,
                "secure": req.secure,
                "remote": req.remote,
                "path": req.path,
                "path_qs": req.path_qs,
                "raw_path": req.raw_path,
                "query": [[k, v] for k, v in req.query.items()],
                "query_string": req.query_string,
                "method": req.method,
                "version": list(req.version),
                "keep_alive": req.keep_alive,
                "peername": list(req.get_extra_info("peername")),
                "missing": req.get_extra_info("no-such-thing", "dflt"),
            }
        )

    async with serve(handler) as server:
        resp = await http_get(server, "/a%20b/c?x=1&y=2&x=3", headers="")
    data = json.loads(resp.body)
    assert data["url"] == "http://test/a%20b/c?x=1&y=2&x=3"
    assert data["rel_url"] == "/a%20b/c?x=1&y=2&x=3"
    assert data["host"] == "test"
    assert data["scheme"] == "http" and data["secure"] is False
    assert data["remote"] == "127.0.0.1"
    assert data["path"] == "/a b/c"
    assert data["raw_path"] == "/a%20b/c?x=1&y=2&x=3"
    assert data["query"] == [["x", "1"], ["y", "2"], ["x", "3"]]
    assert data["query_string"] == "x=1&y=2&x=3"
    assert data["method"] == "GET"
    assert data["version"] == [1, 1]
    assert data["keep_alive"] is False  # the client said Connection: close
    assert data["peername"][0] == "127.0.0.1"
    assert data["missing"] == "dflt"


async def test_host_falls_back_to_fqdn_on_http10() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.Response(text=req.host)

    async with serve(handler) as server:
        resp = await request(server, b"GET / HTTP/1.0\r\n\r\n")
    assert resp.text() == socket.getfqdn()


async def test_headers_raw_headers_and_content_headers() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.json_response(
            {
                "x": req.headers.getall("X-Multi"),
                "raw": [[k.decode(), v.decode()] for k, v in req.raw_headers],
                "content_type": req.content_type,
                "charset": req.charset,
                "content_length": req.content_length,
                "body": (await req.read()).decode(),
            }
        )

    async with serve(handler) as server:
        resp = await request(
            server,
            b"POST / HTTP/1.1\r\nHost: t\r\nX-Multi: 1\r\nx-multi: 2\r\n"
            b"Content-Type: Text/Plain; Charset=UTF-8\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        )
    data = json.loads(resp.body)
    assert data["x"] == ["1", "2"]
    assert ["x-multi", "2"] in data["raw"]  # raw headers keep the client's spelling
    assert data["content_type"] == "text/plain"
    assert data["charset"] == "UTF-8"
    assert data["content_length"] == 3
    assert data["body"] == "abc"


async def test_forwarded_header_parsed_per_hop() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.json_response([dict(hop) for hop in req.forwarded])

    header = 'Forwarded: for=192.0.2.60;proto=https;by="[2001:db8::1]:80", for=198.51.100.17\r\n'
    async with serve(handler) as server:
        resp = await http_get(server, headers=header)
    assert json.loads(resp.body) == [
        {"for": "192.0.2.60", "proto": "https", "by": "[2001:db8::1]:80"},
        {"for": "198.51.100.17"},
    ]


async def test_cookies_tolerate_malformed_pairs() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.json_response(dict(req.cookies))

    async with serve(handler) as server:
        resp = await http_get(server, headers='Cookie: a=1; junk; b="x y"; =nope; c=\r\n')
    assert json.loads(resp.body) == {"a": "1", "b": "x y", "c": ""}


async def test_conditional_headers() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        def iso(d: "datetime.datetime | None") -> "str | None":
            return None if d is None else d.isoformat()

        def tags(t: "tuple[ETag, ...] | None") -> Any:
            return None if t is None else [[e.value, e.is_weak] for e in t]

        return web.json_response(
            {
                "ims": iso(req.if_modified_since),
                "ius": iso(req.if_unmodified_since),
                "ir": iso(req.if_range),
                "im": tags(req.if_match),
                "inm": tags(req.if_none_match),
            }
        )

    headers = (
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "If-Unmodified-Since: not a date\r\n"
        "If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        'If-Match: "a", W/"b"\r\n'
        "If-None-Match: *\r\n"
    )
    async with serve(handler) as server:
        resp = await http_get(server, headers=headers)
    data = json.loads(resp.body)
    assert data["ims"] == "1994-11-06T08:49:37+00:00"
    assert data["ius"] is None
    assert data["ir"] == "1994-11-06T08:49:37+00:00"
    assert data["im"] == [["a", False], ["b", True]]
    assert data["inm"] == [["*", False]]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", [0, 10]),
        ("bytes=5-", [5, None]),
        ("bytes=-3", [-3, None]),
        ("bytes=9-1", "error"),
        ("items=1-2", "error"),
        (None, [None, None]),
    ],
)
async def test_http_range(header: "str | None", expected: Any) -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        try:
            rng = req.http_range
        except ValueError:
            return web.json_response("error")
        return web.json_response([rng.start, rng.stop])

    async with serve(handler) as server:
        resp = await http_get(server, headers=f"Range: {header}\r\n" if header else "")
    assert json.loads(resp.body) == expected


async def test_text_and_json_bodies() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        if req.path == "/text":
            return web.Response(text=(await req.text()).upper())
        data = await req.json(loads=lambda s: json.loads(s, parse_float=str))
        return web.json_response({"got": data})

    async with serve(handler) as server:
        text = await request(
            server,
            b"POST /text HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain; charset=latin-1\r\n"
            b"Content-Length: 3\r\nConnection: close\r\n\r\n" + "éàü".encode("latin-1"),
        )
        body = b'{"pi": 3.14}'
        js = await request(
            server,
            b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(body), body),
        )
    assert text.text() == "ÉÀÜ"
    assert json.loads(js.body) == {"got": {"pi": "3.14"}}


async def test_invalid_json_is_400_unless_the_handler_catches_it() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        if req.path == "/catch":
            try:
                await req.json()
            except json.JSONDecodeError as exc:
                return web.json_response({"error": exc.msg}, status=422)
        return web.json_response(await req.json())

    bad = b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope"
    async with serve(handler) as server:
        uncaught = await request(server, bad % b"/")
        caught = await request(server, bad % b"/catch")
    assert uncaught.status == 400
    assert "not valid JSON" in uncaught.text()
    assert caught.status == 422
    assert json.loads(caught.body)["error"].startswith("Expecting property name")


async def test_body_over_declared_limit_gets_413_without_100_continue() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        await req.read()
        return web.Response(text="unreachable")

    async with serve(handler) as server:
        reader, writer = await connect(server)
        try:
            writer.write(
                b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                b"Content-Length: %d\r\n\r\n" % (2 * 1024**2)
            )
            resp = await read_response(reader)
        finally:
            writer.close()
    assert resp.status == 413  # the first status line is the 413, not "100 Continue"
    assert "Maximum request body size 1048576 exceeded" in resp.text()


async def test_expect_continue_sent_when_the_handler_reads() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.Response(body=await req.read())

    async with serve(handler) as server:
        reader, writer = await connect(server)
        try:
            writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
            writer.write(b"data")
            resp = await read_response(reader)
        finally:
            writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert resp.body == b"data"


async def test_chunked_body_over_limit_gets_413() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        small = req.clone(client_max_size=10)
        await small.read()
        return web.Response(text="unreachable")

    async with serve(handler) as server:
        resp = await request(
            server,
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
        )
    assert resp.status == 413


async def test_release_can_read_body_body_exists() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        before = (req.body_exists, req.can_read_body)
        await req.release()
        after = req.can_read_body
        return web.json_response({"before": before, "after": after})

    async with serve(handler) as server:
        with_body = await request(
            server, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"
        )
        without = await http_get(server)
    assert json.loads(with_body.body) == {"before": [True, True], "after": False}
    assert json.loads(without.body) == {"before": [False, False], "after": False}


async def test_clone_replaces_parts_and_shares_state() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        req["seen"] = 1
        new = req.clone(
            method="PUT",
            rel_url="/other?q=1",
            headers={"X-New": "yes"},
            scheme="https",
            host="example.test:8443",
            remote="10.0.0.1",
        )
        return web.json_response(
            {
                "method": new.method,
                "url": str(new.url),
                "headers": dict(new.headers),
                "secure": new.secure,
                "remote": new.remote,
                "state": new["seen"],
                "orig_method": req.method,
            }
        )

    async with serve(handler) as server:
        resp = await http_get(server)
    assert json.loads(resp.body) == {
        "method": "PUT",
        "url": "https://example.test:8443/other?q=1",
        "headers": {"X-New": "yes"},
        "secure": True,
        "remote": "10.0.0.1",
        "state": 1,
        "orig_method": "GET",
    }


async def test_typed_and_plain_request_keys() -> None:
    user_key = web.RequestKey("user", str)

    async def handler(req: web.BaseRequest) -> web.Response:
        req[user_key] = "alice"
        req["legacy"] = 7
        return web.json_response(
            {
                "user": req[user_key],
                "get": req.get(user_key),
                "legacy": req["legacy"],
                "len": len(req),
                "contains": user_key in req,
            }
        )

    async with serve(handler) as server:
        resp = await http_get(server)
    assert json.loads(resp.body) == {"user": "alice", "get": "alice", "legacy": 7, "len": 2, "contains": True}
    assert repr(user_key).startswith("<RequestKey(")


async def test_task_is_the_handler_task() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.json_response(req.task is asyncio.current_task())

    async with serve(handler) as server:
        resp = await http_get(server)
    assert json.loads(resp.body) is True


async def test_wait_for_disconnection() -> None:
    noticed = asyncio.Event()

    async def handler(req: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(req)
        await resp.write(b"streaming")
        await req.wait_for_disconnection()
        noticed.set()
        return resp

    async with serve(handler) as server:
        reader, writer = await connect(server)
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"streaming"), TIMEOUT)
        # Vanish abruptly (RST), as a client whose process died would.
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        await asyncio.wait_for(noticed.wait(), TIMEOUT)


async def test_request_repr_and_identity() -> None:
    async def handler(req: web.BaseRequest) -> web.Response:
        return web.json_response({"repr": repr(req), "truthy": bool(req), "hash": hash(req) == id(req)})

    async with serve(handler) as server:
        resp = await http_get(server, "/p")
    assert json.loads(resp.body) == {"repr": "<BaseRequest GET /p >", "truthy": True, "hash": True}
