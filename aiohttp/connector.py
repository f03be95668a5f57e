"""Connection pools: TCPConnector (with DNS cache and TLS) and UnixConnector.

A connector hands out ``Connection`` objects. Idle keep-alive connections wait in a
per-host pool (most recently used first) until ``keepalive_timeout``; ``limit`` bounds
the connections in use overall and ``limit_per_host`` per (host, port, TLS) key. When no
slot is free, ``connect()`` queues the caller until a connection is released or closed.
"""

import asyncio
import functools
import socket
import ssl
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from .client_exceptions import (
    ClientConnectionError,
    ClientConnectorCertificateError,
    ClientConnectorDNSError,
    ClientConnectorError,
    ClientConnectorSSLError,
    ConnectionTimeoutError,
    UnixClientConnectorError,
)
from .client_proto import ResponseHandler
from .resolver import AbstractResolver, DefaultResolver, ResolveResult
from .tracing import (
    Trace,
    TraceConfig,
    TraceConnectionCreateEndParams,
    TraceConnectionCreateStartParams,
    TraceConnectionQueuedEndParams,
    TraceConnectionQueuedStartParams,
    TraceConnectionReuseconnParams,
    TraceDnsCacheHitParams,
    TraceDnsCacheMissParams,
    TraceDnsResolveHostEndParams,
    TraceDnsResolveHostStartParams,
    send_traces,
)

if TYPE_CHECKING:
    from .client import ClientTimeout
    from .client_reqrep import ClientRequest, ConnectionKey

__all__ = ("BaseConnector", "Connection", "TCPConnector", "UnixConnector")

_DEFAULT_KEEPALIVE = 15.0
_sentinel: Any = object()


