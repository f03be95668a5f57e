"""Request ids with an Application: the switch on AppRunner and run_app, and the seed README's app.

The README of aiohttp-request-id-logging shows an app using ``request_id_middleware()``,
``setup_logging_request_id_prefix()`` and ``RequestIdContextAccessLogger`` under
``run_app``. Here it runs as a real program with only its import line changed.
"""

import asyncio
import logging
import os
import re
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
import raw_http
from log_capture import Captured, captured_root
from raw_http import RawResponse, Target

from aiohttp import web
from aiohttp.pytest_plugin import AiohttpServer
from aiohttp.request_id import (
    REQUEST_ID_KEY,
    RequestIdMiddleware,
    request_id,
    valid_request_id,
)

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("transfers")


async def get(target: Target, path: str = "/") -> RawResponse:
    """A GET on its own connection, answered once the server closed it (access line written)."""
    return await raw_http.get(target, path, until_close=True)


# -- the seed README's app, as a program -------------------------------------------

README_APP = textwrap.dedent(
    """
    import logging
    from aiohttp.web import Application, Response, RouteTableDef, run_app
    from aiohttp.web_log import AccessLogger
    from aiohttp.request_id import (  # was: from aiohttp_request_id_logging import (
        setup_logging_request_id_prefix,
        request_id_middleware,
        RequestIdContextAccessLogger,
    )

    routes = RouteTableDef()

    @routes.get('/')
    async def hello(request):
        logging.getLogger('transfers').info('Processing transfer id %s', request.query['transfer'])
        if request.query['transfer'] == '5678':
            raise RuntimeError('Oh no, something bad has happened! Cannot finish the transfer.')
        return Response(text="Hello, world!\\n")

    logging.basicConfig(
        level=logging.DEBUG,
        format='%(asctime)s [%(threadName)s] %(name)-26s %(levelname)5s: %(requestIdPrefix)s%(message)s')
    setup_logging_request_id_prefix()

    app = Application(middlewares=[request_id_middleware()])
    app.router.add_routes(routes)

    run_app(app, access_log_class=RequestIdContextAccessLogger, host='127.0.0.1', port=0)
    """
)


@pytest.fixture
def readme_app(tmp_path: Path) -> Path:
    path = tmp_path / "demo.py"
    path.write_text(README_APP)
    return path


