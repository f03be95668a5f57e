"""The low-level server: a protocol factory that tracks its connections."""

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Optional, Union

from .abc import AbstractStreamWriter
from .http_parser import RawRequestMessage
from .log import server_logger
from .request_id import RequestIdSettings, settings_from_environ
from .streams import StreamReader
from .trusted_proxies import TrustedProxies, make_trusted_proxies
from .web_protocol import RequestHandler
from .web_request import BaseRequest
from .web_response import StreamResponse

__all__ = ("Server",)


class Server:
    """Calls ``handler(request)`` for every request on every connection it makes."""

    def __init__(
        self,
        handler: Callable[[BaseRequest], Awaitable[StreamResponse]],
        *,
        request_factory: Optional[Callable[..., BaseRequest]] = None,
        handler_cancellation: bool = False,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        request_id: Union[bool, RequestIdSettings, None] = None,
        trusted_proxies: Union[str, Iterable[str], TrustedProxies, None] = None,
        **kwargs: Any,
    ) -> None:
        if not callable(handler):
            raise TypeError(f"handler must be an async callable taking a request, not {handler!r}")
        if request_id is None:
            request_id = settings_from_environ(os.environ)
        if request_id is True:
            request_id = RequestIdSettings()
        elif request_id is False:
            request_id = None
        elif request_id is not None and not isinstance(request_id, RequestIdSettings):
            raise TypeError(f"request_id must be a bool or a RequestIdSettings, not {request_id!r}")
        kwargs["request_id_settings"] = request_id
        proxies = make_trusted_proxies(trusted_proxies)
        if proxies is not None:
            kwargs["trusted_proxies"] = proxies
            kwargs.setdefault("peer_trusted", proxies.trusts_protocol)
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        self._connections: dict[RequestHandler, asyncio.Transport] = {}
        self._kwargs = kwargs
        self._kwargs.setdefault("logger", server_logger)
        self._handler_cancellation = handler_cancellation
        #: Requests started so far (the gunicorn worker's max_requests counts these).
        self.requests_count = 0
        #: Called after each response is finished and logged; the workers hook in here.
        self.on_request_done: Optional[Callable[[], None]] = None
        self.request_handler = handler
        self.request_factory = request_factory or self._make_request

    @property
    def connections(self) -> list[RequestHandler]:
        return list(self._connections.keys())

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        self._connections[handler] = transport

    def connection_lost(self, handler: RequestHandler, exc: Optional[BaseException] = None) -> None:
        self._connections.pop(handler, None)

    def _make_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: "asyncio.Task[None]",
    ) -> BaseRequest:
        return BaseRequest(message, payload, protocol, writer, task, self._loop)

    async def drain_idle(self, grace: float) -> None:
        """Give idle keep-alive connections ``grace`` seconds to send one last request.

        Every connection answers its next request with ``Connection: close``. Closing an
        idle connection at once races a proxy (nginx) that is sending a request on it
        from its pool: a POST lost that way is never retried, and the client gets a 502.
        Returns early once no connection is idle; connections still idle at the end are
        left for ``pre_shutdown()`` to close.
        """
        if grace <= 0 or not self._connections:
            return
        loop = self._loop
        now = loop.time()
        end = now + grace
        # Sockets accepted just before the listener closed may still be getting their
        # protocol; look a few times before deciding that nothing is idle.
        settle = now + 0.1
        while True:
            connections = list(self._connections)
            for conn in connections:
                conn.close_after_response()
            now = loop.time()
            if now >= end or (now >= settle and not any(conn.idle for conn in connections)):
                return
            await asyncio.sleep(0.02)

    def pre_shutdown(self) -> None:
        """Close idle connections now; busy ones close after their current response."""
        for conn in list(self._connections):
            conn.close()

    async def shutdown(self, timeout: Optional[float] = None) -> None:
        """Let in-flight requests finish within ``timeout``, then cancel what is left."""
        coros = [conn.shutdown(timeout) for conn in list(self._connections)]
        if coros:
            await asyncio.gather(*coros, return_exceptions=True)
        self._connections.clear()

    def __call__(self) -> RequestHandler:
        try:
            return RequestHandler(
                self,
                loop=self._loop,
                handler_cancellation=self._handler_cancellation,
                **self._kwargs,
            )
        except TypeError as exc:
            raise TypeError(f"Invalid server option: {exc}") from None
