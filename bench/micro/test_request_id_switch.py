"""The cost of the request-id switch: the same request served with it off and on.

Requests go through the real protocol and application in-process (a transport that
only counts bytes), so the difference between the two rows is what the switch adds:
deciding the id, binding it to the request and echoing it in the response header.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

web = pytest.importorskip("aiohttp.web")
request_id = pytest.importorskip("aiohttp.request_id")

REQUEST = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n"
BATCH = 200


class CountingTransport(asyncio.Transport):
    """Takes the server's writes; wakes the driver when a response has gone out."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.written = 0
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += len(data)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000)}.get(name, default)


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, World!")


@pytest.fixture(params=[False, True], ids=["switch-off", "switch-on"])
def serve_batch(request: pytest.FixtureRequest):
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, access_log=None, request_id=request.param)
    loop.run_until_complete(runner.setup())
    protocol = runner.server()
    transport = CountingTransport(loop)
    protocol.connection_made(transport)

    async def batch() -> None:
        for _ in range(BATCH):
            transport.waiter = loop.create_future()
            protocol.data_received(REQUEST)
            await transport.waiter
            await asyncio.sleep(0)

    yield lambda: loop.run_until_complete(batch())
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_request_with_switch(benchmark, serve_batch) -> None:
    """One batch of 200 keep-alive requests; compare the two rows per request."""
    benchmark(serve_batch)


def test_generate_request_id(benchmark) -> None:
    rid = benchmark(request_id.generate_request_id)
    assert len(rid) == 16


def test_log_record_factory_overhead(benchmark) -> None:
    """A log record made inside a request, with the request-id record factory installed."""
    previous = logging.getLogRecordFactory()
    request_id.setup_logging_request_id_prefix()
    token = request_id.request_id.set("abc123")
    try:
        record = benchmark(
            logging.getLogRecordFactory(), "bench", logging.INFO, __file__, 1, "msg", (), None
        )
    finally:
        request_id.request_id.reset(token)
        logging.setLogRecordFactory(previous)
    assert record.requestIdPrefix == "[req:abc123] "
