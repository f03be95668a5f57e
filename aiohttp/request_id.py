"""Request-id correlation: one id per request, visible to every log line it causes.

With the switch on (``web.Server(request_id=True)``, ``AppRunner(app, request_id=True)``,
``run_app(app, request_id=True)`` or ``AIOHTTP_REQUEST_ID=1`` in the environment) the
server decides the id before the first middleware runs and keeps it in the
``request_id`` context variable for the whole request task, up to and including the
access log line. Each request runs in its own task with its own copy of the context, so
nothing needs resetting and tasks the handler starts inherit the id.

Log records get the id from :func:`setup_logging_request_id_prefix` (a record factory)
or :class:`RequestIdFilter` (for ``dictConfig``). The names of aiohttp-request-id-logging
(``request_id_middleware``, ``RequestIdContextAccessLogger``, ...) live here too, so an
app migrating from it changes only its imports. Importing this module installs nothing.
"""

import logging
import os
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, Optional

from multidict import CIMultiDictProxy, istr

from .helpers import RequestKey

if TYPE_CHECKING:
    from .web_request import BaseRequest
    from .web_response import StreamResponse

__all__ = (
    "REQUEST_ID_HEADER",
    "REQUEST_ID_KEY",
    "RequestIdAccessLogger",
    "RequestIdContextAccessLogger",
    "RequestIdFilter",
    "RequestIdMiddleware",
    "RequestIdSettings",
    "generate_request_id",
    "request_id",
    "request_id_middleware",
    "sequential_request_id_factory",
    "settings_from_environ",
    "setup_logging_request_id_prefix",
    "use_request_id",
    "uuid4_request_id",
    "valid_request_id",
)

#: The id of the request being served in this context; None outside a request.
request_id: ContextVar[Optional[str]] = ContextVar("request_id", default=None)

REQUEST_ID_HEADER: Final = istr("X-Request-ID")

#: The string key under which older code finds the id: ``request["request_id"]``.
_STATE_KEY: Final = "request_id"


#: The key of the id in the request's mapping: ``request[REQUEST_ID_KEY]``.
REQUEST_ID_KEY: Final = RequestKey(_STATE_KEY, str)

_server_logger: Final = logging.getLogger("aiohttp.server")


# -- generating ids ----------------------------------------------------------

# Crockford's base32, lower-cased: URL-safe, and without i, l, o, u, so nothing in an
# id can be misread as another character. 32 symbols map each random byte uniformly.
_ALPHABET: Final = b"0123456789abcdefghjkmnpqrstvwxyz"
_TABLE: Final = bytes(_ALPHABET[b % 32] for b in range(256))
_ID_LENGTH: Final = 16
_POOL_BYTES: Final = _ID_LENGTH * 256

_pool = ""
_pool_pos = 0


def _refill() -> None:
    global _pool, _pool_pos
    _pool = os.urandom(_POOL_BYTES).translate(_TABLE).decode("ascii")
    _pool_pos = 0


def _forget_pool() -> None:
    # A forked worker must never hand out the ids its parent's pool still holds.
    global _pool, _pool_pos
    _pool = ""
    _pool_pos = 0


os.register_at_fork(after_in_child=_forget_pool)


def generate_request_id() -> str:
    """A fresh 16-character id (80 random bits), sliced from a pre-translated pool."""
    global _pool_pos
    start = _pool_pos
    end = start + _ID_LENGTH
    if end > len(_pool):
        _refill()
        start, end = 0, _ID_LENGTH
    _pool_pos = end
    return _pool[start:end]


def uuid4_request_id() -> str:
    """A random UUID4 in its canonical 36-character form (slower; for uuid-shaped logs)."""
    return str(uuid.uuid4())


class _Sequence:
    """``<prefix>-<n>`` ids; a forked child takes a new random prefix and starts over."""

    __slots__ = ("fixed", "n", "pid", "prefix")

    def __init__(self, prefix: Optional[str]) -> None:
        self.fixed = prefix
        self.pid = -1
        self.prefix = ""
        self.n = 0

    def __call__(self) -> str:
        pid = os.getpid()
        if pid != self.pid:
            self.pid, self.n = pid, 0
            self.prefix = self.fixed or generate_request_id()[:8]
        self.n += 1
        return f"{self.prefix}-{self.n}"


