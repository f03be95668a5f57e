"""sentry-sdk's own aiohttp integration on our package, end to end over loopback.

The integration patches ``web.Application`` and ``ClientSession`` for the whole
process, so the app runs in a subprocess of its own (``APP`` below reads as the
user's program): errors of our ``web.Application`` reach Sentry with the request id
tag and the URL, and an outgoing ClientSession request becomes a span of the
incoming request's transaction, its trace carried on to the server it calls.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sentry_sdk")

ROOT = Path(__file__).resolve().parent.parent

APP = """
import asyncio, json
import sentry_sdk
from sentry_sdk.integrations.aiohttp import AioHttpIntegration
from sentry_sdk.transport import Transport

errors, transactions = [], []

class InMemory(Transport):
    def capture_envelope(self, envelope):
        if (event := envelope.get_event()) is not None:
            errors.append(event)
        if (transaction := envelope.get_transaction_event()) is not None:
            transactions.append(transaction)

sentry_sdk.init(
    dsn="http://k@127.0.0.1:9/1",
    transport=InMemory,
    integrations=[AioHttpIntegration()],
    traces_sample_rate=1.0,
)

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

async def stock(request):
    return web.json_response({"sentry-trace": request.headers.get("sentry-trace")})

async def checkout(request):
    raise RuntimeError("payment gateway down")

async def basket(request):
    async with aiohttp.ClientSession() as session:
        async with session.get(request.url.with_path("/stock")) as resp:
            return web.json_response(await resp.json())

async def main():
    app = web.Application()
    app.router.add_get("/stock", stock)
    app.router.add_get("/checkout", checkout)
    app.router.add_get("/basket", basket)
    replies = {}
    timeout = aiohttp.ClientTimeout(total=10)
    async with TestServer(app, request_id=True) as server:
        async with TestClient(server, timeout=timeout) as client:
            for path in ("/checkout", "/basket"):
                async with client.get(path) as resp:
                    replies[path] = {
                        "status": resp.status,
                        "request_id": resp.headers["X-Request-ID"],
                        "body": await resp.text(),
                    }
            port = server.port
    return port, replies

port, replies = asyncio.run(main())
sentry_sdk.flush(5)
print(json.dumps({
    "enabled": sentry_sdk.get_client().get_integration(AioHttpIntegration) is not None,
    "port": port,
    "replies": replies,
    "errors": errors,
    "transactions": transactions,
}, default=str))
"""


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", APP], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["enabled"], "sentry's AioHttpIntegration did not enable on our aiohttp"
    return result


def transaction(run: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [t for t in run["transactions"] if t["transaction"] == name]
    return found


def test_handler_error_carries_the_request_id_and_url(run: dict[str, Any]) -> None:
    reply = run["replies"]["/checkout"]
    assert reply["status"] == 500
    (error,) = run["errors"]
    assert error["tags"]["request_id"] == reply["request_id"]
    assert error["request"]["url"] == f"http://127.0.0.1:{run['port']}/checkout"
    assert error["request"]["method"] == "GET"
    (exception,) = error["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "payment gateway down")
    assert error["transaction"] == "__main__.checkout"


def test_outgoing_request_is_a_span_of_the_transaction(run: dict[str, Any]) -> None:
    basket = transaction(run, "__main__.basket")
    assert basket["tags"]["request_id"] == run["replies"]["/basket"]["request_id"]
    (span,) = [s for s in basket["spans"] if s["op"] == "http.client"]
    assert span["description"] == f"GET http://127.0.0.1:{run['port']}/stock"
    assert span["data"]["http.response.status_code"] == 200
    assert span["trace_id"] == basket["contexts"]["trace"]["trace_id"]


def test_the_called_server_continues_the_trace(run: dict[str, Any]) -> None:
    basket = transaction(run, "__main__.basket")
    stock = transaction(run, "__main__.stock")
    # The sentry-trace header added at on_request_start reached the other handler...
    sent = json.loads(run["replies"]["/basket"]["body"])["sentry-trace"]
    assert sent.startswith(basket["contexts"]["trace"]["trace_id"] + "-")
    # ...which continued the same trace under the client span.
    (span,) = [s for s in basket["spans"] if s["op"] == "http.client"]
    assert stock["contexts"]["trace"]["trace_id"] == basket["contexts"]["trace"]["trace_id"]
    assert stock["contexts"]["trace"]["parent_span_id"] == span["span_id"]
    assert stock["tags"]["request_id"] != basket["tags"]["request_id"]