async def run_readme_app(script: Path, env_switch: Optional[str]) -> tuple[list[tuple[str, str, int]], str]:
    """Start the program, make two requests, stop it with SIGINT; the replies and its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOHTTP_REQUEST_ID")}
    env["PYTHONPATH"] = str(ROOT)
    if env_switch is not None:
        env["AIOHTTP_REQUEST_ID"] = env_switch
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), 20)
        match = re.search(rb"http://127\.0\.0\.1:(\d+)", banner)
        assert match, banner
        port = int(match.group(1))
        replies = []
        for transfer in ("1234", "5678"):
            resp = await get(port, f"/?transfer={transfer}")
            replies.append((transfer, resp.headers["X-Request-ID"], resp.status))
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return replies, err.decode()


@pytest.mark.parametrize("switch", [None, "1"], ids=["middleware-only", "middleware-and-switch"])
async def test_seed_readme_app(readme_app: Path, switch: Optional[str]) -> None:
    replies, log_text = await run_readme_app(readme_app, switch)
    (_, ok_id, ok_status), (_, bad_id, bad_status) = replies
    assert (ok_status, bad_status) == (200, 500)
    assert ok_id != bad_id
    ok_lines = [line for line in log_text.splitlines() if f"[req:{ok_id}] " in line]
    processing, handler_line, access_line = (line.split(f"[req:{ok_id}] ")[1] for line in ok_lines)
    assert processing == "Processing GET / (__main__:hello)"
    assert handler_line == "Processing transfer id 1234"
    assert access_line.startswith("127.0.0.1 [") and '"GET /?transfer=1234 HTTP/1.1" 200 ' in access_line
    bad_lines = [line for line in log_text.splitlines() if f"[req:{bad_id}] " in line]
    assert "Processing transfer id 5678" in bad_lines[1]
    assert "Error handling request" in bad_lines[2] and " ERROR: " in bad_lines[2]
    assert '"GET /?transfer=5678 HTTP/1.1" 500' in bad_lines[3]
    traceback_start = log_text.index(bad_lines[2])
    assert "RuntimeError: Oh no" in log_text[traceback_start:]
    # One id per request even with the switch on as well: every id seen is one of ours.
    assert set(re.findall(r"\[req:([^\]]+)\]", log_text)) == {ok_id, bad_id}


# -- the switch on AppRunner, without middlewares -------------------------------------


@pytest.fixture
def records() -> Iterator[Captured]:
    with captured_root() as handler:
        yield handler


async def transfer(request: web.Request) -> web.Response:
    log.info("transfer %s", request.match_info["n"])
    if request.match_info["n"] == "0":
        raise ZeroDivisionError("no amount")
    return web.Response(text=f"{request[REQUEST_ID_KEY]}")


def make_app(*middlewares: Any) -> web.Application:
    app = web.Application(middlewares=list(middlewares))
    app.router.add_get("/transfer/{n}", transfer)
    return app


async def test_app_runner_switch(aiohttp_server: AiohttpServer, records: Captured) -> None:
    server = await aiohttp_server(make_app(), request_id=True)
    resp = await get(server, "/transfer/7")
    (rid,) = resp.headers.getall("X-Request-ID")
    assert resp.status == 200 and resp.text() == rid
    assert records.ids("transfers") == [rid]
    assert records.ids("aiohttp.access") == [rid]


async def test_app_errors_and_route_misses_carry_the_id(aiohttp_server: AiohttpServer, records: Captured) -> None:
    server = await aiohttp_server(make_app(), request_id=True)
    resp = await get(server, "/transfer/0")
    (crashed,) = resp.headers.getall("X-Request-ID")
    assert resp.status == 500
    (error,) = [r for r in records.records if r.exc_info]
    assert error.request_id == crashed  # type: ignore[attr-defined]
    resp = await get(server, "/nowhere")
    assert resp.status == 404 and valid_request_id(resp.headers["X-Request-ID"])
    assert records.ids("aiohttp.access") == [crashed, resp.headers["X-Request-ID"]]


async def test_app_middleware_and_switch_use_one_id(aiohttp_server: AiohttpServer, records: Captured) -> None:
    seen: list[Optional[str]] = []

    async def spy(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request_id.get())
        return await handler(request)

    server = await aiohttp_server(make_app(spy, RequestIdMiddleware()), request_id=True)
    resp = await get(server, "/transfer/3")
    (rid,) = resp.headers.getall("X-Request-ID")
    assert seen == [rid] and resp.text() == rid
    assert set(records.ids("aiohttp.request_id") + records.ids("transfers") + records.ids("aiohttp.access")) == {rid}


async def test_middleware_mode_without_the_switch(aiohttp_server: AiohttpServer, records: Captured) -> None:
    server = await aiohttp_server(make_app(RequestIdMiddleware(log_function_name=False)), request_id=False)
    resp = await get(server, "/transfer/5")
    (rid,) = resp.headers.getall("X-Request-ID")
    assert resp.status == 200 and resp.text() == rid
    assert records.ids("transfers") == [rid]
    assert records.ids("aiohttp.access") == [rid]  # no special access logger needed here


async def test_run_app_takes_the_switch(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            """
            from aiohttp import web

            async def hello(request):
                return web.Response(text="hi")

            app = web.Application()
            app.router.add_get("/", hello)
            web.run_app(app, host="127.0.0.1", port=0, request_id=True, access_log_format="%s %L")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AIOHTTP_REQUEST_ID", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), 20)
        port = int(re.search(rb":(\d+)", banner).group(1))  # type: ignore[union-attr]
        resp = await get(port)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert valid_request_id(resp.headers["X-Request-ID"])