def sequential_request_id_factory(prefix: Optional[str] = None) -> Callable[[], str]:
    """A factory of ``<prefix>-<n>`` ids; the prefix is random per process unless given."""
    if prefix is not None and (not isinstance(prefix, str) or not valid_request_id(prefix) or len(prefix) > 64):
        raise ValueError(f"prefix must be up to 64 letters, digits and . _ : -, not {prefix!r}")
    return _Sequence(prefix)


# Accepts nginx's 32-hex $request_id, UUIDs, AWS trace ids and our own; nothing that could
# inject into a log line or a header.
_VALID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=-]{0,127}")


def valid_request_id(value: str) -> bool:
    """True when an incoming id is safe to adopt: 1-128 of letters, digits and ``._:=-``."""
    return _VALID_RE.fullmatch(value) is not None


_FACTORIES: Final[dict[str, Callable[[], Callable[[], str]]]] = {
    "short": lambda: generate_request_id,
    "uuid4": lambda: uuid4_request_id,
    "sequential": sequential_request_id_factory,
}


# -- deciding a request's id -------------------------------------------------


class RequestIdSettings:
    """How the server decides, adopts and echoes request ids.

    ``header``: the incoming header an id may be adopted from.
    ``response_header``: the header the id is echoed in; None turns the echo off.
    ``factory``: makes a fresh id.
    ``trust``: ``"proxies"`` adopts only from peers the server's ``trusted_proxies``
    accepts, ``"always"`` from anyone, ``"never"`` from nobody.
    """

    __slots__ = ("factory", "header", "response_header", "trust")

    def __init__(
        self,
        *,
        header: str = REQUEST_ID_HEADER,
        response_header: Optional[str] = REQUEST_ID_HEADER,
        factory: Callable[[], str] = generate_request_id,
        trust: str = "proxies",
    ) -> None:
        if trust not in ("proxies", "always", "never"):
            raise ValueError(f"trust must be 'proxies', 'always' or 'never', not {trust!r}")
        if not callable(factory):
            raise TypeError(f"factory must be a callable returning str, not {factory!r}")
        if not isinstance(header, str) or not header:
            raise TypeError(f"header must be a non-empty header name, not {header!r}")
        if response_header is not None and (not isinstance(response_header, str) or not response_header):
            raise TypeError(f"response_header must be a header name or None, not {response_header!r}")
        self.header = istr(header)
        self.response_header = None if response_header is None else istr(response_header)
        self.factory = factory
        self.trust = trust

    def choose(self, headers: Optional["CIMultiDictProxy[str]"], peer_trusted: bool) -> str:
        """The id for a request: an adopted valid one, else a fresh one."""
        if headers is not None and self.trust != "never" and (peer_trusted or self.trust == "always"):
            incoming = headers.get(self.header)
            if incoming is not None:
                if valid_request_id(incoming):
                    return incoming
                if _server_logger.isEnabledFor(logging.DEBUG):
                    # %r escapes whatever the peer sent; never log it raw.
                    _server_logger.debug("Ignored an invalid %s header: %r", self.header, incoming[:80])
        return self.factory()

    def __repr__(self) -> str:
        return (
            f"RequestIdSettings(header={self.header!r}, response_header={self.response_header!r}, "
            f"trust={self.trust!r})"
        )


def bind_request(request: "BaseRequest", rid: str, settings: Optional[RequestIdSettings]) -> None:
    """Attach a decided id to the request: its mapping keys, the echo header, Sentry.

    The caller has already set the ``request_id`` context variable in the request's task.
    """
    state = request._state
    state[_STATE_KEY] = rid
    state[REQUEST_ID_KEY] = rid
    if settings is not None and settings.response_header is not None:
        request._echo_header = (settings.response_header, rid)
    if "sentry_sdk" in sys.modules:
        _bind_sentry(rid)


