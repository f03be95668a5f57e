"""Response serialisation: status line, headers and body onto a socket-free transport."""

from __future__ import annotations

import pytest
from conftest import CollectingTransport, FakeProtocol, run_now

web = pytest.importorskip("aiohttp.web")
http_writer = pytest.importorskip("aiohttp.http_writer")
test_utils = pytest.importorskip("aiohttp.test_utils")


def _send(loop, make_response) -> int:
    transport = CollectingTransport()
    writer = http_writer.StreamWriter(FakeProtocol(transport), loop)
    request = test_utils.make_mocked_request("GET", "/", writer=writer, transport=transport)

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
    written = benchmark(_send, loop, make_response)
    assert written > 0
