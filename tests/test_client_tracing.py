"""Client tracing: TraceConfig signals followed over real loopback requests to our server."""

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from yarl import URL

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

AiohttpServer = Callable[..., Awaitable[TestServer]]

SIGNALS = (
    "on_request_start",
    "on_request_chunk_sent",
    "on_response_chunk_received",
    "on_request_end",
    "on_request_exception",
    "on_request_redirect",
    "on_request_headers_sent",
    "on_connection_queued_start",
    "on_connection_queued_end",
    "on_connection_create_start",
    "on_connection_create_end",
    "on_connection_reuseconn",
    "on_dns_resolvehost_start",
    "on_dns_resolvehost_end",
    "on_dns_cache_hit",
    "on_dns_cache_miss",
)


def recorder() -> tuple[aiohttp.TraceConfig, list[tuple[str, Any]]]:
    """A TraceConfig that records (signal name, params) for every signal."""
    events: list[tuple[str, Any]] = []
    config = aiohttp.TraceConfig()
    for name in SIGNALS:

        async def record(session: Any, ctx: Any, params: Any, name: str = name) -> None:
            events.append((name[3:], params))

        getattr(config, name).append(record)
    return config, events


def names(events: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in events]


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> TestServer:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"hello {request.headers.get('X-Trace', '-')}")

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/hello")

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(text="slow")

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_post("/echo", echo)
    app.router.add_get("/moved", moved)
    app.router.add_get("/missing", missing)
    app.router.add_get("/slow", slow)
    return await aiohttp_server(app)


async def test_documented_example_times_a_request(server: TestServer) -> None:
    timings: list[float] = []

    async def on_request_start(session: aiohttp.ClientSession, ctx: Any, params: Any) -> None:
        ctx.start = session.loop.time()

    async def on_request_end(session: aiohttp.ClientSession, ctx: Any, params: Any) -> None:
        timings.append(session.loop.time() - ctx.start)

    trace_config = aiohttp.TraceConfig()
    trace_config.on_request_start.append(on_request_start)
    trace_config.on_request_end.append(on_request_end)
    async with aiohttp.ClientSession(trace_configs=[trace_config]) as session:
        async with session.get(server.make_url("/hello")) as resp:
            assert await resp.text() == "hello -"
    assert len(timings) == 1 and timings[0] >= 0


async def test_a_new_then_a_reused_connection(server: TestServer) -> None:
    config, events = recorder()
    url = server.make_url("/hello")
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        async with session.get(url) as resp:
            await resp.read()
        first = names(events)
        events.clear()
        async with session.get(url) as resp:
            await resp.read()
        second = names(events)

    # 127.0.0.1 is an address already: no DNS step.
    assert first == [
        "request_start",
        "connection_create_start",
        "connection_create_end",
        "request_headers_sent",
        "request_end",
        "response_chunk_received",
    ]
    assert second == [
        "request_start",
        "connection_reuseconn",
        "request_headers_sent",
        "request_end",
        "response_chunk_received",
    ]


async def test_params_describe_the_request_and_response(server: TestServer) -> None:
    config, events = recorder()
    url = server.make_url("/hello")
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        async with session.get(url, params={"q": "1"}) as resp:
            body = await resp.read()
    params = dict(events)
    start = params["request_start"]
    assert isinstance(start, aiohttp.TraceRequestStartParams)
    assert (start.method, start.url) == ("GET", url)
    end = params["request_end"]
    assert isinstance(end, aiohttp.TraceRequestEndParams)
    assert end.response is resp and end.response.status == 200
    assert end.url == url.with_query(q="1")
    assert end.headers["Host"] == f"127.0.0.1:{server.port}"
    sent = params["request_headers_sent"]
    assert isinstance(sent, aiohttp.TraceRequestHeadersSentParams)
    assert sent.headers["Host"] == f"127.0.0.1:{server.port}"
    received = params["response_chunk_received"]
    assert isinstance(received, aiohttp.TraceResponseChunkReceivedParams)
    assert received.chunk == body == b"hello -"


