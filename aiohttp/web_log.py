"""The access logger: aiohttp's format language, compiled once into callables."""

import datetime
import functools
import logging
import os
import re
import time as time_mod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Optional

from .abc import AbstractAccessLogger
from .request_id import request_id as _request_id_var
from .request_id import stdlib_record_maker

if TYPE_CHECKING:
    from .web_request import BaseRequest
    from .web_response import StreamResponse

__all__ = ("AccessLogger",)

_Atom = Callable[["BaseRequest", "StreamResponse", float], str]


class KeyMethod(NamedTuple):
    """One compiled atom: its ``extra`` key (a name, or a (kind, header) pair) and callable."""

    key: Any
    method: _Atom


# The second last formatted and its text: every line in that second reuses it.
_local_time_cache: tuple[int, str] = (-1, "")


def _local_time(start: float) -> str:
    """``[21/Nov/2026:14:51:29 +0000]`` for ``start``, formatted once per second."""
    global _local_time_cache
    second = int(start)
    cached = _local_time_cache
    if cached[0] == second:
        return cached[1]
    text = datetime.datetime.fromtimestamp(second).astimezone().strftime("[%d/%b/%Y:%H:%M:%S %z]")
    _local_time_cache = (second, text)
    return text


class AccessLogger(AbstractAccessLogger):
    """Writes one line per request to ``logger`` at INFO, in ``log_format``.

    Atoms: ``%%`` a percent sign, ``%a`` remote address, ``%t`` start time, ``%P`` pid,
    ``%r`` request line, ``%s`` status, ``%b`` body bytes sent, ``%T`` seconds, ``%Tf``
    seconds as a float, ``%D`` microseconds, ``%{H}i`` request header, ``%{H}o`` response
    header, ``%{V}e`` environment variable, and ``%L`` the request id (``-`` when none).
    Any other ``%`` is written as it stands. Each value also goes to the record's
    ``extra`` under the names of ``LOG_FORMAT_MAP``, for structured formatters.
    """

    LOG_FORMAT_MAP: Final = {
        "a": "remote_address",
        "t": "request_start_time",
        "P": "process_id",
        "r": "first_request_line",
        "s": "response_status",
        "b": "response_size",
        "T": "request_time",
        "Tf": "request_time_frac",
        "D": "request_time_micro",
        "i": "request_header",
        "o": "response_header",
        "e": "environ",
        "L": "access_request_id",  # the record factory/filter own "request_id"
    }
    LOG_FORMAT: Final = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'
    FORMAT_RE: Final = re.compile(r"%(%|\{([A-Za-z0-9\-_]+)\}([ioe])|Tf|[atPrsbDTL])")

    def __init__(self, logger: logging.Logger, log_format: str = LOG_FORMAT) -> None:
        if not isinstance(log_format, str):
            raise TypeError(f"log_format must be a str such as {self.LOG_FORMAT!r}, not {log_format!r}")
        super().__init__(logger, log_format)
        self._log_format, self._methods = _compile_format(log_format)
        self._atoms = tuple(km.method for km in self._methods)
        # The default format's atoms are worked out in one call (see _default_row).
        self._row = _default_row if log_format == _DEFAULT_FORMAT else self._atom_row
        # Where each value goes in ``extra``: plain keys, then one dict per header kind
        # (``request_header: {"User-Agent": ...}``); a repeated atom keeps its first place
        # and its last value, as building the dict in order would.
        plain: dict[str, int] = {}
        grouped: dict[str, dict[str, int]] = {}
        for i, km in enumerate(self._methods):
            if km.key.__class__ is str:
                plain[km.key] = i
            else:
                grouped.setdefault(km.key[0], {})[km.key[1]] = i
        self._plain = tuple(plain.items())
        self._grouped = tuple((kind, tuple(members.items())) for kind, members in grouped.items())
        # None of the keys is an attribute a stdlib-made record has, so they can be set
        # on such records without makeRecord's per-key check.
        self._extra_is_safe = _RESERVED.isdisjoint(plain) and _RESERVED.isdisjoint(grouped)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: "BaseRequest", response: "StreamResponse", time: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        try:
            values = self._row(request, response, time)
            # Like logger.info() minus findCaller's walk up the stack: the caller of an
            # access line is always this method. The record factory, filters, handlers
            # and propagation still apply.
            make = _record_maker(logger) if self._extra_is_safe else None
            if make is None:
                record = logger.makeRecord(
                    logger.name, logging.INFO, _PATHNAME, 0, self._log_format % values, (), None, "log",
                    self._put_extra({}, values),
                )
            else:
                record = make(logger.name, logging.INFO, _PATHNAME, 0, self._log_format % values, (), None, "log")
                self._put_extra(record.__dict__, values)
            logger.handle(record)
        except Exception:
            logger.exception("Error in logging")

    def _atom_row(self, request: "BaseRequest", response: "StreamResponse", time: float) -> tuple[str, ...]:
        """The value of each atom, in format order."""
        return tuple([atom(request, response, time) for atom in self._atoms])

    def _put_extra(self, target: dict[str, Any], values: tuple[str, ...]) -> dict[str, Any]:
        """Put the ``extra`` of one line (each value under its ``LOG_FORMAT_MAP`` name) into
        ``target``: an ``extra`` dict, or the ``__dict__`` of a record, as makeRecord would."""
        for key, i in self._plain:
            target[key] = values[i]
        for kind, members in self._grouped:
            target[kind] = {name: values[i] for name, i in members}
        return target


