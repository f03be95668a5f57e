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

if TYPE_CHECKING:
    from .web_request import BaseRequest
    from .web_response import StreamResponse

__all__ = ("AccessLogger",)

_Atom = Callable[["BaseRequest", "StreamResponse", float], str]


class KeyMethod(NamedTuple):
    """One compiled atom: its ``extra`` key (a name, or a (kind, header) pair) and callable."""

    key: Any
    method: _Atom


_LOCAL_TIME_SECOND = -1
_LOCAL_TIME_TEXT = ""


def _local_time(start: float) -> str:
    """``[21/Nov/2026:14:51:29 +0000]`` for ``start``, formatted once per second."""
    global _LOCAL_TIME_SECOND, _LOCAL_TIME_TEXT
    second = int(start)
    if second != _LOCAL_TIME_SECOND:
        now = datetime.datetime.fromtimestamp(second).astimezone()
        _LOCAL_TIME_TEXT = now.strftime("[%d/%b/%Y:%H:%M:%S %z]")
        _LOCAL_TIME_SECOND = second
    return _LOCAL_TIME_TEXT


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
        self._keys = tuple(km.key if km.key.__class__ is str else "" for km in self._methods)
        self._grouped = tuple((i, km.key[0], km.key[1]) for i, km in enumerate(self._methods) if km.key.__class__ is not str)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: "BaseRequest", response: "StreamResponse", time: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        try:
            values = tuple([atom(request, response, time) for atom in self._atoms])
            extra: dict[str, Any] = dict(zip(self._keys, values, strict=True))
            if self._grouped:
                extra.pop("", None)
                for i, kind, name in self._grouped:
                    group = extra.get(kind)
                    if group is None:
                        group = extra[kind] = {}
                    group[name] = values[i]
            # makeRecord + handle is logger.info() minus findCaller's walk up the stack: the
            # caller of an access line is always this method, so the walk tells nobody
            # anything. Filters, handlers, propagation and the record factory still apply.
            record = logger.makeRecord(
                logger.name, logging.INFO, _PATHNAME, 0, self._log_format % values, (), None, "log", extra
            )
            logger.handle(record)
        except Exception:
            logger.exception("Error in logging")


_PATHNAME: Final = __file__


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


def _first_line(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    version = request.version
    return f"{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}"


def _status(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return str(response.status)


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
