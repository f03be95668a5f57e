"""The access logger: aiohttp's format language, compiled once into callables."""

import datetime
import functools
import logging
import os
import re
import time as time_mod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .abc import AbstractAccessLogger
from .request_id import request_id as _request_id_var

if TYPE_CHECKING:
    from .web_request import BaseRequest
    from .web_response import StreamResponse

__all__ = ("AccessLogger",)

_Atom = Callable[["BaseRequest", "StreamResponse", float], str]


class KeyMethod(NamedTuple):
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

    Atoms: ``%%``, ``%a`` remote address, ``%t`` start time, ``%P`` pid, ``%r`` request
    line, ``%s`` status, ``%b`` body bytes sent, ``%T`` seconds, ``%Tf`` seconds as a
    float, ``%D`` microseconds, ``%{H}i`` request header, ``%{H}o`` response header,
    ``%{V}e`` environment variable, and ``%L`` the request id (``-`` when none).
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
        "L": "request_id",
    }
    LOG_FORMAT: Final = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'
    FORMAT_RE: Final = re.compile(r"%(\{([A-Za-z0-9\-_]+)\}([ioe])|[atPrsbD]|Tf?|L)")
    CLEANUP_RE: Final = re.compile(r"(%[^s])")

    def __init__(self, logger: logging.Logger, log_format: str = LOG_FORMAT) -> None:
        super().__init__(logger, log_format)
        self._log_format, self._methods = _compile_format(log_format)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: "BaseRequest", response: "StreamResponse", time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        try:
            values = []
            extra: dict[str, Any] = {}
            for key, method in self._methods:
                value = method(request, response, time)
                values.append(value)
                if key.__class__ is str:
                    extra[key] = value
                else:
                    extra.setdefault(key[0], {})[key[1]] = value
            self.logger.info(self._log_format % tuple(values), extra=extra)
        except Exception:
            self.logger.exception("Error in logging")


@functools.lru_cache(maxsize=32)
def _compile_format(log_format: str) -> tuple[str, tuple[KeyMethod, ...]]:
    """Turn a format string into a ``%s`` template and one callable per atom."""
    methods: list[KeyMethod] = []
    for atom in AccessLogger.FORMAT_RE.findall(log_format):
        if atom[1] == "":
            key = AccessLogger.LOG_FORMAT_MAP[atom[0]]
            methods.append(KeyMethod(key, _ATOMS[atom[0]]))
        else:
            name, kind = atom[1], atom[2]
            key_pair = (AccessLogger.LOG_FORMAT_MAP[kind], name)
            methods.append(KeyMethod(key_pair, _HEADER_ATOMS[kind](name)))
    template = AccessLogger.FORMAT_RE.sub(r"%s", log_format.replace("%%", "\x00"))
    template = AccessLogger.CLEANUP_RE.sub(r"%\1", template).replace("\x00", "%%")
    return template, tuple(methods)


def _remote(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return request.remote or "-"


def _start_time(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return _local_time(time_mod.time() - time)


def _pid(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return f"<{os.getpid()}>"


def _first_line(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    version = request.version
    return f"{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}"


def _status(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return str(response.status)


def _size(request: "BaseRequest", response: "StreamResponse", time: float) -> str:
    return str(response.body_length)


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