_PATHNAME: Final = __file__
_RESERVED: Final = frozenset(
    (*vars(logging.LogRecord("", 0, "", 0, "", (), None, None, None)), "message", "asctime", "request_id", "requestIdPrefix")
)
_std_make_record: Final = logging.Logger.makeRecord
# The record factory last seen, and what stdlib_record_maker said about it.
_maker_cache: tuple[object, Optional[Callable[..., logging.LogRecord]]] = (None, None)


def _record_maker(logger: logging.Logger) -> Optional[Callable[..., logging.LogRecord]]:
    """What to make ``logger``'s records with, when it is makeRecord minus the ``extra`` check."""
    global _maker_cache
    if getattr(logger.__class__, "makeRecord", None) is not _std_make_record or "makeRecord" in logger.__dict__:
        return None
    factory = logging.getLogRecordFactory()
    seen, maker = _maker_cache
    if seen is not factory:
        maker = stdlib_record_maker(factory)
        _maker_cache = (factory, maker)
    return maker


@functools.lru_cache(maxsize=32)
def _compile_format(log_format: str) -> tuple[str, tuple[KeyMethod, ...]]:
    """Turn a format string into a ``%s`` template and one callable per atom."""
    methods: list[KeyMethod] = []
    parts: list[str] = []
    pos = 0
    for match in AccessLogger.FORMAT_RE.finditer(log_format):
        parts.append(log_format[pos : match.start()].replace("%", "%%"))
        pos = match.end()
        atom, name, kind = match.groups()
        if atom == "%":
            parts.append("%%")
            continue
        parts.append("%s")
        if name is None:
            methods.append(KeyMethod(AccessLogger.LOG_FORMAT_MAP[atom], _ATOMS[atom]))
        else:
            key_pair = (AccessLogger.LOG_FORMAT_MAP[kind], name)
            methods.append(KeyMethod(key_pair, _HEADER_ATOMS[kind](name)))
    parts.append(log_format[pos:].replace("%", "%%"))
    return "".join(parts), tuple(methods)


def _remote(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return request.remote or "-"


def _start_time(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return _local_time(time_mod.time() - time)


_PID: list[Optional[tuple[int, str]]] = [None]


def _pid(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    pid = os.getpid()
    cached = _PID[0]
    if cached is None or cached[0] != pid:  # a fork (gunicorn) changes it
        cached = _PID[0] = (pid, f"<{pid}>")
    return cached[1]


_VERSION_TAILS: Final = {(1, 1): " HTTP/1.1", (1, 0): " HTTP/1.0"}
_STATUS_TEXTS: Final = {code: str(code) for code in range(100, 600)}


def _first_line(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    version = request.version
    try:
        tail = _VERSION_TAILS[version]
    except (KeyError, TypeError):  # another version, or not a tuple
        tail = f" HTTP/{version.major}.{version.minor}"
    return f"{request.method} {request.path_qs}{tail}"


def _status(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    status = response.status
    return _STATUS_TEXTS[status] if status.__class__ is int and 100 <= status < 600 else str(status)


def _size(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    # As aiohttp documents %b: the response's size including its status line and headers.
    return str(getattr(response, "_sent_bytes", 0) or response.body_length)


def _seconds(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return str(round(time))


def _seconds_frac(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return "%06f" % time


def _micro(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return str(round(time * 1000000))


def _rid(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return _request_id_var.get() or "-"


_ATOMS: Final[dict[str, _Atom]] = {
    "a": _remote,
    "t": _start_time,
    "P": _pid,
    "r": _first_line,
    "s": _status,
    "b": _size,
    "T": _seconds,
    "Tf": _seconds_frac,
    "D": _micro,
    "L": _rid,
}


def _request_header(name: str) -> _Atom:
    def atom(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
        return request.headers.get(name, "-")

    return atom


def _response_header(name: str) -> _Atom:
    def atom(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
        return response.headers.get(name, "-")

    return atom


def _environ(name: str) -> _Atom:
    def atom(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
        return os.environ.get(name, "-")

    return atom


_HEADER_ATOMS: Final[dict[str, Callable[[str], _Atom]]] = {
    "i": _request_header,
    "o": _response_header,
    "e": _environ,
}


_DEFAULT_FORMAT: Final = AccessLogger.LOG_FORMAT


def _default_row(request: "BaseRequest", response: "StreamResponse", time: float) -> tuple[str, ...]:
    """The atoms of ``LOG_FORMAT`` (the format nearly every server logs with), called
    directly rather than through the per-atom loop; the two headers looked up inline."""
    headers = request.headers
    return (
        _remote(request, response, time),
        _start_time(request, response, time),
        _first_line(request, response, time),
        _status(request, response, time),
        _size(request, response, time),
        headers.get("Referer", "-"),
        headers.get("User-Agent", "-"),
    )
