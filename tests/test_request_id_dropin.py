"""The names of aiohttp-request-id-logging, used the way its README shows, from aiohttp.request_id.

An app migrating from the library changes only ``aiohttp_request_id_logging`` to
``aiohttp.request_id`` in its imports. These tests run with the built-in switch off
(middleware mode), and with both on, where one id must be used, never two.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Optional

import pytest
import raw_http
from log_capture import Captured, captured_root
from raw_http import Handler, RawResponse, Target

from aiohttp import web
from aiohttp.pytest_plugin import AiohttpRawServer
from aiohttp.request_id import (
    FALLBACK_REQUEST_ID_KEY,
    REQUEST_ID_KEY,
    RequestIdAccessLogger,
    RequestIdContextAccessLogger,
    RequestIdKeyAlreadySetError,
    RequestIdMiddleware,
    noop,
    request_id,
    request_id_middleware,
    sequential_request_id_factory,
    valid_request_id,
)
from aiohttp.test_utils import RawTestServer
from aiohttp.web_log import AccessLogger

log = logging.getLogger("shop")
FORMAT = "%(levelname)5s: %(requestIdPrefix)s%(message)s"


@pytest.fixture
def lines() -> Iterator[Captured]:
    """The log lines, as the README's basicConfig would print them."""
    with captured_root(FORMAT) as handler:
        yield handler


Serve = Callable[..., Awaitable[RawTestServer]]


def chain(handler: Handler, *middlewares: Any) -> Handler:
    """What an Application does with its middlewares, for the low-level server."""
    for middleware in reversed(middlewares):
        handler = functools.partial(middleware, handler=handler)
    return handler


@pytest.fixture
def serve(aiohttp_raw_server: AiohttpRawServer) -> Serve:
    """``server = await serve(handler, *middlewares, **server_kwargs)``: middleware mode."""

    async def start(handler: Handler, *middlewares: Any, **server_kwargs: Any) -> RawTestServer:
        server_kwargs.setdefault("request_id", False)
        server_kwargs.setdefault("access_log_class", RequestIdContextAccessLogger)
        server_kwargs.setdefault("access_log_format", '"%r" %s')
        return await aiohttp_raw_server(chain(handler, *middlewares), **server_kwargs)

    return start


async def get(target: Target, path: str = "/") -> RawResponse:
    """A GET on its own connection, answered once the server closed it (access line written)."""
    return await raw_http.get(target, path, until_close=True)


async def hello(request: web.BaseRequest) -> web.Response:
    log.info("Processing transfer id %s", request.query.get("transfer", "-"))
    return web.Response(text=f"Hello, world! {request['request_id']} {request[REQUEST_ID_KEY]}\n")


def test_the_old_and_new_names_are_one_class() -> None:
    assert RequestIdContextAccessLogger is RequestIdAccessLogger
    assert issubclass(RequestIdAccessLogger, AccessLogger)
    assert request_id.get() is None
    assert FALLBACK_REQUEST_ID_KEY == "request_id"
    assert isinstance(request_id_middleware(), RequestIdMiddleware)


async def test_readme_setup_switch_off(serve: Serve, lines: Captured) -> None:
    server = await serve(hello, request_id_middleware())
    resp = await get(server, "/?transfer=1234")
    assert resp.status == 200
    (rid,) = resp.headers.getall("X-Request-ID")
    assert valid_request_id(rid)
    assert resp.text() == f"Hello, world! {rid} {rid}\n"
    processing, transfer, access = lines.of(rid)
    assert processing.endswith(f"[req:{rid}] Processing GET / (test_request_id_dropin:hello)")
    assert transfer.endswith(f"[req:{rid}] Processing transfer id 1234")
    assert access.endswith(f'[req:{rid}] "GET /?transfer=1234 HTTP/1.1" 200')


async def test_concurrent_requests_keep_their_ids(serve: Serve, lines: Captured) -> None:
    async def slow(request: web.BaseRequest) -> web.Response:
        transfer = request.query["transfer"]
        log.info("start %s", transfer)
        await asyncio.sleep(0.01)
        log.info("end %s", transfer)
        return web.Response(text=transfer)

    server = await serve(slow, RequestIdMiddleware(log_request_start=noop))
    results = await asyncio.gather(*(get(server, f"/?transfer={n}") for n in range(30)))
    for resp in results:
        assert resp.status == 200
        (rid,) = resp.headers.getall("X-Request-ID")
        body = resp.text()
        assert [line.split("] ", 1)[1] for line in lines.of(rid)] == [
            f"start {body}",
            f"end {body}",
            f'"GET /?transfer={body} HTTP/1.1" 200',
        ]


