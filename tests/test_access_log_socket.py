"""Access logging over real sockets: what the line says, and the context it is written in."""

import asyncio
import contextvars
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from pathlib import Path
from typing import Any, Optional

import pytest
import raw_http
from log_capture import Captured, captured_logger

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger, AbstractAsyncAccessLogger
from aiohttp.pytest_plugin import AiohttpServer
from aiohttp.web_log import AccessLogger

TIMEOUT = 10.0
user_var: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("user_var", default=None)


@pytest.fixture
def access_log() -> Iterator[tuple[logging.Logger, Captured]]:
    with captured_logger("test.access_socket") as logger_and_records:
        yield logger_and_records


async def handler(request: web.BaseRequest) -> web.StreamResponse:
    user_var.set(request.headers.get("X-User"))
    if request.path == "/boom":
        raise RuntimeError("boom")
    if request.path == "/missing":
        raise web.HTTPNotFound()
    return web.Response(text="hello", headers={"X-Out": "out-value"})


def serve(**server_kwargs: Any) -> AsyncContextManager[raw_http.Served]:
    return raw_http.serve(handler, **server_kwargs)


async def get(server: raw_http.Target, path: str = "/", headers: str = "") -> raw_http.RawResponse:
    """A GET, answered once the server closed the connection (its access line is due)."""
    return await raw_http.get(server, path, headers, until_close=True)


async def wait_until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), TIMEOUT)


async def wait_records(recorder: Captured, count: int) -> None:
    await wait_until(lambda: len(recorder.records) >= count)


async def test_default_format_over_a_socket(access_log: Any) -> None:
    logger, rec = access_log
    async with serve(access_log=logger) as server:
        resp = await get(server, "/a?b=c", "Referer: http://ref/\r\nUser-Agent: probe/2\r\n")
        await wait_records(rec, 1)
    sent = len(resp.head) + len(resp.body)  # %b counts the status line and headers too
    assert re.fullmatch(
        rf'127\.0\.0\.1 \[[^]]+\] "GET /a\?b=c HTTP/1\.1" 200 {sent} "http://ref/" "probe/2"',
        rec.records[0].getMessage(),
    )


async def test_every_atom_over_a_socket(access_log: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    logger, rec = access_log
    monkeypatch.setenv("SOCKET_ATOM", "e-value")
    fmt = '%a %t %P "%r" %s %b %T %Tf %D %{X-In}i %{X-Out}o %{SOCKET_ATOM}e %%'
    async with serve(access_log=logger, access_log_format=fmt) as server:
        resp = await get(server, "/", "X-In: in-value\r\n")
        await wait_records(rec, 1)
    sent = len(resp.head) + len(resp.body)
    assert re.fullmatch(
        rf'127\.0\.0\.1 \[\d\d/\w{{3}}/\d{{4}}:\d\d:\d\d:\d\d [+-]\d{{4}}\] <{os.getpid()}> "GET / HTTP/1\.1" '
        rf"200 {sent} \d+ \d+\.\d{{6}} \d+ in-value out-value e-value %",
        rec.records[0].getMessage(),
    ), rec.records[0].getMessage()


async def test_error_responses_are_logged_with_their_status(access_log: Any) -> None:
    logger, rec = access_log
    async with serve(access_log=logger, access_log_format="%r %s") as server:
        await get(server, "/missing")
        await get(server, "/boom")
        await wait_records(rec, 2)
    assert [r.getMessage() for r in rec.records] == ["GET /missing HTTP/1.1 404", "GET /boom HTTP/1.1 500"]


class ContextLogger(AbstractAccessLogger):
    """Records what the request's context shows while its line is written."""

    seen: list[tuple[Optional[str], Any, int]] = []

    def log(self, request: Any, response: Any, time: float) -> None:
        self.seen.append((user_var.get(), sys.exc_info()[1], response.status))


async def test_the_line_is_written_in_the_requests_context_with_its_exception() -> None:
    ContextLogger.seen = []
    async with serve(access_log=logging.getLogger("test.ctx"), access_log_class=ContextLogger) as server:
        await get(server, "/", "X-User: alice\r\n")
        await get(server, "/boom", "X-User: bob\r\n")
        await get(server, "/missing", "X-User: carol\r\n")
        await wait_until(lambda: len(ContextLogger.seen) >= 3)
    ok, boom, missing = ContextLogger.seen
    assert ok == ("alice", None, 200)
    assert boom[0] == "bob" and isinstance(boom[1], RuntimeError) and boom[2] == 500
    assert missing[0] == "carol" and isinstance(missing[1], web.HTTPNotFound) and missing[2] == 404


async def test_a_disabled_logger_formats_nothing() -> None:
    calls: list[str] = []

    class Counting(AccessLogger):
        def log(self, request: Any, response: Any, time: float) -> None:
            calls.append("log")
            super().log(request, response, time)

    quiet = logging.getLogger("test.quiet")
    quiet.setLevel(logging.WARNING)
    async with serve(access_log=quiet, access_log_class=Counting) as server:
        await get(server)
    assert calls == []  # the server asked .enabled and skipped the call


async def test_an_async_access_logger_is_awaited() -> None:
    lines: list[str] = []

    class AsyncLogger(AbstractAsyncAccessLogger):
        async def log(self, request: Any, response: Any, request_start: float) -> None:
            await asyncio.sleep(0)
            lines.append(f"{request.path} {response.status} {user_var.get()}")

    async with serve(access_log=logging.getLogger("test.async"), access_log_class=AsyncLogger) as server:
        await get(server, "/x", "X-User: dave\r\n")
        await wait_until(lambda: bool(lines))
    assert lines == ["/x 200 dave"]


async def test_access_log_class_on_an_app_runner(aiohttp_server: AiohttpServer, access_log: Any) -> None:
    logger, rec = access_log

    class Short(AbstractAccessLogger):
        def log(self, request: Any, response: Any, time: float) -> None:
            self.logger.info("%s -> %s", request.path, response.status)

    app = web.Application()

    async def index(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/", index)
    server = await aiohttp_server(app, access_log=logger, access_log_class=Short)
    await get(server)
    await wait_records(rec, 1)
    assert rec.records[0].getMessage() == "/ -> 200"


def test_access_log_class_must_be_an_access_logger() -> None:
    with pytest.raises(TypeError, match="access_log_class"):
        web.run_app(web.Application(), access_log_class=dict)  # type: ignore[arg-type]


def test_debug_mode_prints_access_lines_to_stderr(tmp_path: Path) -> None:
    """With the loop in debug mode and no handler on aiohttp.access, lines go to stderr."""
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, socket, sys, threading, urllib.request
            from aiohttp import web

            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]

            async def index(request):
                return web.Response(text="ok")

            def client():
                import time
                for _ in range(100):
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/debugged", timeout=5).read()
                        break
                    except OSError:
                        time.sleep(0.05)
                import os, signal
                os.kill(os.getpid(), signal.SIGINT)

            app = web.Application()
            app.router.add_get("/debugged", index)
            threading.Thread(target=client, daemon=True).start()
            web.run_app(app, sock=sock, print=None)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PYTHONASYNCIODEBUG": "1"}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, timeout=30)
    assert re.search(rb'"GET /debugged HTTP/1.1" 200 \d+ ', proc.stderr), proc.stderr.decode()
