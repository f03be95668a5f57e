"""One asyncio protocol per connection: parsing, one task per request, keep-alive, timeouts.

Theory of operation
-------------------
Bytes go to the parser, which hands back complete request heads with their body
streams. Each head joins a FIFO queue; one task at a time takes the head of the queue,
so pipelined requests are answered in order. Every request runs in its own task,
created with a copy of the context the connection was made in, so context variables
set while serving one request (the request id among them) never leak into another.

A protocol error in a head (malformed, over a limit) is queued like a request, so the
answers already owed are written first; then the error response goes out with
``Connection: close`` and the connection lingers briefly, discarding input, before it
closes, so the client reads the answer instead of a reset. An error inside a body fails
that body's stream instead: the handler reading it raises, and the error's status is
the answer (unless the handler had started its own); no request follows on that
connection.

One timer per connection enforces the timeouts. Rather than re-arming on every event,
the timer reads the connection's phase when it fires and re-arms itself: waiting for a
request head (``read_head_timeout`` from connect for the first request, from the head's
first byte after that), idle between requests (``keepalive_timeout``), or serving one
while the handler waits for body bytes (``read_body_timeout`` since the last bytes
arrived). A stalled head gets a 408 (or a plain close if not one byte came); a stalled
body gets a 408 unless the response has started, and the handler's read raises
``RequestTimeout``.

Reading is paused while the current body's buffer is full, or while more than
``MAX_PIPELINED`` requests wait in the queue; either reason alone keeps it paused.
"""

import asyncio
import collections
import contextvars
import socket
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Optional, Union, cast

from . import hdrs
from .abc import AbstractAccessLogger, AbstractAsyncAccessLogger
from .http_exceptions import HttpProcessingError, RequestTimeout
from .http_parser import HttpRequestParser, RawRequestMessage
from .http_writer import HttpVersion11, StreamWriter, http_date
from .log import access_logger, server_logger
from .request_id import RequestIdSettings, bind_request, request_id
from .streams import EMPTY_PAYLOAD, StreamReader
from .trusted_proxies import TrustedProxies
from .web_exceptions import HTTPException, HTTPInternalServerError
from .web_log import AccessLogger
from .web_request import BaseRequest, peer_address
from .web_response import REASONS, SERVER_SOFTWARE, Response, StreamResponse

if TYPE_CHECKING:
    from .web_server import Server

__all__ = ("RequestHandler", "RequestPayloadError", "PayloadAccessError")

_RequestFactory = Callable[
    [RawRequestMessage, StreamReader, "RequestHandler", StreamWriter, "asyncio.Task[None]"],
    BaseRequest,
]
_RequestHandler = Callable[[BaseRequest], Awaitable[StreamResponse]]

#: Pipelined requests queued beyond this pause reading from the socket.
MAX_PIPELINED: Final = 16
#: How long a refused connection keeps reading (and discarding) before it closes.
LINGER_AFTER_REFUSAL: Final = 2.0
#: Unread request body beyond this is not drained for keep-alive: the connection closes.
MAX_LINGER_BODY: Final = 2**18


class RequestPayloadError(Exception):
    """The request body could not be read."""


class PayloadAccessError(Exception):
    """The request body is no longer available."""


class _RefusalLog:
    """Logs protocol refusals at INFO, at most ``burst`` a second; counts the rest."""

    def __init__(self, burst: int = 10) -> None:
        self.burst = burst
        self.second = 0
        self.count = 0
        self.suppressed = 0

    def log(self, logger: Any, message: str, *args: Any) -> None:
        now = int(time.monotonic())
        if now != self.second:
            if self.suppressed:
                logger.info("%d more malformed requests were refused and not logged", self.suppressed)
            self.second, self.count, self.suppressed = now, 0, 0
        self.count += 1
        if self.count <= self.burst:
            logger.info(message, *args)
        else:
            self.suppressed += 1


_refusals = _RefusalLog()


