"""Shared pieces for the micro-benchmarks: a loop, a socket-free transport, a coroutine runner.

Run with the project's environment: ``python -m pytest bench/micro --benchmark-only``.
Each file skips itself while the module it measures does not exist yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest


class CollectingTransport(asyncio.Transport):
    """A transport that keeps what is written, so serialisation is measured without I/O."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def get_write_buffer_size(self) -> int:
        return 0


class FakeProtocol:
    """The flow-control side a parser or writer expects from its connection."""

    def __init__(self, transport: asyncio.Transport | None = None) -> None:
        self.transport = transport

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    async def _drain_helper(self) -> None:
        pass


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def run_now(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never has to wait without a trip through the loop; else use it."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    # It suspended: finish it on the loop (slower, but still correct).
    return loop.run_until_complete(_finish(coro))


async def _finish(coro: Coroutine[Any, Any, Any]) -> Any:
    while True:
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        await asyncio.sleep(0)
