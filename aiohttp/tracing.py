"""Client request tracing: ``TraceConfig`` signals and the parameters they are sent.

A ``TraceConfig`` holds one signal per step of a request's life (start, connection,
DNS, headers and body sent, body received, redirect, end, exception). A session given
``trace_configs=[...]`` makes, for each request, one ``Trace`` per config: the config plus
a fresh context object (``trace_config_ctx()``) that every signal of that request sees.
A session without trace configs makes no ``Trace`` objects and sends nothing.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import attr
from multidict import CIMultiDict
from yarl import URL

from .signals import FrozenList

if TYPE_CHECKING:
    from .client import ClientSession
    from .client_reqrep import ClientResponse

__all__ = (
    "TraceConfig",
    "TraceRequestStartParams",
    "TraceRequestEndParams",
    "TraceRequestExceptionParams",
    "TraceConnectionQueuedStartParams",
    "TraceConnectionQueuedEndParams",
    "TraceConnectionCreateStartParams",
    "TraceConnectionCreateEndParams",
    "TraceConnectionReuseconnParams",
    "TraceDnsResolveHostStartParams",
    "TraceDnsResolveHostEndParams",
    "TraceDnsCacheHitParams",
    "TraceDnsCacheMissParams",
    "TraceRequestRedirectParams",
    "TraceRequestChunkSentParams",
    "TraceResponseChunkReceivedParams",
    "TraceRequestHeadersSentParams",
)

_P = TypeVar("_P")
_Receiver = Callable[["ClientSession", Any, _P], Awaitable[None]]


class TraceSignal(FrozenList[_Receiver[_P]], Generic[_P]):
    """The receivers of one trace event: ``async def r(session, ctx, params)``.

    Add receivers with ``append``; the list is frozen when a session takes the config.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: "TraceConfig") -> None:
        super().__init__()
        self._owner = owner

    def __repr__(self) -> str:
        return f"<TraceSignal frozen={self._frozen} {self._items!r}>"

    async def send(self, session: "ClientSession", ctx: Any, params: _P) -> None:
        """Await every receiver in order; an exception from one reaches the request."""
        for receiver in self._items:
            await receiver(session, ctx, params)


# -- parameters of each signal --------------------------------------------------------


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceRequestStartParams:
    """on_request_start: the request about to be made; ``headers`` may be changed."""

    method: str
    url: URL
    headers: "CIMultiDict[str]"


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceRequestChunkSentParams:
    """on_request_chunk_sent: a piece of the request body was written."""

    method: str
    url: URL
    chunk: bytes


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceResponseChunkReceivedParams:
    """on_response_chunk_received: a piece of the response body was read."""

    method: str
    url: URL
    chunk: bytes


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceRequestEndParams:
    """on_request_end: the final response's status and headers arrived."""

    method: str
    url: URL
    headers: "CIMultiDict[str]"
    response: "ClientResponse"


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceRequestExceptionParams:
    """on_request_exception: the request failed with ``exception``."""

    method: str
    url: URL
    headers: "CIMultiDict[str]"
    exception: BaseException


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceRequestRedirectParams:
    """on_request_redirect: ``response`` redirects; the next hop follows."""

    method: str
    url: URL
    headers: "CIMultiDict[str]"
    response: "ClientResponse"


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceRequestHeadersSentParams:
    """on_request_headers_sent: the status line and headers were written."""

    method: str
    url: URL
    headers: "CIMultiDict[str]"


@attr.s(frozen=True, slots=True)
class TraceConnectionQueuedStartParams:
    """on_connection_queued_start: no free connection slot; the request waits."""


@attr.s(frozen=True, slots=True)
class TraceConnectionQueuedEndParams:
    """on_connection_queued_end: a slot was freed for the waiting request."""


@attr.s(frozen=True, slots=True)
class TraceConnectionCreateStartParams:
    """on_connection_create_start: a new connection is being opened."""


