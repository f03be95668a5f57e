"""Request ids: generated, adopted from trusted proxies, echoed, and on every log line."""

import asyncio
import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
import raw_http
from forking import run_in_child
from log_capture import Captured, captured_root
from multidict import CIMultiDict, CIMultiDictProxy
from raw_http import Handler, RawResponse, Target

from aiohttp import web
from aiohttp.pytest_plugin import AiohttpRawServer
from aiohttp.request_id import (
    REQUEST_ID_KEY,
    RequestIdFilter,
    RequestIdSettings,
    SequentialRequestIdFactory,
    generate_request_id,
    request_id,
    sequential_request_id_factory,
    settings_from_environ,
    setup_logging_request_id_prefix,
    use_request_id,
    uuid4_request_id,
    valid_request_id,
)
from aiohttp.test_utils import RawTestServer

ROOT = Path(__file__).resolve().parent.parent
app_log = logging.getLogger("app")
NGINX_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"  # nginx's $request_id: 32 hex digits


# -- fixtures: logging captured in memory, servers on loopback ------------------


@pytest.fixture
def logs() -> Iterator[Captured]:
    """Every record at INFO and above, with the request-id record factory installed."""
    with captured_root() as handler:
        yield handler


Serve = Callable[..., Awaitable[RawTestServer]]


@pytest.fixture
def serve(aiohttp_raw_server: AiohttpRawServer) -> Serve:
    """``server = await serve(handler, **server_kwargs)``: request ids on, ``%L`` logged."""

    async def start(handler: Handler, **server_kwargs: Any) -> RawTestServer:
        server_kwargs.setdefault("request_id", True)
        server_kwargs.setdefault("access_log_format", '%a "%r" %s %L')
        return await aiohttp_raw_server(handler, **server_kwargs)

    return start


async def get(server: Target, path: str = "/", headers: str = "", raw: Optional[bytes] = None) -> RawResponse:
    """One request on its own connection, until the server closes; ``raw`` sends bytes as they are."""
    if raw is not None:
        return await raw_http.request(server, raw, until_close=True)
    return await raw_http.get(server, path, headers, until_close=True)


async def hello(request: web.BaseRequest) -> web.Response:
    app_log.info("handling %s", request.path)
    return web.Response(text=f"{request_id.get()} {request['request_id']} {request[REQUEST_ID_KEY]}")


# -- generating and validating ids ----------------------------------------------


def test_generated_ids_are_short_url_safe_and_unambiguous() -> None:
    ids = {generate_request_id() for _ in range(20000)}
    assert len(ids) == 20000
    for rid in list(ids)[:500]:
        assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{16}", rid), rid
        assert valid_request_id(rid)