def _clock_of(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """``loop.time``; ``time.monotonic`` itself where that is all ``loop.time`` would call."""
    if getattr(loop.time, "__func__", None) is asyncio.BaseEventLoop.time:
        return time.monotonic
    return loop.time


class RequestHandler(asyncio.Protocol):
    """Serves the HTTP/1.x requests of one connection."""

    def __init__(
        self,
        manager: "Server",
        *,
        loop: asyncio.AbstractEventLoop,
        keepalive_timeout: Optional[float] = 75.0,
        tcp_keepalive: bool = True,
        logger: Any = server_logger,
        access_log_class: type[Union[AbstractAccessLogger, AbstractAsyncAccessLogger]] = AccessLogger,
        access_log: Any = access_logger,
        access_log_format: str = AccessLogger.LOG_FORMAT,
        debug: bool = False,
        max_line_size: int = 8190,
        max_headers: int = 128,
        max_field_size: int = 8190,
        lingering_time: float = 10.0,
        read_bufsize: int = 2**16,
        auto_decompress: bool = True,
        timeout_ceil_threshold: float = 5,
        read_head_timeout: Optional[float] = 30.0,
        read_body_timeout: Optional[float] = 60.0,
        handler_cancellation: bool = False,
        request_id_settings: Optional[RequestIdSettings] = None,
        peer_trusted: Optional[Callable[[Any], bool]] = None,
        trusted_proxies: Optional[TrustedProxies] = None,
    ) -> None:
        self._manager = manager
        self._loop = loop
        self._time = _clock_of(loop)
        # asyncio's create_task only wraps the Task constructor (when no task factory is
        # set: _start_next reads the loop's attribute for that); uvloop's is its own.
        self._plain_tasks = getattr(loop.create_task, "__func__", None) is asyncio.BaseEventLoop.create_task
        self._request_handler: _RequestHandler = manager.request_handler
        self._request_factory: _RequestFactory = manager.request_factory
        self.transport: Optional[asyncio.Transport] = None
        self.logger = logger
        self.debug = debug
        self._keepalive_timeout = keepalive_timeout
        #: keepalive_timeout=0 means one request per connection, said with Connection: close.
        self._no_keepalive = keepalive_timeout is not None and keepalive_timeout <= 0
        self._tcp_keepalive = tcp_keepalive
        self._read_head_timeout = read_head_timeout
        self._read_body_timeout = read_body_timeout
        self._lingering_time = float(lingering_time)
        self._handler_cancellation = handler_cancellation
        self._request_id = request_id_settings
        self._peer_trusted = peer_trusted
        self._trusted_proxies = trusted_proxies
        self._parser_args = dict(
            limit=read_bufsize,
            max_line_size=max_line_size,
            max_field_size=max_field_size,
            max_headers=max_headers,
            auto_decompress=auto_decompress,
        )
        self.access_logger: Optional[Union[AbstractAccessLogger, AbstractAsyncAccessLogger]]
        if access_log is None:
            self.access_logger = None
        elif issubclass(access_log_class, AbstractAsyncAccessLogger):
            # The async contract has no constructor arguments: it logs where it likes.
            self.access_logger = access_log_class()
        else:
            self.access_logger = access_log_class(access_log, access_log_format)
        #: True when the access log line can be written without awaiting.
        self._access_log_sync = not isinstance(self.access_logger, AbstractAsyncAccessLogger)

        self._parser: Optional[HttpRequestParser] = None
        self._queue: collections.deque[tuple[Any, StreamReader]] = collections.deque()
        self._task: Optional[asyncio.Task[None]] = None
        self._current_request: Optional[BaseRequest] = None
        self._force_close = False
        self._closing = False
        self._lingering = False
        self._upgraded = False
        self._reading_paused = False
        self._body_paused = False
        self._paused_for_queue = False
        self._write_paused = False
        self._drain_waiter: Optional[asyncio.Future[None]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._peer_address: Optional[str] = None
        self._timer_when = 0.0
        self._head_started: Optional[float] = None
        self._idle_since = 0.0
        self._last_data = 0.0
        self._request_count = 0
        self._trusted_cache: Optional[bool] = None
        self._writer: Optional[StreamWriter] = None
        # Each request task runs in a copy of this, never in the previous request's context.
        self._context = contextvars.copy_context()

    def __repr__(self) -> str:
        state = "connected" if self.transport is not None else "disconnected"
        return f"<RequestHandler {state}>"

    @property
    def keepalive_timeout(self) -> Optional[float]:
        return self._keepalive_timeout

    @property
    def requests_count(self) -> int:
        return self._request_count

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            if self._tcp_keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._parser = HttpRequestParser(self, self._loop, **self._parser_args)  # type: ignore[arg-type]
        # The access log reads request.remote on every request; the peer is the connection's.
        if self.access_logger is not None:
            self._peer_address = peer_address(transport.get_extra_info("peername"))
        self._manager.connection_made(self, self.transport)
        now = self._time()
        self._head_started = now
        self._last_data = now
        if self._read_head_timeout is not None:
            self._arm(now + self._read_head_timeout)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._manager.connection_lost(self, exc)
        self.transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        parser = self._parser
        if parser is not None:
            parser.feed_eof()
        for _, payload in self._queue:
            payload.set_exception(ConnectionResetError("Connection lost"))
        self._queue.clear()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("Connection lost"))
        request = self._current_request
        if request is not None:
            request._cancel(ConnectionResetError("Connection lost"))
            if self._handler_cancellation and self._task is not None and not self._task.done():
                self._task.cancel()

    def eof_received(self) -> bool:
        """The peer finished sending: answer what was asked (if it still listens), then close.

        To the request in flight this counts as a disconnect: ``wait_for_disconnection()``
        returns and, with ``handler_cancellation``, the handler is cancelled. A body that
        had fully arrived stays readable.
        """
        self._force_close = True
        if self._parser is not None:
            self._parser.feed_eof()
        if self._lingering or (self._task is None and not self._queue):
            self._close_transport()
            return True
        request = self._current_request
        if request is not None:
            for fut in getattr(request, "_disconnection_waiters", None) or ():
                if not fut.done():
                    fut.set_result(None)
            task = self._task
            if self._handler_cancellation and task is not None and not task.done():
                task.cancel()
        return True

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _drain_helper(self) -> None:
        if self.transport is None:
            raise ConnectionResetError("Connection lost")
        if not self._write_paused:
            return
        waiter = self._drain_waiter
        if waiter is None:
            waiter = self._drain_waiter = self._loop.create_future()
        await asyncio.shield(waiter)

    def pause_reading(self) -> None:
        """The body stream's buffer is full (called by StreamReader)."""
        self._body_paused = True
        self._update_reading()

    def resume_reading(self) -> None:
        """The body stream has room again."""
        self._body_paused = False
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None:
            return
        paused = (self._body_paused or self._paused_for_queue) and not self._lingering
        if paused != self._reading_paused:
            self._reading_paused = paused
            if paused:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        transport = self.transport
        return default if transport is None else transport.get_extra_info(name, default)

    def data_received(self, data: bytes) -> None:
        if self._lingering or (self._closing and self._task is None):
            return
        parser = self._parser
        assert parser is not None
        now = self._time()
        self._last_data = now
        if self._upgraded:
            return
        was_in_head = parser.in_head
        try:
            messages, upgraded, _tail = parser.feed_data(data)
        except HttpProcessingError as exc:
            self._queue.extend(parser.take_messages())
            self._parser = _DEAD_PARSER
            if parser.body_failed:
                # The body's reader gets the error; _serve answers it (see there). No more
                # requests on this connection.
                self._force_close = True
            else:
                # Answered in turn, after the responses already owed; read nothing more.
                self._queue.append((exc, EMPTY_PAYLOAD))
                self._paused_for_queue = True
                self._update_reading()
        else:
            if messages:
                self._queue.extend(messages)
            if upgraded:
                # We do not switch protocols: answer the request, then close.
                self._upgraded = True
                self._force_close = True
            if parser.in_head:
                # A new head began; the first one's clock has run since connect.
                if messages or self._head_started is None:
                    self._head_started = now
                    if self._read_head_timeout is not None:
                        self._arm(now + self._read_head_timeout)
            elif messages or was_in_head:
                self._head_started = None
        if self._task is None and self._queue:
            self._start_next()
        elif len(self._queue) > MAX_PIPELINED and not self._paused_for_queue:
            self._paused_for_queue = True
            self._update_reading()

    # -- request tasks --------------------------------------------------

    def _start_next(self) -> None:
        message, payload = self._queue.popleft()
        if self._paused_for_queue and len(self._queue) <= MAX_PIPELINED // 2:
            self._paused_for_queue = False
            self._update_reading()
        if payload is not EMPTY_PAYLOAD and not payload.is_eof() and self._read_body_timeout is not None:
            self._arm(self._time() + self._read_body_timeout)  # the body is still coming
        context = self._context.copy()
        coro = self._refuse(message) if isinstance(message, HttpProcessingError) else self._serve(message, payload)
        loop = self._loop
        if self._plain_tasks and loop._task_factory is None:  # type: ignore[attr-defined]
            self._task = asyncio.Task(coro, loop=loop, context=context)
        else:
            self._task = loop.create_task(coro, context=context)

    def _is_peer_trusted(self) -> bool:
        """Whether the peer may speak for the client (decided once per connection)."""
        trusted = self._trusted_cache
        if trusted is None:
            check = self._peer_trusted
            trusted = self._trusted_cache = bool(check is not None and check(self))
        return trusted

    async def _serve(self, message: RawRequestMessage, payload: StreamReader) -> None:
        loop = self._loop
        start = self._time()
        self._request_count += 1
        manager = self._manager
        manager.requests_count += 1
        writer = self._writer = StreamWriter(self, loop)
        task: asyncio.Task[None] = self._task  # type: ignore[assignment] # set by _start_next
        request = self._request_factory(message, payload, self, writer, task)
        if self.access_logger is not None:
            request._cache.setdefault("remote", self._peer_address)
        proxies = self._trusted_proxies
        if proxies is not None and self._is_peer_trusted():
            proxies.apply(request)
        settings = self._request_id
        if settings is not None:
            rid = settings.choose(message.headers, self._is_peer_trusted())
            request_id.set(rid)
            bind_request(request, rid, settings)
        if (
            payload is not EMPTY_PAYLOAD
            and message.version == HttpVersion11
            and message.headers.get(hdrs.EXPECT, "").lower() == "100-continue"
        ):
            payload._on_first_wait = writer.send_continue
        self._current_request = request
        try:
            resp = await self._request_handler(request)
        except HTTPException as exc:
            if not self._finish_nowait(request, exc, start):
                await self._finish(request, exc, start)
        except asyncio.CancelledError:
            self._log_cancelled(request)
            self._close_transport()
            raise
        except Exception as exc:
            transport = self.transport
            if self._lingering or transport is None or transport.is_closing():
                # Already answered (a stalled body's 408) or gone: nobody reads a 500.
                self._force_close = True
                self.logger.debug("Request %s %s ended with its connection: %r", request.method, request.path, exc)
            elif exc is payload.exception():
                # The body failed: a malformed body gets its 4xx; a client that left mid-body
                # is no server error.
                self._force_close = True
                if isinstance(exc, HttpProcessingError) and not writer.started:
                    self._send_refusal(exc, request._echo_header)
                else:
                    self.logger.debug("Request %s %s: body failed: %r", request.method, request.path, exc)
            else:
                resp = self._handle_error(request, exc)
                await self._finish(request, resp, start)
        else:
            # Exact Response first: isinstance() against StreamResponse goes through
            # ABCMeta (it is a MutableMapping), which is slow for a per-request check.
            if resp.__class__ is not Response and not isinstance(resp, StreamResponse):
                err = TypeError(
                    "Missing return statement on request handler"
                    if resp is None
                    else f"Web-handler should return a response instance, got {resp!r}"
                )
                try:
                    raise err
                except TypeError as exc:
                    await self._finish(request, self._handle_error(request, exc), start)
            else:
                if resp.__class__ is not Response and isinstance(resp, HTTPException):
                    warnings.warn(
                        "returning HTTPException object is deprecated, raise it instead",
                        DeprecationWarning,
                        stacklevel=1,
                    )
                if not self._finish_nowait(request, resp, start):
                    await self._finish(request, resp, start)
        finally:
            self._current_request = None
            if request._post is not None:
                request._finish()  # closes uploaded files
        self._next_or_idle()
        done = manager.on_request_done
        if done is not None:
            done()

    def _finish_nowait(self, request: BaseRequest, resp: StreamResponse, start: float) -> bool:
        """``_finish`` for the common case, without awaiting; False if ``_finish`` must run.

        The common case: the connection stays open, the body was read, the response is
        sent whole at once (see ``Response._send_whole``) and the access logger, if any,
        is synchronous. Nothing has changed when this returns False.
        """
        if (
            self._lingering
            or self._force_close
            or self._closing
            or self._no_keepalive
            or not self._access_log_sync
            or (request._payload is not EMPTY_PAYLOAD and not request._payload.is_eof())
        ):
            return False
        try:
            if not resp._send_whole(request):
                return False
        except ConnectionError:
            self._force_close = True
        except Exception:
            return False  # _finish reports it and answers 500
        if not resp._keep_alive:
            self._force_close = True
        access_logger = self.access_logger
        # AccessLogger.log checks the level itself; other loggers say so through ``enabled``.
        if access_logger is not None and (access_logger.__class__ is AccessLogger or access_logger.enabled):
            try:
                access_logger.log(request, resp, self._time() - start)
            except Exception:
                self.logger.exception("Error in access logger")
        return True

    async def _finish(self, request: BaseRequest, resp: StreamResponse, start: float) -> None:
        """Send ``resp`` (unless the handler already finished it) and write the access line."""
        if self._lingering:
            return  # already answered (a stalled body's 408); nothing more goes out
        payload = request._payload
        if not payload.is_eof() and not self._force_close:
            self._force_close = self._unread_body_too_costly(request, payload)
        if self._force_close or self._closing or self._no_keepalive:
            resp.force_close()
        try:
            await resp.prepare(request)
            await resp.write_eof()
        except ConnectionError:
            self._force_close = True
        except Exception as exc:
            if resp.prepared:
                self.logger.exception("Error while sending the response", exc_info=exc)
                self._force_close = True
            else:
                self.logger.exception("Error preparing the response", exc_info=exc)
                fallback = HTTPInternalServerError()
                fallback.force_close()
                try:
                    await fallback.prepare(request)
                    await fallback.write_eof()
                except Exception:
                    pass
                resp = fallback
        if not resp.keep_alive:
            self._force_close = True
        if self.access_logger is not None:
            await self._log_access(request, resp, loop_time=self._time() - start)
        if not self._force_close and not payload.is_eof():
            await self._drain_unread_body(payload)

    @staticmethod
    def _unread_body_too_costly(request: BaseRequest, payload: StreamReader) -> bool:
        """Whether to close rather than read the rest of an unread body after the response.

        Closing is the answer when the client still waits for ``100 Continue`` (it may
        never send the body) or when more than MAX_LINGER_BODY bytes are still to come.
        """
        if payload._on_first_wait is not None:
            payload._on_first_wait = None  # a final status is going out: no 100 after it
            return True
        declared = request._message.headers.get(hdrs.CONTENT_LENGTH)
        if declared is not None and declared.isdigit():
            return int(declared) - payload.total_bytes > MAX_LINGER_BODY
        return False

    async def _log_access(self, request: BaseRequest, resp: StreamResponse, loop_time: float) -> None:
        access_logger = self.access_logger
        if access_logger is None or not access_logger.enabled:
            return
        try:
            result = access_logger.log(request, resp, loop_time)
            if result is not None:
                await result
        except Exception:
            self.logger.exception("Error in access logger")

    async def _drain_unread_body(self, payload: StreamReader) -> None:
        """Read and drop a body the handler left, so the connection can be reused."""
        drained = 0
        deadline = self._time() + self._lingering_time
        try:
            while not payload.is_eof():
                remaining = deadline - self._time()
                if remaining <= 0 or drained > MAX_LINGER_BODY:
                    self._force_close = True
                    return
                chunk = await asyncio.wait_for(payload.readany(), remaining)
                drained += len(chunk)
        except (TimeoutError, ConnectionError, HttpProcessingError, Exception):
            self._force_close = True

    def _next_or_idle(self) -> None:
        self._task = None
        self._writer = None
        if self._lingering:
            return  # the lingering timer closes the connection
        if self._body_paused:
            self._body_paused = False  # that body is finished with; the next one starts unpaused
            self._update_reading()
        if self._force_close or self.transport is None:
            if self._queue and not isinstance(self._queue[0][0], HttpProcessingError):
                self._queue.clear()
            self._close_transport()
            return
        if self._queue:
            self._start_next()
            return
        now = self._time()
        self._idle_since = now
        if self._closing:
            self._close_transport()
            return
        keepalive_timeout = self._keepalive_timeout
        if keepalive_timeout is not None:
            if keepalive_timeout <= 0:
                self._close_transport()
                return
            deadline = now + keepalive_timeout
            if self._timer is None or self._timer_when > deadline:  # else the timer re-arms itself
                self._arm(deadline)

    def _handle_error(self, request: BaseRequest, exc: BaseException) -> Response:
        """Log an unhandled handler error with its traceback; answer 500 without it."""
        self.logger.error("Error handling request from %s", request.remote, exc_info=exc)
        if self.debug:
            text = "".join(traceback.format_exception(exc))
            resp = Response(status=500, text=f"500 Internal Server Error\n\n{text}")
        else:
            resp = Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")
        resp.force_close()
        return resp

    def _log_cancelled(self, request: BaseRequest) -> None:
        if self._closing:
            self.logger.warning("Request %s %s was cancelled by server shutdown", request.method, request.path)
        else:
            self.logger.debug("Request %s %s was cancelled", request.method, request.path)

    # -- refusals --------------------------------------------------------

    async def _refuse(self, exc: HttpProcessingError) -> None:
        """Answer a protocol error with its status, then linger and close."""
        if self._request_id is not None:
            request_id.set(self._request_id.choose(None, peer_trusted=False))
        self._task = None
        self._queue.clear()
        self._send_refusal(exc)

    def _send_refusal(self, exc: HttpProcessingError, echo: Optional[tuple[str, str]] = None) -> None:
        """Log (rate-limited), write the error response with ``Connection: close``, linger.

        ``echo`` is the request-id header to send; by default the current context's id.
        """
        status = exc.code or 400
        _refusals.log(self.logger, "Refused a request from %s: %s %s", self._peer_text(), status, exc.message)
        reason = REASONS.get(status, "Bad Request")
        body = f"{status}: {reason}\n".encode()
        lines = [
            f"HTTP/1.1 {status} {reason}",
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(body)}",
            "Connection: close",
            f"Date: {http_date()}",
            f"Server: {SERVER_SOFTWARE}",
        ]
        if echo is None:
            rid = request_id.get()
            if rid is not None and self._request_id is not None and self._request_id.response_header:
                echo = (self._request_id.response_header, rid)
        if echo is not None:
            lines.append(f"{echo[0]}: {echo[1]}")
        if exc.headers:
            lines.extend(f"{k}: {v}" for k, v in exc.headers.items() if "\r" not in v and "\n" not in v)
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        self._start_lingering()

    def _peer_text(self) -> str:
        peer = self.get_extra_info("peername")
        if isinstance(peer, (tuple, list)):
            return str(peer[0])
        return str(peer or "unix socket")

    def _start_lingering(self) -> None:
        """Half-close and discard input for a moment, so the answer is read, not reset."""
        transport = self.transport
        if transport is None:
            return
        self._lingering = True
        self._force_close = True
        self._update_reading()
        if transport.can_write_eof():
            try:
                transport.write_eof()
            except OSError:
                transport.close()
                return
        self._arm(self._time() + LINGER_AFTER_REFUSAL, force=True)

    # -- timeouts ----------------------------------------------------------

    def _arm(self, deadline: float, force: bool = False) -> None:
        timer = self._timer
        if timer is not None:
            if not force and self._timer_when <= deadline:
                return
            timer.cancel()
        self._timer = self._loop.call_at(deadline, self._on_timer)
        self._timer_when = deadline

    def _on_timer(self) -> None:
        self._timer = None
        transport = self.transport
        if transport is None:
            return
        now = self._time()
        if self._lingering:
            transport.close()
            return
        parser = self._parser
        if self._head_started is not None and (self._task is None or (parser is not None and parser.in_head)):
            if self._read_head_timeout is not None:
                deadline = self._head_started + self._read_head_timeout
                if now >= deadline:
                    if self._task is None and not self._queue:
                        self._timeout_refusal(got_bytes=parser is not None and parser.in_head)
                        return
                    deadline = now + self._read_head_timeout
                self._arm(deadline)
                return
        if self._task is None and not self._queue:
            if self._keepalive_timeout is None:
                return
            deadline = self._idle_since + self._keepalive_timeout
            if now >= deadline:
                self.logger.debug("Closing an idle keep-alive connection")
                self._close_transport()
                return
            self._arm(deadline)
            return
        request = self._current_request
        body_timeout = self._read_body_timeout
        if body_timeout is None:
            return
        if request is not None:
            payload = request._payload
            if not payload.is_eof() and payload._waiter is not None:
                deadline = self._last_data + body_timeout
                if now >= deadline:
                    self._body_stalled(payload)
                    return
                self._arm(deadline)
                return
        self._arm(now + body_timeout)

    def _body_stalled(self, payload: StreamReader) -> None:
        """The handler waited ``read_body_timeout`` for body bytes: 408 (if we still can), close."""
        exc = RequestTimeout(message="Request body read timed out")
        writer = self._writer
        if writer is not None and writer.started:
            _refusals.log(self.logger, "Closed a connection from %s: request body stalled", self._peer_text())
            self._close_transport()
        else:
            request = self._current_request
            self._send_refusal(exc, request._echo_header if request is not None else None)
        payload.set_exception(exc)

    def _timeout_refusal(self, got_bytes: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        if not got_bytes:
            transport.close()  # a connection that never sent a byte gets no answer
            return
        self._queue.clear()
        self._task = self._loop.create_task(
            self._refuse(RequestTimeout(message="Request Timeout")), context=self._context.copy()
        )

    # -- shutdown ----------------------------------------------------------

    def _close_transport(self) -> None:
        self._closing = True
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    @property
    def idle(self) -> bool:
        """Connected, with no request in flight or waiting."""
        return self.transport is not None and self._task is None and not self._queue

    def close_after_response(self) -> None:
        """Answer the next request (in flight or still to come) with Connection: close, then close."""
        self._force_close = True

    def close(self) -> None:
        """Stop taking requests: close now if idle, else after the current response."""
        self._closing = True
        self._force_close = True
        if self._task is None:
            self._close_transport()

    async def shutdown(self, timeout: Optional[float] = 15.0) -> None:
        """Let the request in flight finish within ``timeout``; then cancel it and close."""
        self.close()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                try:
                    await asyncio.wait_for(task, 1.0)
                except BaseException:
                    pass
            except Exception:
                pass
        self._close_transport()

    def force_close(self) -> None:
        """Close at once, abandoning any request in flight."""
        self._force_close = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._close_transport()


class _DeadParser:
    """Stands in after a protocol error: the connection accepts no more requests."""

    in_head = False

    def feed_data(self, data: bytes) -> tuple[list[Any], bool, bytes]:
        return [], False, b""

    def feed_eof(self) -> None:
        return


_DEAD_PARSER: Any = _DeadParser()

