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

import abc
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, Optional

from multidict import CIMultiDictProxy, istr

from .helpers import RequestKey, remember

if TYPE_CHECKING:
    from .web_request import BaseRequest
    from .web_response import StreamResponse

__all__ = (
    "FALLBACK_REQUEST_ID_KEY",
    "REQUEST_ID_HEADER",
    "REQUEST_ID_KEY",
    "RequestIdAccessLogger",
    "RequestIdContextAccessLogger",
    "RequestIdFilter",
    "RequestIdKeyAlreadySetError",
    "RequestIdMiddleware",
    "RequestIdSettings",
    "SequentialRequestIdFactory",
    "generate_request_id",
    "noop",
    "random_request_id_factory",
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
_modules: Final = sys.modules
_threads: Final[dict[int, threading.Thread]] = threading._active  # type: ignore[attr-defined]


# -- generating ids ----------------------------------------------------------

# Crockford's base32, lower-cased: URL-safe, and without i, l, o, u, so nothing in an
# id can be misread as another character. 32 symbols map each random byte uniformly.
_ALPHABET: Final = b"0123456789abcdefghjkmnpqrstvwxyz"
_TABLE: Final = bytes(_ALPHABET[b % 32] for b in range(256))
_ID_LENGTH: Final = 16
_BATCH: Final = 256  # ids cut from one os.urandom call

# Default-length ids, cut in advance and handed out from the end: list.pop is atomic, so
# two threads never get the same id.
_ids: list[str] = []
_fork_generation = 0


def _refill() -> None:
    pool = os.urandom(_ID_LENGTH * _BATCH).translate(_TABLE).decode("ascii")
    _ids.extend([pool[i : i + _ID_LENGTH] for i in range(0, len(pool), _ID_LENGTH)])


def _after_fork() -> None:
    # A forked worker must never hand out the ids, or sequence prefixes, of its parent.
    global _fork_generation
    _ids.clear()
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork)


def generate_request_id(length: int = _ID_LENGTH) -> str:
    """A fresh random id, 16 characters (80 bits) unless told; 16-character ids come pre-made."""
    if length == _ID_LENGTH:
        try:
            return _ids.pop()
        except IndexError:
            _refill()
            return _ids.pop()
    if length.__class__ is not int or not 1 <= length <= 64:
        raise ValueError(f"length must be an int from 1 to 64, not {length!r}")
    return os.urandom(length).translate(_TABLE).decode("ascii")


#: aiohttp-request-id-logging's name for the default factory.
random_request_id_factory: Final = generate_request_id


def uuid4_request_id() -> str:
    """A random UUID4 in its canonical 36-character form (slower; for uuid-shaped logs)."""
    return str(uuid.uuid4())


class SequentialRequestIdFactory:
    """Makes ``<prefix>-1``, ``<prefix>-2``...; the prefix is random per process unless given.

    Sequential ids show clients how busy the server is; keep them off responses
    (``response_header=None``) if that matters.
    """

    __slots__ = ("_fixed", "_generation", "_n", "_prefix")

    def __init__(self, prefix: Optional[str] = None) -> None:
        if prefix is not None and (not isinstance(prefix, str) or len(prefix) > 64 or not valid_request_id(prefix)):
            raise ValueError(f"prefix must be up to 64 letters, digits and . _ : = -, not {prefix!r}")
        self._fixed = prefix
        self._generation = -1
        self._prefix = ""
        self._n = 0

    def __call__(self) -> str:
        if self._generation != _fork_generation:
            self._generation, self._n = _fork_generation, 0
            self._prefix = self._fixed or generate_request_id(8)
        self._n += 1
        return f"{self._prefix}-{self._n}"

    def __repr__(self) -> str:
        return f"SequentialRequestIdFactory(prefix={self._fixed!r})"


#: A ready sequential factory with a random per-process prefix.
sequential_request_id_factory: Final = SequentialRequestIdFactory()


# Accepts nginx's 32-hex $request_id, UUIDs, AWS trace ids and our own; nothing that could
# inject into a log line or a header.
_VALID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=-]{0,127}")


def valid_request_id(value: str) -> bool:
    """True when an incoming id is safe to adopt: 1-128 of letters, digits and ``._:=-``."""
    return _VALID_RE.fullmatch(value) is not None


