"""Sentry events captured while a request runs carry its id as the ``request_id`` tag."""

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from aiohttp import web
from aiohttp.request_id import RequestIdMiddleware, request_id

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
async def port(events: list[dict[str, Any]]) -> AsyncIterator[int]:
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

    runner = web.ServerRunner(web.Server(handler, request_id=True))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site.port
    await runner.cleanup()


async def get(port: int, query: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /?{query} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1")
    rid = next(line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.lower().startswith("x-request-id:"))
    return int(head.split()[1]), rid


async def test_message_event_carries_the_id(port: int, events: list[dict[str, Any]]) -> None:
    _, rid = await get(port, "what=message&n=1")
    (event,) = events
    assert event["message"] == "refund for 1"
    assert tag(event) == rid


async def test_error_log_and_crash_events_carry_the_id(port: int, events: list[dict[str, Any]]) -> None:
    _, logged = await get(port, "what=log")
    status, crashed = await get(port, "what=crash")
    assert status == 500
    by_id = {tag(e): e for e in events}
    assert by_id[logged]["logentry"]["message"] == "card declined"
    assert "ledger unavailable" in str(by_id[crashed])


async def test_concurrent_requests_get_their_own_scope(port: int, events: list[dict[str, Any]]) -> None:
    replies = await asyncio.gather(*(get(port, f"what=message&n={n}") for n in range(40)))
    sent = {f"refund for {n}": rid for n, (_, rid) in enumerate(replies)}
    assert {e["message"]: tag(e) for e in events} == sent


async def test_tags_set_by_a_handler_stay_in_its_request(port: int, events: list[dict[str, Any]]) -> None:
    await get(port, "what=scope&n=alice")
    sentry_sdk.capture_message("outside any request")
    inside, outside = events
    assert inside["tags"]["customer"] == "alice"
    assert "customer" not in outside.get("tags", {})
    assert tag(outside) is None and request_id.get() is None


async def test_middleware_mode_tags_events_too(events: list[dict[str, Any]]) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        sentry_sdk.capture_message("from middleware mode")
        return web.Response(text="ok")

    middleware = RequestIdMiddleware()

    async def app(request: web.BaseRequest) -> web.StreamResponse:
        return await middleware(request, handler)

    runner = web.ServerRunner(web.Server(app, request_id=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        _, rid = await get(site.port, "x=1")
    finally:
        await runner.cleanup()
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

async def hello(request):
    sentry_sdk.capture_message("hello")
    return web.Response(text="ok")

async def boom(request):
    raise RuntimeError("boom")

async def main():
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/boom", boom)
    runner = web.AppRunner(app, request_id=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ids = {}
    for path in ("/", "/boom"):
        reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
        writer.write(f"GET {path} HTTP/1.1\\r\\nHost: shop\\r\\nConnection: close\\r\\n\\r\\n".encode())
        head = (await asyncio.wait_for(reader.read(), 10)).decode("latin-1").lower()
        writer.close()
        ids[path] = head.split("x-request-id: ")[1].split("\\r\\n")[0]
    await runner.cleanup()
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