@attr.s(frozen=True, slots=True)
class TraceConnectionCreateEndParams:
    """on_connection_create_end: the new connection is open."""


@attr.s(frozen=True, slots=True)
class TraceConnectionReuseconnParams:
    """on_connection_reuseconn: an idle pooled connection is reused."""


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceDnsResolveHostStartParams:
    """on_dns_resolvehost_start: ``host`` is about to be resolved."""

    host: str


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceDnsResolveHostEndParams:
    """on_dns_resolvehost_end: ``host`` was resolved."""

    host: str


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceDnsCacheHitParams:
    """on_dns_cache_hit: ``host``'s addresses came from the connector's cache."""

    host: str


@attr.s(auto_attribs=True, frozen=True, slots=True)
class TraceDnsCacheMissParams:
    """on_dns_cache_miss: ``host`` was not (or no longer) in the cache."""

    host: str


# -- the configuration ------------------------------------------------------------------


class TraceConfig:
    """Signals to follow the requests of the sessions this config is given to.

    ``trace_config_ctx_factory`` makes the per-request context shared by one request's
    signals; it is called with ``trace_request_ctx=`` (the request's argument).
    """

    def __init__(self, trace_config_ctx_factory: Callable[..., Any] = SimpleNamespace) -> None:
        if not callable(trace_config_ctx_factory):
            raise TypeError(
                "trace_config_ctx_factory must be callable with trace_request_ctx=..., "
                f"got {trace_config_ctx_factory!r}"
            )
        self._trace_config_ctx_factory = trace_config_ctx_factory
        self._on_request_start: TraceSignal[TraceRequestStartParams] = TraceSignal(self)
        self._on_request_chunk_sent: TraceSignal[TraceRequestChunkSentParams] = TraceSignal(self)
        self._on_response_chunk_received: TraceSignal[TraceResponseChunkReceivedParams] = (
            TraceSignal(self)
        )
        self._on_request_end: TraceSignal[TraceRequestEndParams] = TraceSignal(self)
        self._on_request_exception: TraceSignal[TraceRequestExceptionParams] = TraceSignal(self)
        self._on_request_redirect: TraceSignal[TraceRequestRedirectParams] = TraceSignal(self)
        self._on_request_headers_sent: TraceSignal[TraceRequestHeadersSentParams] = (
            TraceSignal(self)
        )
        self._on_connection_queued_start: TraceSignal[TraceConnectionQueuedStartParams] = (
            TraceSignal(self)
        )
        self._on_connection_queued_end: TraceSignal[TraceConnectionQueuedEndParams] = (
            TraceSignal(self)
        )
        self._on_connection_create_start: TraceSignal[TraceConnectionCreateStartParams] = (
            TraceSignal(self)
        )
        self._on_connection_create_end: TraceSignal[TraceConnectionCreateEndParams] = (
            TraceSignal(self)
        )
        self._on_connection_reuseconn: TraceSignal[TraceConnectionReuseconnParams] = (
            TraceSignal(self)
        )
        self._on_dns_resolvehost_start: TraceSignal[TraceDnsResolveHostStartParams] = (
            TraceSignal(self)
        )
        self._on_dns_resolvehost_end: TraceSignal[TraceDnsResolveHostEndParams] = (
            TraceSignal(self)
        )
        self._on_dns_cache_hit: TraceSignal[TraceDnsCacheHitParams] = TraceSignal(self)
        self._on_dns_cache_miss: TraceSignal[TraceDnsCacheMissParams] = TraceSignal(self)

    def _signals(self) -> Iterable[TraceSignal[Any]]:
        return (value for value in vars(self).values() if isinstance(value, TraceSignal))

    def trace_config_ctx(self, trace_request_ctx: Any = None) -> Any:
        """A new context for one request (``trace_request_ctx`` passed to the factory)."""
        return self._trace_config_ctx_factory(trace_request_ctx=trace_request_ctx)

    def freeze(self) -> None:
        """Refuse further receivers; a session does this when it takes the config."""
        for signal in self._signals():
            signal.freeze()

    @property
    def on_request_start(self) -> TraceSignal[TraceRequestStartParams]:
        return self._on_request_start

    @property
    def on_request_chunk_sent(self) -> TraceSignal[TraceRequestChunkSentParams]:
        return self._on_request_chunk_sent

    @property
    def on_response_chunk_received(self) -> TraceSignal[TraceResponseChunkReceivedParams]:
        return self._on_response_chunk_received

    @property
    def on_request_end(self) -> TraceSignal[TraceRequestEndParams]:
        return self._on_request_end

    @property
    def on_request_exception(self) -> TraceSignal[TraceRequestExceptionParams]:
        return self._on_request_exception

    @property
    def on_request_redirect(self) -> TraceSignal[TraceRequestRedirectParams]:
        return self._on_request_redirect

    @property
    def on_request_headers_sent(self) -> TraceSignal[TraceRequestHeadersSentParams]:
        return self._on_request_headers_sent

    @property
    def on_connection_queued_start(self) -> TraceSignal[TraceConnectionQueuedStartParams]:
        return self._on_connection_queued_start

    @property
    def on_connection_queued_end(self) -> TraceSignal[TraceConnectionQueuedEndParams]:
        return self._on_connection_queued_end

    @property
    def on_connection_create_start(self) -> TraceSignal[TraceConnectionCreateStartParams]:
        return self._on_connection_create_start

    @property
    def on_connection_create_end(self) -> TraceSignal[TraceConnectionCreateEndParams]:
        return self._on_connection_create_end

    @property
    def on_connection_reuseconn(self) -> TraceSignal[TraceConnectionReuseconnParams]:
        return self._on_connection_reuseconn

    @property
    def on_dns_resolvehost_start(self) -> TraceSignal[TraceDnsResolveHostStartParams]:
        return self._on_dns_resolvehost_start

    @property
    def on_dns_resolvehost_end(self) -> TraceSignal[TraceDnsResolveHostEndParams]:
        return self._on_dns_resolvehost_end

    @property
    def on_dns_cache_hit(self) -> TraceSignal[TraceDnsCacheHitParams]:
        return self._on_dns_cache_hit

    @property
    def on_dns_cache_miss(self) -> TraceSignal[TraceDnsCacheMissParams]:
        return self._on_dns_cache_miss


