"""Sentry events captured while a request runs carry its id as the ``request_id`` tag."""

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import raw_http
from raw_http import Target

from aiohttp import web
from aiohttp.pytest_plugin import AiohttpRawServer
from aiohttp.request_id import RequestIdMiddleware, request_id
from aiohttp.test_utils import RawTestServer

sentry_sdk = pytest.importorskip("sentry_sdk")
from sentry_sdk.envelope import Envelope  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

log = logging.getLogger("payments")
ROOT = Path(__file__).resolve().parent.parent


class InMemory(Transport):
    """Keeps events instead of sending them anywhere."""

    events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.fixture
def events() -> Iterator[list[dict[str, Any]]]:
    InMemory.events = []
    # The logging integration reports crashes of this bare web.Server; sentry's aiohttp
    # integration (auto-enabled) would silence that logger, so it stays off here.
    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        transport=InMemory,
        default_integrations=True,
        auto_enabling_integrations=False,
    )
    yield InMemory.events
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def tag(event: dict[str, Any]) -> Any:
    return event.get("tags", {}).get("request_id")


@pytest.fixture
async def server(events: list[dict[str, Any]], aiohttp_raw_server: AiohttpRawServer) -> RawTestServer:
    async def handler(request: web.BaseRequest) -> web.Response:
        what = request.query["what"]
        if what == "message":
            await asyncio.sleep(0.005)
            sentry_sdk.capture_message(f"refund for {request.query['n']}")
        elif what == "log":
            log.error("card declined")
        elif what == "crash":
            raise RuntimeError("ledger unavailable")
        elif what == "scope":
            sentry_sdk.get_isolation_scope().set_tag("customer", request.query["n"])
            sentry_sdk.capture_message("with customer")
        return web.Response(text="ok")

    return await aiohttp_raw_server(handler, request_id=True)


async def get(server: Target, query: str) -> tuple[int, str]:
    """The status and request id of ``GET /?query``, once the server closed the connection."""
    resp = await raw_http.get(server, f"/?{query}", until_close=True)
    return resp.status, resp.headers["X-Request-ID"]


async def test_message_event_carries_the_id(server: RawTestServer, events: list[dict[str, Any]]) -> None:
    _, rid = await get(server, "what=message&n=1")
    (event,) = events
    assert event["message"] == "refund for 1"
    assert tag(event) == rid


async def test_error_log_and_crash_events_carry_the_id(server: RawTestServer, events: list[dict[str, Any]]) -> None:
    _, logged = await get(server, "what=log")
    status, crashed = await get(server, "what=crash")
    assert status == 500
    by_id = {tag(e): e for e in events}
    assert by_id[logged]["logentry"]["message"] == "card declined"
    assert "ledger unavailable" in str(by_id[crashed])


async def test_concurrent_requests_get_their_own_scope(server: RawTestServer, events: list[dict[str, Any]]) -> None:
    replies = await asyncio.gather(*(get(server, f"what=message&n={n}") for n in range(40)))
    sent = {f"refund for {n}": rid for n, (_, rid) in enumerate(replies)}
    assert {e["message"]: tag(e) for e in events} == sent


async def test_tags_set_by_a_handler_stay_in_its_request(server: RawTestServer, events: list[dict[str, Any]]) -> None:
    await get(server, "what=scope&n=alice")
    sentry_sdk.capture_message("outside any request")
    inside, outside = events
    assert inside["tags"]["customer"] == "alice"
    assert "customer" not in outside.get("tags", {})
    assert tag(outside) is None and request_id.get() is None


async def test_middleware_mode_tags_events_too(
    events: list[dict[str, Any]], aiohttp_raw_server: AiohttpRawServer
) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        sentry_sdk.capture_message("from middleware mode")
        return web.Response(text="ok")

    middleware = RequestIdMiddleware()

    async def app(request: web.BaseRequest) -> web.StreamResponse:
        return await middleware(request, handler)

    server = await aiohttp_raw_server(app, request_id=False)
    _, rid = await get(server, "x=1")
    (event,) = events
    assert tag(event) == rid


SENTRY_AIOHTTP_APP = """
import asyncio, json, sys
import sentry_sdk
from sentry_sdk.integrations.aiohttp import AioHttpIntegration
from sentry_sdk.transport import Transport

events = []

class InMemory(Transport):
    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            events.append(event)

sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=InMemory)  # aiohttp integration auto-enabled
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

async def hello(request):
    sentry_sdk.capture_message("hello")
    return web.Response(text="ok")

async def boom(request):
    raise RuntimeError("boom")

async def main():
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/boom", boom)
    ids = {}
    async with TestClient(TestServer(app, request_id=True)) as client:
        for path in ("/", "/boom"):
            async with client.get(path) as resp:
                ids[path] = resp.headers["X-Request-ID"]
    return ids

ids = asyncio.run(main())
enabled = sentry_sdk.get_client().get_integration(AioHttpIntegration) is not None
print(json.dumps({"enabled": enabled, "ids": ids, "events": [
    {"tag": e.get("tags", {}).get("request_id"), "transaction": e.get("transaction")} for e in events
]}))
"""


def _has_client_tracing() -> bool:
    import aiohttp

    return hasattr(aiohttp, "TraceConfig")


@pytest.mark.skipif(not _has_client_tracing(), reason="sentry's aiohttp integration imports aiohttp.TraceConfig")
def test_sentrys_own_aiohttp_integration_keeps_the_tag(tmp_path: Path) -> None:
    script = tmp_path / "sentry_app.py"
    script.write_text(SENTRY_AIOHTTP_APP)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["enabled"]
    by_transaction = {e["transaction"]: e["tag"] for e in result["events"]}
    assert by_transaction["__main__.hello"] == result["ids"]["/"]
    assert by_transaction["__main__.boom"] == result["ids"]["/boom"]
