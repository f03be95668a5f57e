"""The access logger: aiohttp's format language, compiled once per format into one function."""

import datetime
import functools
import logging
import os
import re
import time as time_mod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Optional

from multidict import istr

from .abc import AbstractAccessLogger
from .http_writer import HttpVersion10, HttpVersion11
from .request_id import request_id as _request_id_var
from .request_id import stdlib_record_maker

if TYPE_CHECKING:
    from .web_request import BaseRequest
    from .web_response import StreamResponse

__all__ = ("AccessLogger",)

# What an atom's value is, as a Python expression over ``request``, ``response`` and
# ``time`` (the request's duration). A format compiles into one function evaluating them.
_ATOM_EXPRESSIONS: Final = {
    "a": 'request.remote or "-"',
    "t": "_local_time(time_mod.time() - time)",
    "P": "_pid_text()",
    "r": "_first_line(request)",
    "s": "_STATUS_TEXTS.get(response.status) or str(response.status)",
    # As aiohttp documents %b: the response's size including its status line and headers.
    "b": 'str(getattr(response, "_sent_bytes", 0) or response.body_length)',
    "T": "str(round(time))",
    "Tf": '"%06f" % time',
    "D": "str(round(time * 1000000))",
    "L": '_request_id_var.get() or "-"',
}
# For the atoms that name a header or variable, ``{name}`` stands for the name's constant.
_HEADER_EXPRESSIONS: Final = {
    "i": 'request.headers.get({name}, "-")',
    "o": 'response.headers.get({name}, "-")',
    "e": '_environ.get({name}, "-")',
}


class _Atom(NamedTuple):
    """One atom of a format: its ``extra`` key (a name, or a (kind, header) pair), its
    value as an expression, and the constant that expression names, if any."""

    key: Any
    expression: str
    constant: Optional[tuple[str, str]] = None


_Fill = Callable[["BaseRequest", "StreamResponse", float, dict[str, Any]], tuple[str, ...]]


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
        self._log_format, self._atoms, self._fill = _compile_format(log_format)
        # None of the keys is an attribute a stdlib-made record has, so they can be set
        # on such records without makeRecord's per-key check.
        keys = {atom.key if atom.key.__class__ is str else atom.key[0] for atom in self._atoms}
        self._extra_is_safe = _RESERVED.isdisjoint(keys)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: "BaseRequest", response: "StreamResponse", time: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        try:
            # Like logger.info() minus findCaller's walk up the stack: the caller of an
            # access line is always this method. The record factory, filters, handlers
            # and propagation still apply.
            make = _record_maker(logger) if self._extra_is_safe else None
            if make is None:
                extra: dict[str, Any] = {}
                values = self._fill(request, response, time, extra)
                record = logger.makeRecord(
                    logger.name, logging.INFO, _PATHNAME, 0, self._log_format % values, (), None, "log", extra
                )
            else:
                record = make(logger.name, logging.INFO, _PATHNAME, 0, "", (), None, "log")
                record.msg = self._log_format % self._fill(request, response, time, record.__dict__)
            logger.handle(record)
        except Exception:
            logger.exception("Error in logging")


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
    # The stdlib's own method, neither overridden by the class nor replaced on the logger.
    if getattr(logger.makeRecord, "__func__", None) is not _std_make_record:
        return None
    factory = logging.getLogRecordFactory()
    seen, maker = _maker_cache
    if seen is not factory:
        maker = stdlib_record_maker(factory)
        _maker_cache = (factory, maker)
    return maker


@functools.lru_cache(maxsize=32)
def _compile_format(log_format: str) -> tuple[str, tuple[_Atom, ...], _Fill]:
    """Turn a format into a ``%s`` template, its atoms, and the function that fills a line.

    The function computes every atom's value in one pass, puts each into ``extra`` (plain
    keys first, then one dict per header kind: ``request_header: {"User-Agent": ...}``)
    and returns the values in format order. A repeated atom keeps its first place and
    its last value, as building the dict in order would.
    """
    atoms: list[_Atom] = []
    parts: list[str] = []
    pos = 0
    for match in AccessLogger.FORMAT_RE.finditer(log_format):
        parts.append(log_format[pos : match.start()].replace("%", "%%"))
        pos = match.end()
        atom, name, kind = match.groups()
        if atom == "%":
            parts.append("%%")
        elif name is None:
            parts.append("%s")
            atoms.append(_Atom(AccessLogger.LOG_FORMAT_MAP[atom], _ATOM_EXPRESSIONS[atom]))
        else:
            parts.append("%s")
            key_pair = (AccessLogger.LOG_FORMAT_MAP[kind], name)
            # Header names as istr: a multidict then need not fold their case on each lookup.
            constant = (f"_name{len(atoms)}", name if kind == "e" else istr(name))
            atoms.append(_Atom(key_pair, _HEADER_EXPRESSIONS[kind].format(name=constant[0]), constant))
    parts.append(log_format[pos:].replace("%", "%%"))
    return "".join(parts), tuple(atoms), _compile_fill(atoms)


def _compile_fill(atoms: list[_Atom]) -> _Fill:
    """The fill function of a format's atoms, as straight-line code (see _compile_format)."""
    lines = ["def fill(request, response, time, extra):"]
    lines += [f"    v{i} = {atom.expression}" for i, atom in enumerate(atoms)]
    groups: dict[str, list[str]] = {}
    for i, atom in enumerate(atoms):
        if atom.key.__class__ is str:
            lines.append(f"    extra[{atom.key!r}] = v{i}")
        else:
            groups.setdefault(atom.key[0], []).append(f"{atom.key[1]!r}: v{i}")
    lines += [f"    extra[{kind!r}] = {{{', '.join(members)}}}" for kind, members in groups.items()]
    lines.append(f"    return ({''.join(f'v{i}, ' for i in range(len(atoms)))})")
    namespace: dict[str, Any] = dict(_FILL_GLOBALS)
    namespace.update(atom.constant for atom in atoms if atom.constant is not None)
    # Only our own expressions reach exec: header names are data in the namespace, and
    # reach the code only as ``extra`` keys quoted by repr (tokens, by FORMAT_RE).
    exec(compile("\n".join(lines), "<access log format>", "exec"), namespace)
    fill: _Fill = namespace["fill"]
    return fill


_PID: list[Optional[tuple[int, str]]] = [None]


def _pid_text() -> str:
    pid = os.getpid()
    cached = _PID[0]
    if cached is None or cached[0] != pid:  # a fork (gunicorn) changes it
        cached = _PID[0] = (pid, f"<{pid}>")
    return cached[1]


_STATUS_TEXTS: Final = {code: str(code) for code in range(100, 600)}


def _first_line(request: "BaseRequest") -> str:
    version = request.version
    if version is HttpVersion11:  # the parser's own object: no tuple hashed or compared
        tail = " HTTP/1.1"
    elif version == HttpVersion10:
        tail = " HTTP/1.0"
    else:
        tail = f" HTTP/{version.major}.{version.minor}"
    return f"{request.method} {request.path_qs}{tail}"


# What the atoms' expressions may use besides their three arguments.
_FILL_GLOBALS: Final = {
    "_local_time": _local_time,
    "time_mod": time_mod,
    "_pid_text": _pid_text,
    "_first_line": _first_line,
    "_STATUS_TEXTS": _STATUS_TEXTS,
    "_request_id_var": _request_id_var,
    "_environ": os.environ,
}