def _bind_sentry(rid: str) -> None:
    """Give this request task its own Sentry scopes, tagged with the id.

    The task's context is the request's alone, so the forked scopes need no resetting.
    Costs a dictionary lookup when sentry-sdk is not imported, and little when it is
    imported but not initialised.
    """
    sdk: Any = sys.modules["sentry_sdk"]
    try:
        if not sdk.get_client().is_active():
            return
        scope_cls = sdk.Scope
        scope_cls.set_current_scope(scope_cls.get_current_scope().fork())
        isolation = scope_cls.get_isolation_scope().fork()
        scope_cls.set_isolation_scope(isolation)
        isolation.set_tag("request_id", rid)
    except AttributeError:  # sentry-sdk older than 2.0: no isolation scopes
        return


def settings_from_environ(environ: Mapping[str, str]) -> Optional[RequestIdSettings]:
    """The switch for deployments: ``AIOHTTP_REQUEST_ID=1`` turns request ids on.

    ``AIOHTTP_REQUEST_ID_HEADER`` names the incoming header, ``AIOHTTP_REQUEST_ID_RESPONSE_HEADER``
    the echoed one (empty: no echo), ``AIOHTTP_REQUEST_ID_TRUST`` is proxies/always/never,
    ``AIOHTTP_REQUEST_ID_FACTORY`` is short (default), sequential or uuid4.
    """
    switch = environ.get("AIOHTTP_REQUEST_ID", "").strip().lower()
    if switch in ("", "0", "false", "no", "off"):
        return None
    if switch not in ("1", "true", "yes", "on"):
        raise ValueError(f"AIOHTTP_REQUEST_ID must be 1/true/yes/on or 0/false/no/off, not {switch!r}")
    header = environ.get("AIOHTTP_REQUEST_ID_HEADER") or REQUEST_ID_HEADER
    response_header: Optional[str] = environ.get("AIOHTTP_REQUEST_ID_RESPONSE_HEADER", header)
    factory_name = environ.get("AIOHTTP_REQUEST_ID_FACTORY", "short").strip().lower() or "short"
    make_factory = _FACTORIES.get(factory_name)
    if make_factory is None:
        raise ValueError(
            f"AIOHTTP_REQUEST_ID_FACTORY must be one of {', '.join(_FACTORIES)}, not {factory_name!r}"
        )
    return RequestIdSettings(
        header=header,
        response_header=response_header or None,
        factory=make_factory(),
        trust=environ.get("AIOHTTP_REQUEST_ID_TRUST", "proxies").strip().lower(),
    )


@contextmanager
def use_request_id(rid: Optional[str]) -> Iterator[Optional[str]]:
    """Run a block (queued work, a job picked up later) under ``rid``; None means a fresh id."""
    if rid is None:
        rid = generate_request_id()
    elif not isinstance(rid, str):
        raise TypeError(f"rid must be a str or None, not {rid!r}")
    token = request_id.set(rid)
    try:
        yield rid
    finally:
        request_id.reset(token)


# -- log records -------------------------------------------------------------

DEFAULT_PREFIX_FORMAT: Final = "[req:{request_id}] "


def _split_prefix_format(prefix_format: str) -> tuple[str, str]:
    if not isinstance(prefix_format, str) or prefix_format.count("{request_id}") != 1:
        raise ValueError(
            f"prefix_format must contain '{{request_id}}' exactly once, e.g. {DEFAULT_PREFIX_FORMAT!r}; "
            f"got {prefix_format!r}"
        )
    head, tail = prefix_format.split("{request_id}")
    return head, tail


class _RecordFactory:
    """Wraps the previous log record factory; adds request_id and requestIdPrefix."""

    def __init__(self, wrapped: Callable[..., logging.LogRecord], prefix_format: str) -> None:
        self.wrapped = wrapped
        self.head, self.tail = _split_prefix_format(prefix_format)

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        rid = request_id.get()
        record.request_id = rid
        record.requestIdPrefix = "" if rid is None else self.head + rid + self.tail
        return record