async def test_unhandled_error_is_a_500_with_the_id_and_a_traceback(serve: Serve, lines: Captured) -> None:
    async def broken(request: web.BaseRequest) -> web.Response:
        log.error("Oh no, something bad has happened! Cannot finish the transfer.")
        raise ValueError("transfer 5678 failed")

    server = await serve(broken, request_id_middleware(log_request_start=False))
    resp = await get(server)
    assert resp.status == 500 and "Server got itself in trouble" in resp.text()
    (rid,) = resp.headers.getall("X-Request-ID")
    mine = lines.of(rid)
    assert any("Cannot finish the transfer" in line for line in mine)
    assert any("Error handling request" in line and "transfer 5678 failed" in line for line in mine)
    assert mine[-1].endswith('"GET / HTTP/1.1" 500')


async def test_http_exception_gets_the_header(serve: Serve) -> None:
    async def missing(request: web.BaseRequest) -> web.Response:
        raise web.HTTPNotFound()

    server = await serve(missing, RequestIdMiddleware())
    resp = await get(server)
    assert resp.status == 404
    assert valid_request_id(resp.headers["X-Request-ID"])


async def test_both_on_use_one_id(serve: Serve, lines: Captured) -> None:
    seen: list[Optional[str]] = []

    async def handler(request: web.BaseRequest) -> web.Response:
        seen.append(request_id.get())
        return await hello(request)

    server = await serve(handler, RequestIdMiddleware(), request_id=True)
    resp = await get(server)
    (rid,) = resp.headers.getall("X-Request-ID")
    assert resp.status == 200 and seen == [rid]
    assert resp.text() == f"Hello, world! {rid} {rid}\n"
    assert len(lines.of(rid)) == 3  # Processing, the handler's line, the access line
    assert [line for line in lines.lines if "[req:" not in line] == []


async def test_applied_twice_without_the_switch_is_an_error(serve: Serve, lines: Captured) -> None:
    server = await serve(hello, RequestIdMiddleware(), RequestIdMiddleware())
    resp = await get(server)
    assert resp.status == 500
    assert any("RequestIdKeyAlreadySetError" in line for line in lines.lines)
    assert RequestIdKeyAlreadySetError("abc").existing_request_id == "abc"


async def test_customisation_by_arguments(serve: Serve) -> None:
    def from_header(request: web.BaseRequest) -> Optional[str]:
        incoming = request.headers.get("X-Upstream-Id")
        return incoming if incoming and valid_request_id(incoming) else None

    middleware = RequestIdMiddleware(
        request_id_factory=sequential_request_id_factory,
        get_request_id=from_header,
        request_id_header_name="X-Trace",
        no_fallback_request_id_key=True,
    )

    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(text=f"{request[REQUEST_ID_KEY]} {'request_id' in request}")

    server = await serve(handler, middleware)
    resp = await get(server)
    rid = resp.headers["X-Trace"]
    assert rid.rsplit("-", 1)[1].isdigit()
    assert resp.text() == f"{rid} False"
    assert "X-Request-ID" not in resp.headers


async def test_customisation_by_subclassing(serve: Serve, lines: Captured) -> None:
    class JsonErrors(RequestIdMiddleware):
        log_function_name = False

        def get_response_for_exception(self, request: web.BaseRequest, exc: Exception) -> web.StreamResponse:
            return web.json_response({"error": "internal", "request_id": request_id.get()}, status=500)

    async def broken(request: web.BaseRequest) -> web.Response:
        raise RuntimeError("boom")

    server = await serve(broken, JsonErrors())
    resp = await get(server, "/api")
    (rid,) = resp.headers.getall("X-Request-ID")
    assert resp.status == 500 and rid in resp.text()
    assert lines.of(rid)[0].endswith(f"[req:{rid}] Processing GET /api")


async def test_handler_header_is_kept_and_echo_can_be_off(serve: Serve) -> None:
    async def own(request: web.BaseRequest) -> web.Response:
        return web.Response(text="x", headers={"X-Request-Id": "mine"})

    server = await serve(own, RequestIdMiddleware())
    resp = await get(server)
    assert resp.headers.getall("X-Request-ID") == ["mine"]
    server = await serve(hello, RequestIdMiddleware(add_response_request_id_header=noop))
    resp = await get(server)
    assert "X-Request-ID" not in resp.headers


async def test_access_logger_sets_the_id_when_the_server_did_not(lines: Captured) -> None:
    # A server that writes the access line outside the request's context passes a
    # request whose mapping holds the id.
    access = RequestIdAccessLogger(logging.getLogger("aiohttp.access"), "%s")
    request = {"request_id": "late-1"}
    access.log(request, web.Response(status=201), 0.0)  # type: ignore[arg-type]
    assert lines.of("late-1") == [" INFO: [req:late-1] 201"]
    assert request_id.get() is None