@functools.cache
def _verified_context() -> ssl.SSLContext:
    """The default TLS context: system CAs, hostname checks (made once, on first use)."""
    return ssl.create_default_context()


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    """TLS without certificate checks, for ``ssl=False``."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _check_ssl(value: Any) -> Union[ssl.SSLContext, bool]:
    if value is None:
        return True
    if not isinstance(value, (bool, ssl.SSLContext)):
        raise TypeError(f"ssl should be True, False or an ssl.SSLContext, got {value!r}")
    return value


class Connection:
    """One connection lent to one request; give it back with release() or close()."""

    __slots__ = ("_connector", "_key", "_loop", "_protocol", "_released")

    def __init__(
        self,
        connector: "BaseConnector",
        key: "ConnectionKey",
        protocol: ResponseHandler,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._connector = connector
        self._key = key
        self._protocol: Optional[ResponseHandler] = protocol
        self._loop = loop
        self._released = False

    def __repr__(self) -> str:
        return f"Connection<{self._key}>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def transport(self) -> Optional[asyncio.Transport]:
        return None if self._protocol is None else self._protocol.transport

    @property
    def protocol(self) -> Optional[ResponseHandler]:
        return self._protocol

    @property
    def closed(self) -> bool:
        return self._protocol is None or not self._protocol.is_connected()

    def release(self) -> None:
        """Return the connection to the pool (or close it if it cannot be reused)."""
        protocol = self._protocol
        if protocol is not None:
            self._protocol = None
            self._connector._release(self._key, protocol, should_close=protocol.should_close)

    def close(self) -> None:
        """Close the connection and free its slot."""
        protocol = self._protocol
        if protocol is not None:
            self._protocol = None
            self._connector._release(self._key, protocol, should_close=True)


class BaseConnector:
    """Pooling, limits and waiting; subclasses only open new connections."""

    allowed_protocol_schema_set: frozenset[str] = frozenset({"", "tcp", "http", "https"})

    def __init__(
        self,
        *,
        keepalive_timeout: Any = _sentinel,
        force_close: bool = False,
        limit: int = 100,
        limit_per_host: int = 0,
        enable_cleanup_closed: bool = False,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        timeout_ceil_threshold: float = 5,
    ) -> None:
        if force_close:
            if keepalive_timeout is not None and keepalive_timeout is not _sentinel:
                raise ValueError("keepalive_timeout cannot be set if force_close is True")
            keepalive_timeout = None
        elif keepalive_timeout is _sentinel:
            keepalive_timeout = _DEFAULT_KEEPALIVE
        if keepalive_timeout is not None and keepalive_timeout < 0:
            raise ValueError("keepalive_timeout must be a non-negative number or None")
        if not isinstance(limit, int) or limit < 0:
            raise ValueError("limit must be a non-negative int (0 means no limit)")
        if not isinstance(limit_per_host, int) or limit_per_host < 0:
            raise ValueError("limit_per_host must be a non-negative int (0 means no limit)")
        self._loop = loop if loop is not None else asyncio.get_event_loop()
        self._keepalive_timeout: Optional[float] = keepalive_timeout
        self._force_close = force_close
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._timeout_ceil_threshold = timeout_ceil_threshold
        self._closed = False
        # idle: key -> deque of (protocol, released_at); newest at the right
        self._conns: dict[ConnectionKey, deque[tuple[ResponseHandler, float]]] = {}
        self._acquired: set[ResponseHandler] = set()
        self._acquired_per_host: defaultdict[ConnectionKey, set[ResponseHandler]] = defaultdict(set)
        self._opening = 0
        self._opening_per_host: defaultdict[ConnectionKey, int] = defaultdict(int)
        self._waiters: dict[ConnectionKey, deque[asyncio.Future[None]]] = {}
        self._cleanup_handle: Optional[asyncio.TimerHandle] = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} limit={self._limit} limit_per_host={self._limit_per_host}>"

    async def __aenter__(self) -> "BaseConnector":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- properties ------------------------------------------------------------

    @property
    def force_close(self) -> bool:
        return self._force_close

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def limit_per_host(self) -> int:
        return self._limit_per_host

    @property
    def closed(self) -> bool:
        return self._closed

    # -- closing ---------------------------------------------------------------

    async def close(self, *, abort_ssl: bool = False) -> None:
        """Close every idle and in-use connection; later connect() calls fail."""
        waiters = [proto.closed for proto in self._close_all()]
        if waiters:
            await asyncio.wait(waiters, timeout=1.0)

    def _close_all(self) -> list[ResponseHandler]:
        if self._closed:
            return []
        self._closed = True
        if self._cleanup_handle is not None:
            self._cleanup_handle.cancel()
            self._cleanup_handle = None
        protocols: list[ResponseHandler] = []
        for pool in self._conns.values():
            protocols.extend(proto for proto, _ in pool)
        protocols.extend(self._acquired)
        self._conns.clear()
        self._acquired.clear()
        self._acquired_per_host.clear()
        for queue in self._waiters.values():
            for fut in queue:
                if not fut.done():
                    fut.set_exception(ClientConnectionError("Connector is closed."))
        self._waiters.clear()
        for proto in protocols:
            proto.close()
        return protocols

    # -- limits ------------------------------------------------------------------

    def _available(self, key: "ConnectionKey") -> bool:
        if self._limit and len(self._acquired) + self._opening >= self._limit:
            return False
        if self._limit_per_host:
            used = len(self._acquired_per_host.get(key, ())) + self._opening_per_host.get(key, 0)
            if used >= self._limit_per_host:
                return False
        return True

    def _wake_waiter(self) -> None:
        """Let the first queued caller whose host has a free slot go on."""
        for key, queue in list(self._waiters.items()):
            while queue and queue[0].done():
                queue.popleft()
            if not queue:
                del self._waiters[key]
                continue
            if self._available(key):
                queue.popleft().set_result(None)
                if not queue:
                    del self._waiters[key]
                return

    # -- getting a connection -------------------------------------------------------

    async def connect(
        self, req: "ClientRequest", traces: Sequence[Trace], timeout: "ClientTimeout"
    ) -> Connection:
        """Get a pooled connection for ``req`` or open a new one, waiting for a slot."""
        if self._closed:
            raise ClientConnectionError("Connector is closed.")
        key: ConnectionKey = req.connection_key
        if not self._available(key) or self._waiters.get(key):
            if traces:
                await send_traces(
                    traces, TraceConfig.on_connection_queued_start, TraceConnectionQueuedStartParams()
                )
            await self._wait_for_slot(key)
            if traces:
                await send_traces(
                    traces, TraceConfig.on_connection_queued_end, TraceConnectionQueuedEndParams()
                )
                if not self._available(key):  # a receiver awaited and the slot went
                    await self._wait_for_slot(key)

        proto = self._get_idle(key)
        reused = proto is not None
        if proto is None:
            self._opening += 1
            self._opening_per_host[key] += 1
            try:
                if traces:
                    await send_traces(
                        traces,
                        TraceConfig.on_connection_create_start,
                        TraceConnectionCreateStartParams(),
                    )
                proto = await self._create_connection(req, traces, timeout)
            except BaseException:
                self._wake_waiter()
                raise
            finally:
                self._opening -= 1
                self._opening_per_host[key] -= 1
                if not self._opening_per_host[key]:
                    del self._opening_per_host[key]
            if self._closed:
                proto.close()
                raise ClientConnectionError("Connector is closed.")
        self._acquired.add(proto)
        self._acquired_per_host[key].add(proto)
        conn = Connection(self, key, proto, self._loop)
        if traces:
            try:
                if reused:
                    await send_traces(
                        traces, TraceConfig.on_connection_reuseconn, TraceConnectionReuseconnParams()
                    )
                else:
                    await send_traces(
                        traces, TraceConfig.on_connection_create_end, TraceConnectionCreateEndParams()
                    )
            except BaseException:
                conn.close()
                raise
        return conn

    async def _wait_for_slot(self, key: "ConnectionKey") -> None:
        first = True
        while True:
            fut: asyncio.Future[None] = self._loop.create_future()
            queue = self._waiters.setdefault(key, deque())
            if first:
                queue.append(fut)
            else:
                queue.appendleft(fut)  # lost a race for the slot: keep our place
            first = False
            try:
                await fut
            except BaseException:
                queue = self._waiters.get(key, deque())
                if fut in queue:
                    queue.remove(fut)
                    if not queue:
                        self._waiters.pop(key, None)
                elif fut.done() and not fut.cancelled() and fut.exception() is None:
                    self._wake_waiter()  # pass the slot we were given to the next caller
                raise
            if self._closed:
                raise ClientConnectionError("Connector is closed.")
            if self._available(key):
                return

    def _get_idle(self, key: "ConnectionKey") -> Optional[ResponseHandler]:
        pool = self._conns.get(key)
        if not pool:
            return None
        now = time.monotonic()
        keepalive = self._keepalive_timeout
        while pool:
            proto, released_at = pool.pop()
            if not proto.is_connected() or proto.should_close:
                proto.close()
                continue
            if keepalive is not None and now - released_at > keepalive:
                proto.close()
                continue
            if not pool:
                del self._conns[key]
            return proto
        del self._conns[key]
        return None

    async def _create_connection(
        self, req: "ClientRequest", traces: Sequence[Trace], timeout: "ClientTimeout"
    ) -> ResponseHandler:
        raise NotImplementedError

    # -- giving it back ---------------------------------------------------------------

    def _release(self, key: "ConnectionKey", protocol: ResponseHandler, *, should_close: bool) -> None:
        if self._closed:
            protocol.close()
            return
        self._acquired.discard(protocol)
        per_host = self._acquired_per_host.get(key)
        if per_host is not None:
            per_host.discard(protocol)
            if not per_host:
                del self._acquired_per_host[key]
        if should_close or self._force_close or not protocol.is_connected():
            protocol.close()
        else:
            self._conns.setdefault(key, deque()).append((protocol, time.monotonic()))
            self._schedule_cleanup()
        self._wake_waiter()

    def _schedule_cleanup(self) -> None:
        if self._cleanup_handle is None and self._keepalive_timeout is not None:
            self._cleanup_handle = self._loop.call_later(
                max(self._keepalive_timeout, 0.05), self._cleanup
            )

    def _cleanup(self) -> None:
        """Close idle connections older than keepalive_timeout."""
        self._cleanup_handle = None
        keepalive = self._keepalive_timeout
        if keepalive is None:
            return
        deadline = time.monotonic() - keepalive
        for key in list(self._conns):
            pool = self._conns[key]
            alive: deque[tuple[ResponseHandler, float]] = deque()
            for proto, released_at in pool:
                if released_at <= deadline or not proto.is_connected():
                    proto.close()
                else:
                    alive.append((proto, released_at))
            if alive:
                self._conns[key] = alive
            else:
                del self._conns[key]
        if self._conns:
            self._schedule_cleanup()


class TCPConnector(BaseConnector):
    """Connects over TCP, with an optional DNS cache and TLS."""

    allowed_protocol_schema_set = frozenset({"", "tcp", "http", "https", "ws", "wss"})

    def __init__(
        self,
        *,
        ssl: Union[bool, ssl.SSLContext, None] = True,
        verify_ssl: bool = True,
        fingerprint: Optional[bytes] = None,
        use_dns_cache: bool = True,
        ttl_dns_cache: Optional[int] = 10,
        family: socket.AddressFamily = socket.AddressFamily.AF_UNSPEC,
        ssl_context: Optional[ssl.SSLContext] = None,
        local_addr: Optional[tuple[str, int]] = None,
        resolver: Optional[AbstractResolver] = None,
        keepalive_timeout: Any = _sentinel,
        force_close: bool = False,
        limit: int = 100,
        limit_per_host: int = 0,
        enable_cleanup_closed: bool = False,
        loop: Optional[asyncio.AbstractEventLoop] = None,
        timeout_ceil_threshold: float = 5,
        happy_eyeballs_delay: Optional[float] = 0.25,
        interleave: Optional[int] = None,
    ) -> None:
        super().__init__(
            keepalive_timeout=keepalive_timeout,
            force_close=force_close,
            limit=limit,
            limit_per_host=limit_per_host,
            enable_cleanup_closed=enable_cleanup_closed,
            loop=loop,
            timeout_ceil_threshold=timeout_ceil_threshold,
        )
        if fingerprint is not None:
            raise NotImplementedError("fingerprint pinning is not supported yet; use an SSLContext")
        if ssl_context is not None:
            ssl = ssl_context
        if not verify_ssl:
            ssl = False
        self._ssl = _check_ssl(ssl)
        self._resolver: AbstractResolver = resolver if resolver is not None else DefaultResolver()
        self._use_dns_cache = use_dns_cache
        self._ttl_dns_cache = ttl_dns_cache
        self._dns_cache: dict[tuple[str, int], tuple[list[ResolveResult], float]] = {}
        self._family = family
        self._local_addr = local_addr

    @property
    def family(self) -> int:
        return self._family

    @property
    def use_dns_cache(self) -> bool:
        return self._use_dns_cache

    def clear_dns_cache(self, host: Optional[str] = None, port: Optional[int] = None) -> None:
        """Forget cached addresses: of one (host, port), or all."""
        if host is not None and port is not None:
            self._dns_cache.pop((host, port), None)
        elif host is not None or port is not None:
            raise ValueError("either both host and port or none of them are allowed")
        else:
            self._dns_cache.clear()

    async def close(self, *, abort_ssl: bool = False) -> None:
        await super().close(abort_ssl=abort_ssl)
        await self._resolver.close()

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] = ()
    ) -> list[ResolveResult]:
        if _is_ip_literal(host):
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return [
                ResolveResult(
                    hostname=host, host=host, port=port, family=family, proto=0, flags=0
                )
            ]
        key = (host, port)
        if self._use_dns_cache:
            cached = self._dns_cache.get(key)
            if cached is not None:
                addrs, expires = cached
                if self._ttl_dns_cache is None or time.monotonic() < expires:
                    if traces:
                        await send_traces(
                            traces, TraceConfig.on_dns_cache_hit, TraceDnsCacheHitParams(host)
                        )
                    return addrs
            if traces:
                await send_traces(traces, TraceConfig.on_dns_cache_miss, TraceDnsCacheMissParams(host))
        if traces:
            await send_traces(
                traces, TraceConfig.on_dns_resolvehost_start, TraceDnsResolveHostStartParams(host)
            )
        addrs = await self._resolver.resolve(host, port, family=self._family)
        if traces:
            await send_traces(
                traces, TraceConfig.on_dns_resolvehost_end, TraceDnsResolveHostEndParams(host)
            )
        if self._use_dns_cache:
            ttl = self._ttl_dns_cache
            expires = time.monotonic() + ttl if ttl is not None else 0.0
            self._dns_cache[key] = (addrs, expires)
        return addrs

    def _ssl_context(self, req: "ClientRequest") -> Optional[ssl.SSLContext]:
        if not req.is_ssl():
            return None
        value = req.ssl if req.ssl is not True else self._ssl
        if isinstance(value, ssl.SSLContext):
            return value
        return _verified_context() if value else _unverified_context()

    async def _create_connection(
        self, req: "ClientRequest", traces: Sequence[Trace], timeout: "ClientTimeout"
    ) -> ResponseHandler:
        key: ConnectionKey = req.connection_key
        host = req.url.raw_host
        assert host is not None
        port = req.port
        assert port is not None
        try:
            addrs = await self._resolve_host(host, port, traces)
        except OSError as exc:
            raise ClientConnectorDNSError(key, exc) from exc
        sslcontext = self._ssl_context(req)
        server_hostname = None
        if sslcontext is not None:
            server_hostname = (req.server_hostname or host).rstrip(".")
        last_error: Optional[BaseException] = None
        for addr in addrs:
            try:
                return await self._open(
                    addr, sslcontext, server_hostname, timeout.sock_connect, key
                )
            except (ClientConnectorError, ConnectionTimeoutError) as exc:
                last_error = exc
                if isinstance(exc, ClientConnectorCertificateError):
                    raise  # a bad certificate will not get better at another address
        assert last_error is not None
        raise last_error

    async def _open(
        self,
        addr: ResolveResult,
        sslcontext: Optional[ssl.SSLContext],
        server_hostname: Optional[str],
        sock_connect: Optional[float],
        key: "ConnectionKey",
    ) -> ResponseHandler:
        loop = self._loop
        try:
            async with asyncio.timeout(sock_connect):
                _, proto = await loop.create_connection(
                    functools.partial(ResponseHandler, loop),
                    addr["host"],
                    addr["port"],
                    ssl=sslcontext,
                    server_hostname=server_hostname,
                    family=addr["family"],
                    proto=addr["proto"],
                    flags=addr["flags"],
                    local_addr=self._local_addr,
                )
        except TimeoutError as exc:
            raise ConnectionTimeoutError(
                f"Connection timeout to host {addr['hostname']}:{addr['port']}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ClientConnectorCertificateError(key, exc) from exc
        except ssl.SSLError as exc:
            raise ClientConnectorSSLError(key, exc) from exc
        except OSError as exc:
            raise ClientConnectorError(key, exc) from exc
        return proto


class UnixConnector(BaseConnector):
    """Connects to a unix domain socket; the URL's host only fills the Host header."""

    allowed_protocol_schema_set = frozenset({"", "unix"})

    def __init__(
        self,
        path: str,
        force_close: bool = False,
        keepalive_timeout: Any = _sentinel,
        limit: int = 100,
        limit_per_host: int = 0,
        loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> None:
        super().__init__(
            force_close=force_close,
            keepalive_timeout=keepalive_timeout,
            limit=limit,
            limit_per_host=limit_per_host,
            loop=loop,
        )
        self._path = path

    @property
    def path(self) -> str:
        """Path of the unix socket."""
        return self._path

    async def _create_connection(
        self, req: "ClientRequest", traces: Sequence[Trace], timeout: "ClientTimeout"
    ) -> ResponseHandler:
        loop = self._loop
        try:
            async with asyncio.timeout(timeout.sock_connect):
                _, proto = await loop.create_unix_connection(
                    functools.partial(ResponseHandler, loop), self._path
                )
        except TimeoutError as exc:
            raise ConnectionTimeoutError(f"Connection timeout to unix socket {self._path}") from exc
        except OSError as exc:
            raise UnixClientConnectorError(self._path, req.connection_key, exc) from exc
        return proto


def _is_ip_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True