_FACTORIES: Final[dict[str, Callable[[], Callable[[], str]]]] = {
    "short": lambda: generate_request_id,
    "uuid4": lambda: uuid4_request_id,
    "sequential": SequentialRequestIdFactory,
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
        if headers is not None and (peer_trusted or self.trust == "always") and self.trust != "never":
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
    state: dict[Any, Any] = request._state
    state[_STATE_KEY] = rid
    state[REQUEST_ID_KEY] = rid
    if settings is not None and settings.response_header is not None:
        request._echo_header = (settings.response_header, rid)
    if "sentry_sdk" in _modules:
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

# logging.LogRecord.__init__ recomputes, for every record, what rarely changes: the file
# and module name of the same few pathnames, the pid, whether the lone argument's class
# is a Mapping. _RecordFactory.build makes the same record keeping those; it stands in
# for logging.LogRecord only, and only once a comparison on this Python showed both make
# the same attributes (_fast_records_match).
_StdLogRecord: Final = logging.LogRecord
_new_object: Final = object.__new__
_level_names: Final = logging._levelToName  # logging.addLevelName updates it in place
_START: Final = logging._startTime  # type: ignore[attr-defined]  # what relativeCreated counts from
_NS_CLOCK: Final = isinstance(_START, int)  # Python 3.13+ stamps records in ns
_TASK_NAMES: Final = hasattr(logging, "logAsyncioTasks")  # Python 3.12+
_HAS_GETPID: Final = hasattr(os, "getpid")
_FILE_NAMES_MAX: Final = 256
_file_names: dict[str, tuple[str, str]] = {}
_mapping_classes: dict[type, bool] = {}
_mapping_token = abc.get_cache_token()
_pid = os.getpid()


def _pid_after_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_pid_after_fork)


def _split_pathname(pathname: Any) -> tuple[Any, str]:
    """The ``filename`` and ``module`` logging.LogRecord derives from ``pathname``."""
    try:
        filename = os.path.basename(pathname)
        return filename, os.path.splitext(filename)[0]
    except (TypeError, ValueError, AttributeError):
        return pathname, "Unknown module"


def _check_mapping(value: object) -> bool:
    """``isinstance(value, Mapping)``, remembered per class until an ABC registers another."""
    global _mapping_token
    token = abc.get_cache_token()
    if token != _mapping_token or len(_mapping_classes) > 64:
        _mapping_classes.clear()
        _mapping_token = token
    result = isinstance(value, Mapping)
    if value.__class__ is type(value):
        _mapping_classes[value.__class__] = result
    return result


def _split_prefix_format(prefix_format: str) -> tuple[str, str]:
    if not isinstance(prefix_format, str) or prefix_format.count("{request_id}") != 1:
        raise ValueError(
            f"prefix_format must contain '{{request_id}}' exactly once, e.g. {DEFAULT_PREFIX_FORMAT!r}; "
            f"got {prefix_format!r}"
        )
    head, tail = prefix_format.split("{request_id}")
    return head, tail