async def test_headers_added_at_request_start_are_sent(server: TestServer) -> None:
    async def add_header(session: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        params.headers["X-Trace"] = "abc123"

    config = aiohttp.TraceConfig()
    config.on_request_start.append(add_header)
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        async with session.get(server.make_url("/hello")) as resp:
            assert await resp.text() == "hello abc123"


async def test_trace_request_ctx_reaches_the_context_factory(server: TestServer) -> None:
    seen: list[Any] = []

    class Context(SimpleNamespace):
        pass

    async def on_request_start(session: Any, ctx: Any, params: Any) -> None:
        seen.append(ctx)

    config = aiohttp.TraceConfig(trace_config_ctx_factory=Context)
    config.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        async with session.get(server.make_url("/hello"), trace_request_ctx={"user": "ann"}):
            pass
        async with session.get(server.make_url("/hello")):
            pass
    first, second = seen
    assert isinstance(first, Context)
    assert first.trace_request_ctx == {"user": "ann"}
    assert second.trace_request_ctx is None
    assert config.trace_config_ctx(trace_request_ctx=1).trace_request_ctx == 1


async def test_each_config_gets_its_own_context(server: TestServer) -> None:
    contexts: list[Any] = []

    async def keep(session: Any, ctx: Any, params: Any) -> None:
        contexts.append(ctx)

    audit, xray = aiohttp.TraceConfig(), aiohttp.TraceConfig()
    audit.on_request_start.append(keep)
    xray.on_request_start.append(keep)
    async with aiohttp.ClientSession(trace_configs=[audit, xray]) as session:
        async with session.get(server.make_url("/hello")):
            pass
    assert len(contexts) == 2 and contexts[0] is not contexts[1]


async def test_redirect_then_end_at_the_new_url(server: TestServer) -> None:
    config, events = recorder()
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        async with session.get(server.make_url("/moved")) as resp:
            assert resp.status == 200
    steps = [(name, p) for name, p in events if name.startswith("request_")]
    assert [name for name, _ in steps] == [
        "request_start",
        "request_headers_sent",
        "request_redirect",
        "request_headers_sent",
        "request_end",
    ]
    redirect = steps[2][1]
    assert isinstance(redirect, aiohttp.TraceRequestRedirectParams)
    assert redirect.response.status == 302
    assert redirect.url == server.make_url("/moved")
    assert steps[-1][1].url == server.make_url("/hello")
    assert "connection_reuseconn" in names(events)


async def test_request_body_is_reported_as_chunks_sent(server: TestServer) -> None:
    config, events = recorder()

    async def parts() -> AsyncIterator[bytes]:
        yield b"one,"
        yield b"two"

    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        async with session.post(server.make_url("/echo"), data=b"payload") as resp:
            assert await resp.read() == b"payload"
        sent_inline = [p.chunk for name, p in events if name == "request_chunk_sent"]
        events.clear()
        async with session.post(server.make_url("/echo"), data=parts()) as resp:
            assert await resp.read() == b"one,two"
        sent_streamed = [p.chunk for name, p in events if name == "request_chunk_sent"]
    assert sent_inline == [b"payload"]
    assert sent_streamed == [b"one,", b"two"]
    assert all(isinstance(p, aiohttp.TraceRequestChunkSentParams) for n, p in events if n == "request_chunk_sent")


async def test_refused_connection_is_reported_as_exception(aiohttp_unused_port: Callable[[], int]) -> None:
    config, events = recorder()
    url = URL(f"http://127.0.0.1:{aiohttp_unused_port()}/")
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(url)
    assert names(events) == ["request_start", "connection_create_start", "request_exception"]
    failure = events[-1][1]
    assert isinstance(failure, aiohttp.TraceRequestExceptionParams)
    assert isinstance(failure.exception, aiohttp.ClientConnectorError)
    assert (failure.method, failure.url) == ("GET", url)


async def test_raise_for_status_is_reported_as_exception(server: TestServer) -> None:
    config, events = recorder()
    async with aiohttp.ClientSession(trace_configs=[config], raise_for_status=True) as session:
        with pytest.raises(aiohttp.ClientResponseError):
            await session.get(server.make_url("/missing"))
    assert names(events)[-1] == "request_exception"
    assert "request_end" not in names(events)


async def test_timeout_is_reported_as_exception(server: TestServer) -> None:
    config, events = recorder()
    timeout = aiohttp.ClientTimeout(total=0.01)
    async with aiohttp.ClientSession(trace_configs=[config], timeout=timeout) as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.get(server.make_url("/slow"))
    name, failure = events[-1]
    assert name == "request_exception"
    assert isinstance(failure.exception, asyncio.TimeoutError)


async def test_waiting_for_a_pool_slot_is_reported(server: TestServer) -> None:
    config, events = recorder()
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, trace_configs=[config]) as session:

        async def fetch() -> str:
            async with session.get(server.make_url("/slow")) as resp:
                return await resp.text()

        assert await asyncio.wait_for(asyncio.gather(fetch(), fetch()), 10) == ["slow", "slow"]
    assert names(events).count("connection_queued_start") == 1
    assert names(events).count("connection_queued_end") == 1
    queued = names(events).index("connection_queued_end")
    assert names(events)[queued + 1] == "connection_reuseconn"


