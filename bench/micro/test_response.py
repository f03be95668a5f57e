"""Response serialisation: status line, headers and body onto a socket-free transport."""

from __future__ import annotations

import pytest
from conftest import CollectingTransport, FakeProtocol, run_now

web = pytest.importorskip("aiohttp.web")
http_writer = pytest.importorskip("aiohttp.http_writer")
test_utils = pytest.importorskip("aiohttp.test_utils")


def _fresh_request(loop):
    """A new request on a new writer; made outside the timed part (mocks are slow)."""
    transport = CollectingTransport()
    writer = http_writer.StreamWriter(FakeProtocol(transport), loop)
    request = test_utils.make_mocked_request("GET", "/", writer=writer, transport=transport)
    return (request, transport), {}


def _send(loop, make_response, request, transport) -> int:
    async def respond() -> None:
        response = make_response()
        await response.prepare(request)
        await response.write_eof()

    run_now(loop, respond())
    return transport.written


@pytest.mark.parametrize(
    "make_response",
    [
        lambda: web.Response(text="Hello, World!"),
        lambda: web.json_response({"message": "Hello, World!"}),
        lambda: web.Response(body=b"x" * 16384, content_type="application/octet-stream"),
        lambda: web.Response(
            text="ok", headers={"X-Request-ID": "3f2a9c1e7b6d4e58", "Cache-Control": "no-store"}
        ),
    ],
    ids=["plaintext", "json", "16k-body", "extra-headers"],
)
def test_serialise_response(benchmark, loop, make_response) -> None:
    written = benchmark.pedantic(
        lambda request, transport: _send(loop, make_response, request, transport),
        setup=lambda: _fresh_request(loop),
        rounds=2000,
        warmup_rounds=50,
    )
    assert written > 0