def test_threads_never_share_an_id() -> None:
    import threading

    batches: list[list[str]] = [[] for _ in range(4)]

    def draw(batch: list[str]) -> None:
        batch.extend(generate_request_id() for _ in range(3000))

    threads = [threading.Thread(target=draw, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    drawn = [rid for batch in batches for rid in batch]
    assert len(drawn) == len(set(drawn)) == 12000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_none_of_its_parents_ids() -> None:
    generate_request_id()  # the parent has ids cut and waiting now
    child_ids = set(run_in_child(lambda: [generate_request_id() for _ in range(50)]))
    parent_ids = {generate_request_id() for _ in range(50)}
    assert len(child_ids) == 50 and not child_ids & parent_ids


def test_other_factories() -> None:
    assert uuid.UUID(uuid4_request_id()).version == 4
    first, second = sequential_request_id_factory(), sequential_request_id_factory()
    prefix, n = first.rsplit("-", 1)
    assert second == f"{prefix}-{int(n) + 1}"
    assert valid_request_id(first)
    named = SequentialRequestIdFactory("web1")
    assert (named(), named()) == ("web1-1", "web1-2")
    with pytest.raises(ValueError, match="prefix"):
        SequentialRequestIdFactory("bad prefix")
    assert len(generate_request_id(7)) == 7
    with pytest.raises(ValueError, match="length"):
        generate_request_id(0)


@pytest.mark.parametrize("value", [NGINX_ID, str(uuid.uuid4()), "web1-42", "Root=1-65a7:abc.def"])
def test_valid_ids(value: str) -> None:
    assert valid_request_id(value)


@pytest.mark.parametrize(
    "value",
    ["", " abc", "abc def", "abc\r\nX-Evil: 1", "abc\x1b[31m", "a" * 129, "-leading-dash", "id\u00e9", "a/b", "a\"b"],
)
def test_invalid_ids(value: str) -> None:
    assert not valid_request_id(value)


def headers_of(**values: str) -> "CIMultiDictProxy[str]":
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


def test_adoption_follows_trust() -> None:
    incoming = headers_of(X_Request_ID=NGINX_ID)
    assert RequestIdSettings().choose(incoming, peer_trusted=True) == NGINX_ID
    assert RequestIdSettings().choose(incoming, peer_trusted=False) != NGINX_ID
    assert RequestIdSettings(trust="always").choose(incoming, peer_trusted=False) == NGINX_ID
    assert RequestIdSettings(trust="never").choose(incoming, peer_trusted=True) != NGINX_ID
    custom = RequestIdSettings(header="X-Correlation-ID", factory=lambda: "fresh")
    assert custom.choose(headers_of(X_Correlation_ID="abc"), peer_trusted=True) == "abc"
    assert custom.choose(headers_of(X_Request_ID="abc"), peer_trusted=True) == "fresh"
    assert custom.choose(headers_of(X_Correlation_ID="a b"), peer_trusted=True) == "fresh"


def test_settings_reject_wrong_arguments() -> None:
    with pytest.raises(ValueError, match="trust"):
        RequestIdSettings(trust="sometimes")
    with pytest.raises(TypeError, match="factory"):
        RequestIdSettings(factory="uuid4")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="header"):
        RequestIdSettings(header="")
    with pytest.raises(TypeError, match="request_id"):
        web.Server(hello, request_id="yes")  # type: ignore[arg-type]


def test_settings_from_environ() -> None:
    assert settings_from_environ({}) is None
    assert settings_from_environ({"AIOHTTP_REQUEST_ID": "0"}) is None
    settings = settings_from_environ(
        {
            "AIOHTTP_REQUEST_ID": "1",
            "AIOHTTP_REQUEST_ID_HEADER": "X-Correlation-ID",
            "AIOHTTP_REQUEST_ID_RESPONSE_HEADER": "",
            "AIOHTTP_REQUEST_ID_TRUST": "always",
            "AIOHTTP_REQUEST_ID_FACTORY": "uuid4",
        }
    )
    assert settings is not None
    assert settings.header == "X-Correlation-ID"
    assert settings.response_header is None
    assert settings.trust == "always"
    assert uuid.UUID(settings.factory())
    with pytest.raises(ValueError, match="AIOHTTP_REQUEST_ID"):
        settings_from_environ({"AIOHTTP_REQUEST_ID": "maybe"})
    with pytest.raises(ValueError, match="AIOHTTP_REQUEST_ID_FACTORY"):
        settings_from_environ({"AIOHTTP_REQUEST_ID": "on", "AIOHTTP_REQUEST_ID_FACTORY": "guid"})


def test_use_request_id_runs_work_under_an_id() -> None:
    assert request_id.get() is None
    with use_request_id("job-7") as rid:
        assert rid == request_id.get() == "job-7"
        with use_request_id(None) as fresh:
            assert fresh is not None and valid_request_id(fresh) and request_id.get() == fresh
        assert request_id.get() == "job-7"
    assert request_id.get() is None


# -- log records -------------------------------------------------------------------


def test_record_factory_adds_id_and_prefix(logs: Captured) -> None:
    app_log.info("outside")
    with use_request_id("abc123"):
        app_log.info("inside")
    outside, inside = logs.by("app")
    assert (outside.request_id, outside.requestIdPrefix) == (None, "")  # type: ignore[attr-defined]
    assert (inside.request_id, inside.requestIdPrefix) == ("abc123", "[req:abc123] ")  # type: ignore[attr-defined]


def test_setup_is_idempotent_and_prefix_configurable(logs: Captured) -> None:
    factory = logging.getLogRecordFactory()
    setup_logging_request_id_prefix("<{request_id}> ")
    assert logging.getLogRecordFactory() is factory
    with use_request_id("r1"):
        app_log.info("x")
    assert logs.by("app")[0].requestIdPrefix == "<r1> "  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="prefix_format"):
        setup_logging_request_id_prefix("[req:%s] ")


def test_importing_installs_nothing() -> None:
    code = (
        "import logging, aiohttp, aiohttp.web, aiohttp.request_id\n"
        "from aiohttp.request_id import RequestIdAccessLogger\n"
        "assert logging.getLogRecordFactory() is logging.LogRecord\n"
        "assert not logging.getLogger().handlers\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=env)


def test_filter_for_dict_config(tmp_path: Path) -> None:
    import logging.config

    out = tmp_path / "app.log"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": "aiohttp.request_id.RequestIdFilter"}},
            "formatters": {"plain": {"format": "%(levelname)s %(requestIdPrefix)s%(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": str(out),
                    "filters": ["request_id"],
                    "formatter": "plain",
                }
            },
            "loggers": {"dictapp": {"handlers": ["file"], "level": "INFO", "propagate": False}},
        }
    )
    log = logging.getLogger("dictapp")
    try:
        log.info("starting")
        with use_request_id("r-9"):
            log.warning("inside")
    finally:
        for handler in log.handlers:
            handler.close()
        log.handlers.clear()
    assert out.read_text().splitlines() == ["INFO starting", "WARNING [req:r-9] inside"]
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert RequestIdFilter(prefix_format="{request_id}|").filter(record)