class ShopResolver(AbstractResolver):
    """Resolves the made-up name ``shop.test`` to the loopback address."""

    def __init__(self) -> None:
        self.lookups = 0

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
        assert host == "shop.test"
        self.lookups += 1
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


async def test_dns_lookup_then_cache_hit(server: TestServer) -> None:
    config, events = recorder()
    resolver = ShopResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, force_close=True)
    url = f"http://shop.test:{server.port}/hello"
    async with aiohttp.ClientSession(connector=connector, trace_configs=[config]) as session:
        async with session.get(url) as resp:
            await resp.read()
        first = [(n, p) for n, p in events if n.startswith("dns_")]
        events.clear()
        async with session.get(url) as resp:
            await resp.read()
        second = [(n, p) for n, p in events if n.startswith("dns_")]
    assert [n for n, _ in first] == ["dns_cache_miss", "dns_resolvehost_start", "dns_resolvehost_end"]
    assert all(p.host == "shop.test" for _, p in first)
    assert isinstance(first[1][1], aiohttp.TraceDnsResolveHostStartParams)
    assert [n for n, _ in second] == ["dns_cache_hit"]
    assert isinstance(second[0][1], aiohttp.TraceDnsCacheHitParams)
    assert resolver.lookups == 1


async def test_a_session_freezes_its_configs() -> None:
    config = aiohttp.TraceConfig()

    async def receiver(session: Any, ctx: Any, params: Any) -> None:
        pass

    config.on_request_end.append(receiver)
    assert not config.on_request_end.frozen
    async with aiohttp.ClientSession(trace_configs=[config]) as session:
        assert session.trace_configs == [config]
        assert config.on_request_end.frozen and config.on_dns_cache_hit.frozen
        with pytest.raises(RuntimeError):
            config.on_request_start.append(receiver)
    assert list(config.on_request_end) == [receiver]


async def test_wrong_trace_configs_are_refused() -> None:
    with pytest.raises(TypeError, match="TraceConfig"):
        aiohttp.ClientSession(trace_configs=[object()])
    with pytest.raises(TypeError, match="callable"):
        aiohttp.TraceConfig(trace_config_ctx_factory=42)


async def test_a_failing_receiver_fails_the_request_and_frees_the_slot(server: TestServer) -> None:
    failures = [LookupError("tracer bug")]

    async def broken_once(session: Any, ctx: Any, params: Any) -> None:
        if failures:
            raise failures.pop()

    config = aiohttp.TraceConfig()
    config.on_connection_create_end.append(broken_once)
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector, trace_configs=[config]) as session:
        with pytest.raises(LookupError):
            await session.get(server.make_url("/hello"))
        # The only pool slot was given back, so the next request gets a connection.
        resp = await asyncio.wait_for(session.get(server.make_url("/hello")), 10)
        assert await resp.text() == "hello -"


async def test_without_trace_configs_nothing_is_traced(server: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        assert session.trace_configs == []
        async with session.get(server.make_url("/hello")) as resp:
            assert resp._traces == ()
