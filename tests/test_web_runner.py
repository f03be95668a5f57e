"""Runners and sites: TCP, unix and ready-made sockets; graceful shutdown; bad arguments."""

import asyncio
import logging
import pathlib
import signal
import socket
from typing import Any

import pytest
from realistic_app import fetch, parse_reply

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def hello_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", hello)
    return app


async def test_app_runner_with_tcp_site() -> None:
    runner = web.AppRunner(hello_app())
    assert runner.server is None and runner.app is not None
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        assert site.name == f"http://127.0.0.1:{site.port}"
        assert runner.sites == {site}
        assert runner.addresses == [("127.0.0.1", site.port)]
        assert (await fetch(site.port, "/")).text == "hello"
    finally:
        await runner.cleanup()
    assert runner.server is None and runner.sites == set()


async def test_unix_site(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "app.sock")
    runner = web.AppRunner(hello_app())
    await runner.setup()
    site = web.UnixSite(runner, path)
    await site.start()
    try:
        assert site.name == f"http://unix:{path}:"
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = parse_reply(await asyncio.wait_for(reader.read(), 5))
        writer.close()
        assert reply.text == "hello"
    finally:
        await runner.cleanup()


async def test_sock_site_serves_a_bound_socket() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    runner = web.AppRunner(hello_app())
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        assert site.name == f"http://127.0.0.1:{port}"
        assert (await fetch(port, "/")).text == "hello"
    finally:
        await runner.cleanup()
        sock.close()


async def test_server_runner_serves_a_low_level_server() -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(text=f"low level {request.path}")

    runner = web.ServerRunner(web.Server(handler))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        assert (await fetch(site.port, "/x")).text == "low level /x"
    finally:
        await runner.cleanup()


async def test_cleanup_lets_in_flight_requests_finish() -> None:
    started = asyncio.Event()
    events: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(0.2)
        return web.Response(text="finished")

    async def on_shutdown(app: web.Application) -> None:
        events.append("shutdown")

    async def on_cleanup(app: web.Application) -> None:
        events.append("cleanup")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    request = asyncio.ensure_future(fetch(site.port, "/slow"))
    await asyncio.wait_for(started.wait(), 5)
    await runner.cleanup()
    reply = await asyncio.wait_for(request, 5)
    assert reply.status == 200 and reply.text == "finished"
    assert events == ["shutdown", "cleanup"]


async def test_handle_signals_installs_and_removes_handlers(loop: asyncio.AbstractEventLoop) -> None:
    runner = web.AppRunner(hello_app(), handle_signals=True)
    await runner.setup()
    assert loop.remove_signal_handler(signal.SIGTERM) is True  # it was installed
    loop.add_signal_handler(signal.SIGTERM, lambda: None)
    await runner.cleanup()
    assert loop.remove_signal_handler(signal.SIGTERM) is False  # and removed again


async def test_runner_options_reach_connections() -> None:
    lines: list[str] = []

    class ListLogger(AbstractAccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            lines.append(f"{self.log_format}:{request.path}:{response.status}")

    runner = web.AppRunner(
        hello_app(),
        access_log_class=ListLogger,
        access_log_format="custom",
        access_log=logging.getLogger("test.access"),
        keepalive_timeout=3.0,
        handler_cancellation=True,
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await fetch(site.port, "/")
        assert runner.server is not None
        assert runner.server().keepalive_timeout == 3.0
    finally:
        await runner.cleanup()
    assert lines == ["custom:/:200"]


async def test_bad_runner_and_site_arguments() -> None:
    with pytest.raises(TypeError, match=r"web\.Application"):
        web.AppRunner(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shutdown_timeout"):
        web.AppRunner(hello_app(), shutdown_timeout=-1)
    runner = web.AppRunner(hello_app())
    with pytest.raises(RuntimeError, match="setup"):
        web.TCPSite(runner, "127.0.0.1", 0)
    await runner.setup()
    try:
        with pytest.raises(ValueError, match="port"):
            web.TCPSite(runner, "127.0.0.1", 70000)
        with pytest.raises(TypeError, match="sock"):
            web.SockSite(runner, "not a socket")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="runner"):
            web.TCPSite(object(), "127.0.0.1", 0)  # type: ignore[arg-type]
    finally:
        await runner.cleanup()
    bad: Any = object
    with pytest.raises(TypeError, match="access_log_class"):
        await web.AppRunner(hello_app(), access_log_class=bad).setup()