def test_json_logs_with_python_json_logger() -> None:
    import io
    import json

    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    log = logging.getLogger("jsonapp")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        with use_request_id(NGINX_ID):
            log.info("charged card", extra={"amount": 12})
        log.info("idle")
    finally:
        log.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == NGINX_ID and inside["message"] == "charged card" and inside["amount"] == 12
    assert outside["request_id"] is None


# -- the built-in switch over real sockets -------------------------------------------


async def test_one_id_from_handler_to_access_line(serve: Serve, logs: Captured) -> None:
    server = await serve(hello)
    reply = await get(server, "/orders")
    rid = reply.headers["X-Request-ID"]
    assert valid_request_id(rid)
    assert reply.body.decode() == f"{rid} {rid} {rid}"
    (handler_line,) = logs.by("app")
    assert handler_line.request_id == rid  # type: ignore[attr-defined]
    assert handler_line.requestIdPrefix == f"[req:{rid}] "  # type: ignore[attr-defined]
    (access_line,) = logs.by("aiohttp.access")
    assert access_line.request_id == rid  # type: ignore[attr-defined]
    assert access_line.message.endswith(f'"GET /orders HTTP/1.1" 200 {rid}')
    assert request_id.get() is None


async def test_each_request_gets_its_own_id(serve: Serve) -> None:
    server = await serve(hello)
    replies = await asyncio.gather(*(get(server) for _ in range(20)))
    assert len({r.headers["X-Request-ID"] for r in replies}) == 20


async def test_switch_off_means_no_id(serve: Serve) -> None:
    seen: list[Optional[str]] = []

    async def handler(request: web.BaseRequest) -> web.Response:
        seen.append(request_id.get())
        return web.Response(text="ok")

    server = await serve(handler, request_id=False)
    reply = await get(server)
    assert "X-Request-ID" not in reply.headers
    assert seen == [None]