# -- one request's traces ------------------------------------------------------------------


class Trace:
    """One config's view of one request: the session, the config and its context."""

    __slots__ = ("_config", "_ctx", "_session")

    def __init__(self, session: "ClientSession", config: TraceConfig, ctx: Any) -> None:
        self._session = session
        self._config = config
        self._ctx = ctx

    async def send(self, signal: Callable[[TraceConfig], TraceSignal[_P]], params: _P) -> None:
        """Send ``params`` on ``signal``, a TraceConfig property (``TraceConfig.on_request_end``)."""
        # At run time ``signal`` is the property object; type checkers see its getter.
        bound: TraceSignal[_P] = cast(Any, signal).__get__(self._config, TraceConfig)
        await bound.send(self._session, self._ctx, params)


def make_traces(
    session: "ClientSession", configs: Sequence[TraceConfig], trace_request_ctx: Any
) -> tuple[Trace, ...]:
    """The traces of one request: one per config, each with a fresh context."""
    return tuple(
        Trace(session, config, config.trace_config_ctx(trace_request_ctx=trace_request_ctx))
        for config in configs
    )


async def send_traces(
    traces: Sequence[Trace], signal: Callable[[TraceConfig], TraceSignal[_P]], params: _P
) -> None:
    """Send ``params`` on ``signal`` of every trace, in the order of the configs.

    ``await send_traces(traces, TraceConfig.on_request_end, TraceRequestEndParams(...))``
    """
    for trace in traces:
        await trace.send(signal, params)