def setup_logging_request_id_prefix(prefix_format: str = DEFAULT_PREFIX_FORMAT) -> None:
    """Give every log record ``request_id`` and ``requestIdPrefix`` attributes.

    Use ``%(requestIdPrefix)s`` or ``%(request_id)s`` in a format. Calling it again only
    updates the prefix format; it never wraps the record factory twice.
    """
    head, tail = _split_prefix_format(prefix_format)
    current = logging.getLogRecordFactory()
    if isinstance(current, _RecordFactory):
        current.head, current.tail = head, tail
        return
    logging.setLogRecordFactory(_RecordFactory(current, prefix_format))


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` and ``requestIdPrefix`` to records; for ``dictConfig`` users.

    Attach it to handlers (``{"()": "aiohttp.request_id.RequestIdFilter"}``) so records
    propagated from any logger get the attributes. It never drops a record.
    """

    def __init__(self, name: str = "", prefix_format: str = DEFAULT_PREFIX_FORMAT) -> None:
        super().__init__(name)
        self.head, self.tail = _split_prefix_format(prefix_format)

    def filter(self, record: logging.LogRecord) -> bool:
        rid = record.__dict__.get("request_id")
        if rid is None:
            rid = record.request_id = request_id.get()
        record.requestIdPrefix = "" if rid is None else self.head + rid + self.tail
        return True


# -- middleware mode (names of aiohttp-request-id-logging) -------------------

_Handler = Callable[["BaseRequest"], Awaitable["StreamResponse"]]


class RequestIdMiddleware:
    """A middleware giving each request an id, for apps that do not use the switch.

    When the server already decided an id (the switch is on), it keeps that one: one
    request, one id. Otherwise it decides one as the server would (``settings``; by
    default a fresh id, adopted from the header only from trusted proxies) and sets the
    context variable, which lasts until the access line because every request has its
    own task.
    """

    __middleware_version__ = 1

    def __init__(self, settings: Optional[RequestIdSettings] = None) -> None:
        if settings is not None and not isinstance(settings, RequestIdSettings):
            raise TypeError(f"settings must be a RequestIdSettings or None, not {settings!r}")
        self.settings = settings if settings is not None else RequestIdSettings()

    async def __call__(self, request: "BaseRequest", handler: _Handler) -> "StreamResponse":
        if request._state.get(_STATE_KEY) is None:
            trusted_check = getattr(request.protocol, "_is_peer_trusted", None)
            trusted = bool(trusted_check()) if trusted_check is not None else False
            rid = self.settings.choose(request.headers, trusted)
            request_id.set(rid)
            bind_request(request, rid, self.settings)
        return await handler(request)

    def __repr__(self) -> str:
        return f"<RequestIdMiddleware {self.settings!r}>"


def request_id_middleware(settings: Optional[RequestIdSettings] = None) -> RequestIdMiddleware:
    """The middleware of aiohttp-request-id-logging: ``Application(middlewares=[request_id_middleware()])``."""
    return RequestIdMiddleware(settings)


def _make_access_logger_class() -> type:
    from .web_log import AccessLogger

    class RequestIdAccessLogger(AccessLogger):
        """An AccessLogger that makes sure the request's id is set while its line is logged.

        Our server already logs inside the request's context; this class exists for apps
        migrating from aiohttp-request-id-logging and for servers that log elsewhere.
        """

        def log(self, request: "BaseRequest", response: "StreamResponse", time: float) -> None:
            if request_id.get() is not None:
                super().log(request, response, time)
                return
            rid = request.get(_STATE_KEY)
            token = request_id.set(rid)
            try:
                super().log(request, response, time)
            finally:
                request_id.reset(token)

    return RequestIdAccessLogger


if TYPE_CHECKING:
    RequestIdAccessLogger: type
    RequestIdContextAccessLogger: type

_lazy: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    # The access logger class subclasses web_log.AccessLogger, which imports this
    # module; build it on first use instead of at import.
    if name in ("RequestIdAccessLogger", "RequestIdContextAccessLogger"):
        cls = _lazy.get("cls")
        if cls is None:
            cls = _lazy["cls"] = _make_access_logger_class()
        globals()["RequestIdAccessLogger"] = globals()["RequestIdContextAccessLogger"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