async def test_environment_switch(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOHTTP_REQUEST_ID", "1")
    monkeypatch.setenv("AIOHTTP_REQUEST_ID_RESPONSE_HEADER", "X-Trace")
    server = await serve(hello, request_id=None)
    reply = await get(server)
    assert valid_request_id(reply.headers["X-Trace"])
    assert "X-Request-ID" not in reply.headers


async def test_id_echoed_on_raised_http_exceptions(serve: Serve) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        if request.path == "/gone":
            raise web.HTTPGone()
        raise web.HTTPFound("/elsewhere")

    server = await serve(handler)
    for path, status in (("/gone", 410), ("/moved", 302)):
        reply = await get(server, path)
        assert reply.status == status
        assert valid_request_id(reply.headers["X-Request-ID"])


async def test_unhandled_error_traceback_carries_the_id(serve: Serve, logs: Captured) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        app_log.info("about to fail")
        raise RuntimeError("card declined")

    server = await serve(handler)
    reply = await get(server)
    assert reply.status == 500
    rid = reply.headers["X-Request-ID"]
    (error,) = [r for r in logs.records if r.exc_info]
    assert error.request_id == rid  # type: ignore[attr-defined]
    assert "card declined" in logging.Formatter().format(error)
    assert [r.request_id for r in logs.by("app")] == [rid]  # type: ignore[attr-defined]
    assert [r.request_id for r in logs.by("aiohttp.access")] == [rid]  # type: ignore[attr-defined]


async def test_malformed_request_refusal_carries_an_id(serve: Serve, logs: Captured) -> None:
    server = await serve(hello)
    reply = await get(server, raw=b"GET / HTTP/1.1\r\nHost: test\r\nBad Header\r\n\r\n")
    assert reply.status == 400
    rid = reply.headers["X-Request-ID"]
    assert valid_request_id(rid)
    refusals = [r for r in logs.by("aiohttp.server") if r.message.startswith("Refused")]
    assert [r.request_id for r in refusals] == [rid]  # type: ignore[attr-defined]


async def test_header_set_by_handler_is_kept(serve: Serve) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(text="ok", headers={"X-Request-ID": "chosen-by-app"})

    server = await serve(handler)
    reply = await get(server)
    assert reply.headers.getall("X-Request-ID") == ["chosen-by-app"]


async def test_echo_can_be_turned_off(serve: Serve) -> None:
    server = await serve(hello, request_id=RequestIdSettings(response_header=None))
    reply = await get(server)
    assert "X-Request-ID" not in reply.headers
    assert valid_request_id(reply.body.decode().split()[0])


async def test_id_from_trusted_proxy_is_adopted(serve: Serve) -> None:
    server = await serve(hello, trusted_proxies="127.0.0.1")
    reply = await get(server, headers=f"X-Request-ID: {NGINX_ID}\r\n")
    assert reply.headers["X-Request-ID"] == NGINX_ID
    assert reply.body.decode() == f"{NGINX_ID} {NGINX_ID} {NGINX_ID}"


async def test_id_from_untrusted_client_is_not_adopted(serve: Serve) -> None:
    server = await serve(hello, trusted_proxies="10.0.0.0/8")
    reply = await get(server, headers=f"X-Request-ID: {NGINX_ID}\r\n")
    assert reply.headers["X-Request-ID"] != NGINX_ID
    assert valid_request_id(reply.headers["X-Request-ID"])


async def test_explicit_opt_in_adopts_from_anyone(serve: Serve) -> None:
    server = await serve(hello, request_id=RequestIdSettings(trust="always", header="X-Correlation-ID"))
    reply = await get(server, headers="X-Correlation-ID: upstream-42\r\n")
    assert reply.headers["X-Request-ID"] == "upstream-42"


async def test_invalid_incoming_id_is_replaced_and_only_logged_escaped(serve: Serve, logs: Captured) -> None:
    forged = '"; DROP TABLE requests; --'
    logging.getLogger("aiohttp.server").setLevel(logging.DEBUG)
    try:
        server = await serve(hello, request_id=RequestIdSettings(trust="always"))
        reply = await get(server, headers=f"X-Request-ID: {forged}\r\n")
    finally:
        logging.getLogger("aiohttp.server").setLevel(logging.NOTSET)
    rid = reply.headers["X-Request-ID"]
    assert valid_request_id(rid) and rid != forged
    (note,) = [r for r in logs.by("aiohttp.server") if "invalid" in r.message]
    assert note.message.endswith(repr(forged))
    assert note.request_id is None  # type: ignore[attr-defined]


async def test_tasks_started_by_the_handler_inherit_the_id(serve: Serve, logs: Captured) -> None:
    done = asyncio.Event()

    async def later() -> None:
        await asyncio.sleep(0)
        app_log.info("background step")
        done.set()

    background: set[asyncio.Task[None]] = set()

    async def handler(request: web.BaseRequest) -> web.Response:
        task = asyncio.create_task(later())
        background.add(task)
        return web.Response(text="accepted")

    server = await serve(handler)
    reply = await get(server)
    await asyncio.wait_for(done.wait(), 5)
    (line,) = logs.by("app")
    assert line.request_id == reply.headers["X-Request-ID"]  # type: ignore[attr-defined]


async def test_sequential_factory(serve: Serve) -> None:
    server = await serve(hello, request_id=RequestIdSettings(factory=SequentialRequestIdFactory("w1")))
    first, second = await get(server), await get(server)
    assert (first.headers["X-Request-ID"], second.headers["X-Request-ID"]) == ("w1-1", "w1-2")


async def test_500_concurrent_requests_never_mix_ids(serve: Serve, logs: Captured) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        token = request.query["n"]
        for step in range(3):
            app_log.info("request %s step %d", token, step)
            await asyncio.sleep(0.001 * (int(token) % 7))
        return web.Response(text=token)

    server = await serve(handler, access_log_format='"%r" %s')
    limit = asyncio.Semaphore(100)  # bounded open sockets; all still overlap

    async def one(n: int) -> tuple[str, str]:
        async with limit:
            reply = await get(server, f"/?n={n}")
        assert reply.body.decode() == str(n)
        return str(n), reply.headers["X-Request-ID"]

    ids = dict(await asyncio.gather(*(one(n) for n in range(500))))
    assert len(set(ids.values())) == 500
    handler_lines = logs.by("app")
    assert len(handler_lines) == 1500
    for record in handler_lines:
        assert record.request_id == ids[str(record.args[0])]  # type: ignore[attr-defined,index]
    access_lines = logs.by("aiohttp.access")
    assert len(access_lines) == 500
    for record in access_lines:
        n = re.search(r"n=(\d+)", record.message).group(1)  # type: ignore[union-attr]
        assert record.request_id == ids[n]  # type: ignore[attr-defined]