class _RecordFactory:
    """The record factory ``setup_logging_request_id_prefix`` installs.

    Its records are those of the factory it replaced, plus ``request_id`` and
    ``requestIdPrefix`` (unless ``ids`` is false). Installed as the bound method
    ``build`` when it replaced logging.LogRecord itself, else as ``wrap``, which calls
    the replaced factory as it is.
    """

    __slots__ = ("_last", "head", "ids", "tail", "wrapped")

    def __init__(self, wrapped: Callable[..., logging.LogRecord], prefix_format: str, ids: bool = True) -> None:
        self.wrapped = wrapped
        self.ids = ids
        self.set_prefix_format(prefix_format)

    def set_prefix_format(self, prefix_format: str) -> None:
        self.head, self.tail = _split_prefix_format(prefix_format)
        # The last id and its prefix: a request's lines share one id object.
        self._last: tuple[Optional[str], str] = (None, "")

    @property
    def method(self) -> Callable[..., logging.LogRecord]:
        """The callable to install as the record factory."""
        if self.wrapped is _StdLogRecord and _fast_records_match():
            return self.build
        return self.wrap

    def build(
        self,
        name: str,
        level: int,
        pathname: str,
        lineno: int,
        msg: object,
        args: Any,
        exc_info: Any,
        func: Optional[str] = None,
        sinfo: Optional[str] = None,
        **kwargs: Any,  # accepted and ignored, as logging.LogRecord does
    ) -> logging.LogRecord:
        """What ``logging.LogRecord(...)`` makes of these arguments, with less work."""
        if _NS_CLOCK:
            ns = time.time_ns()
            created = ns / 1e9
            msecs = (ns % 1_000_000_000) // 1_000_000 + 0.0
            if msecs == 999.0 and int(created) != ns // 1_000_000_000:
                msecs = 0.0  # the float rounded up to the next second
            relative = (ns - _START) / 1e6
        else:
            created = time.time()
            msecs = int(created % 1.0 * 1000) + 0.0  # created - int(created), exactly
            relative = (created - _START) * 1000
        if args and len(args) == 1:
            # logging's rule: log("%(a)s", {"a": 1}) formats with the mapping.
            first = args[0]
            mapping = _mapping_classes.get(first.__class__) if abc.get_cache_token() == _mapping_token else None
            if mapping is None:
                mapping = _check_mapping(first)
            if mapping and first:
                args = first
        if pathname.__class__ is str:
            names = _file_names.get(pathname)
            if names is None:
                names = remember(_file_names, pathname, _split_pathname(pathname), _FILE_NAMES_MAX)
        else:
            names = _split_pathname(pathname)
        levelname = _level_names.get(level)
        if levelname is None:
            levelname = logging.getLevelName(level)
        # One attribute at a time, in LogRecord.__init__'s order: both kinds of record
        # then share one key table and list their attributes alike.
        record = _new_object(_StdLogRecord)
        record.name = name
        record.msg = msg
        record.args = args
        record.levelname = levelname
        record.levelno = level
        record.pathname = pathname
        record.filename, record.module = names
        record.exc_info = exc_info
        record.exc_text = None
        record.stack_info = sinfo
        record.lineno = lineno
        record.funcName = func  # type: ignore[assignment]  # None at times, as in LogRecord
        record.created = created
        record.msecs = msecs
        record.relativeCreated = relative
        if logging.logThreads:
            ident = record.thread = threading.get_ident()
            # current_thread() looks the thread up in this table (and makes a stand-in for
            # threads threading did not start); the name is read each time: threads get renamed.
            thread = _threads.get(ident) or threading.current_thread()
            record.threadName = thread.name
        else:
            record.thread = None
            record.threadName = None
        if logging.logMultiprocessing:
            process_name: Optional[str] = "MainProcess"
            mp = _modules.get("multiprocessing")
            if mp is not None:
                try:
                    process_name = mp.current_process().name
                except Exception:  # multiprocessing still importing
                    pass
            record.processName = process_name
        else:
            record.processName = None
        record.process = _pid if logging.logProcesses and _HAS_GETPID else None
        if _TASK_NAMES:
            task_name = None
            if logging.logAsyncioTasks:  # type: ignore[attr-defined, unused-ignore]
                asyncio = _modules.get("asyncio")
                if asyncio:
                    try:
                        task_name = asyncio.current_task().get_name()
                    except Exception:  # no running loop or task
                        pass
            record.taskName = task_name
        if self.ids:
            rid = record.request_id = request_id.get()
            if rid is None:
                record.requestIdPrefix = ""
            else:
                last = self._last  # _prefix's cache, read here to save the call per record
                record.requestIdPrefix = last[1] if last[0] is rid else self._prefix(rid)
        return record

    def wrap(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        rid = record.request_id = request_id.get()
        record.requestIdPrefix = "" if rid is None else self._prefix(rid)
        return record

    def _prefix(self, rid: str) -> str:
        last = self._last
        if last[0] is rid:
            return last[1]
        prefix = self.head + rid + self.tail
        self._last = (rid, prefix)
        return prefix


#: Plain records, as logging.LogRecord makes them.
_plain_records: Final = _RecordFactory(_StdLogRecord, DEFAULT_PREFIX_FORMAT, ids=False)
_TIMING: Final = frozenset(("created", "msecs", "relativeCreated"))
_fast_records_checked: Optional[bool] = None


def _fast_records_match() -> bool:
    """Whether ``build`` makes what logging.LogRecord makes on this Python (checked once)."""
    global _fast_records_checked
    if _fast_records_checked is None:
        call = ("aiohttp.check", logging.INFO, __file__, 1, "%(a)s", ({"a": 1},), None, "f", None)
        ours, theirs = vars(_plain_records.build(*call)), vars(_StdLogRecord(*call))
        _fast_records_checked = list(ours) == list(theirs) and all(
            ours[key] == value for key, value in theirs.items() if key not in _TIMING
        )
    return _fast_records_checked


def _installed_factory() -> Optional[_RecordFactory]:
    owner = getattr(logging.getLogRecordFactory(), "__self__", None)
    return owner if isinstance(owner, _RecordFactory) else None


def setup_logging_request_id_prefix(prefix_format: str = DEFAULT_PREFIX_FORMAT) -> None:
    """Give every log record ``request_id`` and ``requestIdPrefix`` attributes.

    Use ``%(requestIdPrefix)s`` or ``%(request_id)s`` in a format. Calling it again only
    updates the prefix format; it never wraps the record factory twice.
    """
    installed = _installed_factory()
    if installed is not None:
        installed.set_prefix_format(prefix_format)
        return
    logging.setLogRecordFactory(_RecordFactory(logging.getLogRecordFactory(), prefix_format).method)


def stdlib_record_maker(factory: Callable[..., logging.LogRecord]) -> Optional[Callable[..., logging.LogRecord]]:
    """A faster stand-in for ``factory`` when its records carry only the stdlib's attributes
    (and ours); None when ``factory`` is someone else's and may add any attribute.

    The access logger sets its ``extra`` keys on such records without makeRecord's check.
    """
    if factory is _StdLogRecord:
        return _plain_records.build if _fast_records_match() else None
    owner = getattr(factory, "__self__", None)
    if isinstance(owner, _RecordFactory) and factory == owner.build:
        return factory
    return None


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


# -- middleware mode (the names of aiohttp-request-id-logging) ----------------

_Handler = Callable[["BaseRequest"], Awaitable["StreamResponse"]]
_middleware_logger: Final = logging.getLogger("aiohttp.request_id")

#: The plain string key older code reads: ``request["request_id"]``.
FALLBACK_REQUEST_ID_KEY: Final = _STATE_KEY


def noop(*args: Any, **kwargs: Any) -> None:
    """Does nothing: pass it as ``log_request_start`` or ``add_response_request_id_header`` to turn them off."""


class RequestIdKeyAlreadySetError(Exception):
    """The request already had an id when the middleware ran (applied twice?)."""

    def __init__(self, existing_request_id: str) -> None:
        super().__init__(f"the request already has request id {existing_request_id!r}")
        self.existing_request_id = existing_request_id


class RequestIdMiddleware:
    """A middleware that gives each request an id, for apps that do not use the switch.

    It sets the ``request_id`` context variable and the request's keys, echoes the id in
    ``X-Request-Id``, tags Sentry events, logs a ``Processing GET / (module:handler)``
    line, and turns an unhandled error into a logged 500 carrying the id. When the
    server's switch is on, the id the server decided is used: one request, one id.

    Hooks, as a keyword argument or by overriding the method of the same name:
    ``get_request_id(request)`` (None: use ``request_id_factory``),
    ``log_request_start(request, handler)``, ``add_response_request_id_header(response,
    req_id)``; and the methods ``before_request``, ``after_request``,
    ``get_response_for_exception``, ``set_request_keys``, ``setup_sentry_scope``.
    """

    __middleware_version__ = 1
    request_id_header_name: str = "X-Request-Id"
    log_function_name: bool = True

    def __init__(
        self,
        *,
        request_id_factory: Optional[Callable[[], str]] = None,
        get_request_id: Optional[Callable[["BaseRequest"], Optional[str]]] = None,
        log_request_start: Optional[Callable[["BaseRequest", _Handler], None]] = None,
        log_function_name: Optional[bool] = None,
        add_response_request_id_header: Optional[Callable[["StreamResponse", str], None]] = None,
        request_id_header_name: Optional[str] = None,
        no_fallback_request_id_key: bool = False,
    ) -> None:
        for name, value in (
            ("request_id_factory", request_id_factory),
            ("get_request_id", get_request_id),
            ("log_request_start", log_request_start),
            ("add_response_request_id_header", add_response_request_id_header),
        ):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be a callable or None, not {value!r}")
        self.request_id_factory: Callable[[], str] = request_id_factory or generate_request_id
        if get_request_id is not None:
            self.get_request_id = get_request_id  # type: ignore[method-assign, assignment]
        if log_request_start is not None:
            self.log_request_start = log_request_start  # type: ignore[method-assign, assignment]
        if add_response_request_id_header is not None:
            self.add_response_request_id_header = add_response_request_id_header  # type: ignore[method-assign, assignment]
        if log_function_name is not None:
            self.log_function_name = log_function_name
        if request_id_header_name is not None:
            self.request_id_header_name = request_id_header_name
        self.no_fallback_request_id_key = no_fallback_request_id_key

    async def __call__(self, request: "BaseRequest", handler: _Handler) -> "StreamResponse":
        from .web_exceptions import HTTPException

        req_id = self._decide(request)
        self.before_request(request, req_id)
        self.log_request_start(request, handler)
        try:
            response = await handler(request)
        except HTTPException as exc:
            self.add_response_request_id_header(exc, req_id)
            raise
        except Exception as exc:
            _middleware_logger.exception("Error handling request %s %s", request.method, request.path)
            response = self.get_response_for_exception(request, exc)
        self.add_response_request_id_header(response, req_id)
        self.after_request(request, response, req_id)
        return response

    def _decide(self, request: "BaseRequest") -> str:
        existing = request.get(REQUEST_ID_KEY) or request.get(_STATE_KEY)
        if existing is not None:
            if getattr(request.protocol, "_request_id", None) is None:
                raise RequestIdKeyAlreadySetError(existing)
            # The server's switch decided it already; its context variable holds it too.
            return str(existing)
        req_id = self.get_request_id(request) or self.request_id_factory()
        request_id.set(req_id)  # lasts until the access line: the task is the request's alone
        self.set_request_keys(request, req_id)
        self.setup_sentry_scope(request, req_id)
        return req_id

    def get_request_id(self, request: "BaseRequest") -> Optional[str]:
        """The id to use for ``request``, or None for a fresh one. Validate anything adopted."""
        return None

    def set_request_keys(self, request: "BaseRequest", req_id: str) -> None:
        request[REQUEST_ID_KEY] = req_id
        if not self.no_fallback_request_id_key:
            request[_STATE_KEY] = req_id

    def setup_sentry_scope(self, request: "BaseRequest", req_id: str) -> None:
        if "sentry_sdk" in sys.modules:
            _bind_sentry(req_id)

    def before_request(self, request: "BaseRequest", req_id: str) -> None:
        """Called with the id set, before the request-start line and the handler."""

    def after_request(self, request: "BaseRequest", response: "StreamResponse", req_id: str) -> None:
        """Called with the handler's (or the error's) response, before it is returned."""

    def log_request_start(self, request: "BaseRequest", handler: _Handler) -> None:
        if self.log_function_name:
            _middleware_logger.info(
                "Processing %s %s (%s)", request.method, request.path, self.get_function_name(handler)
            )
        else:
            _middleware_logger.info("Processing %s %s", request.method, request.path)

    @staticmethod
    def get_function_name(handler: Any) -> str:
        """``module:qualname`` of the handler, looking through functools.partial."""
        while hasattr(handler, "func"):
            handler = handler.func
        module = getattr(handler, "__module__", None) or "?"
        name = getattr(handler, "__qualname__", None) or getattr(handler, "__name__", None) or repr(handler)
        return f"{module}:{name}"

    def add_response_request_id_header(self, response: "StreamResponse", req_id: str) -> None:
        """Echo the id, keeping a header the handler set and skipping prepared responses."""
        if not response.prepared and self.request_id_header_name not in response.headers:
            response.headers[self.request_id_header_name] = req_id

    def get_response_for_exception(self, request: "BaseRequest", exc: Exception) -> "StreamResponse":
        """The response for an unhandled error (already logged): a plain 500."""
        from .web_response import Response

        return Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} header={self.request_id_header_name!r}>"


def request_id_middleware(
    *,
    request_id_factory: Optional[Callable[[], str]] = None,
    log_function_name: bool = True,
    log_request_start: bool = True,
) -> RequestIdMiddleware:
    """The older spelling: ``Application(middlewares=[request_id_middleware()])``."""
    return RequestIdMiddleware(
        request_id_factory=request_id_factory,
        log_function_name=log_function_name,
        log_request_start=None if log_request_start else noop,
    )


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
            rid = request.get(REQUEST_ID_KEY) or request.get(_STATE_KEY)
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

