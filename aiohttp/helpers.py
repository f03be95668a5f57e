"""Small helpers shared by the server and the client: header parsing, dates, auth."""

import asyncio
import base64
import binascii
import collections
import datetime
import enum
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate
from typing import Any, Final, Generic, NamedTuple, Optional, TypeVar, Union, overload

import attr
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from . import hdrs

__all__ = ("BasicAuth", "ChainMapProxy", "ETag", "RequestKey", "ResponseKey", "reify")

_T = TypeVar("_T")
_S = TypeVar("_S")


class _Sentinel(enum.Enum):
    sentinel = enum.auto()

    def __repr__(self) -> str:
        return "<sentinel>"


sentinel: Final = _Sentinel.sentinel

NO_EXTENSIONS = True
DEBUG = False

# RFC 9110 5.6.2: token characters.
TOKEN_RE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED_PAIR_RE = re.compile(r"\\([\t !-~])")


class reify(Generic[_T]):
    """A property computed on first access and cached on the instance's ``_cache``."""

    def __init__(self, wrapped: Callable[[Any], _T]) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.name = wrapped.__name__

    def __get__(self, inst: Any, owner: Any) -> _T:
        if inst is None:
            return self  # type: ignore[return-value]
        try:
            return inst._cache[self.name]
        except KeyError:
            val = self.wrapped(inst)
            inst._cache[self.name] = val
            return val

    def __set__(self, inst: Any, value: Any) -> None:
        raise AttributeError("reified property is read-only")


class MimeType(NamedTuple):
    type: str
    subtype: str
    suffix: str
    parameters: "MultiDictProxy[str]"


def parse_mimetype(mimetype: str) -> MimeType:
    """Split ``type/subtype+suffix; k=v`` into its parts (lower-cased names)."""
    if not mimetype:
        return MimeType(type="", subtype="", suffix="", parameters=MultiDictProxy(MultiDict()))
    parts = mimetype.split(";")
    params: MultiDict[str] = MultiDict()
    for item in parts[1:]:
        if not item:
            continue
        key, _, value = item.partition("=")
        params.add(key.lower().strip(), value.strip(' "'))
    fulltype = parts[0].strip().lower()
    if fulltype == "*":
        fulltype = "*/*"
    mtype, _, stype = fulltype.partition("/")
    stype, _, suffix = stype.partition("+")
    return MimeType(type=mtype, subtype=stype, suffix=suffix, parameters=MultiDictProxy(params))


def parse_content_type(raw: str) -> tuple[str, dict[str, str]]:
    """Return the lower-cased media type and its parameters."""
    mtype, _, rest = raw.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, sep, value = item.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
        params[key.strip().lower()] = value
    return mtype.strip().lower(), params


class HeadersMixin:
    """Content-Type, charset and Content-Length views over ``self._headers``."""

    _headers: Union["CIMultiDict[str]", "CIMultiDictProxy[str]"]
    _content_type: Optional[str] = None
    _content_dict: Optional[dict[str, str]] = None
    _stored_content_type: Any = sentinel

    def _parse_content_type(self, raw: Optional[str]) -> None:
        self._stored_content_type = raw
        if raw is None:
            self._content_type = "application/octet-stream"
            self._content_dict = {}
        else:
            self._content_type, self._content_dict = parse_content_type(raw)

    @property
    def content_type(self) -> str:
        """The media type without parameters, ``application/octet-stream`` if absent."""
        raw = self._headers.get(hdrs.CONTENT_TYPE)
        if self._stored_content_type != raw:
            self._parse_content_type(raw)
        assert self._content_type is not None
        return self._content_type

    @property
    def charset(self) -> Optional[str]:
        """The ``charset`` parameter of Content-Type, or None."""
        raw = self._headers.get(hdrs.CONTENT_TYPE)
        if self._stored_content_type != raw:
            self._parse_content_type(raw)
        assert self._content_dict is not None
        return self._content_dict.get("charset")

    @property
    def content_length(self) -> Optional[int]:
        """Content-Length as an int, or None when absent."""
        value = self._headers.get(hdrs.CONTENT_LENGTH)
        return None if value is None else int(value)


@attr.s(auto_attribs=True, frozen=True, slots=True)
class ETag:
    value: str
    is_weak: bool = False


ETAG_ANY: Final = "*"
_ETAGC = r"[!\x23-\x7E\x80-\xff]+"
_QUOTED_ETAG = rf'(W/)?"({_ETAGC})"'
QUOTED_ETAG_RE: Final = re.compile(_QUOTED_ETAG)
LIST_QUOTED_ETAG_RE: Final = re.compile(rf"({_QUOTED_ETAG})(?:\s*,\s*|$)|(.)")
ETAG_VALUE_RE: Final = re.compile(rf"^{_ETAGC}$")


def validate_etag_value(value: str) -> None:
    if value != ETAG_ANY and not ETAG_VALUE_RE.fullmatch(value):
        raise ValueError(f"Value {value!r} is not a valid etag. Maybe it contains '\"'?")


def parse_http_date(date_str: Optional[str]) -> Optional[datetime.datetime]:
    """Parse an HTTP date into an aware UTC datetime; None if absent or invalid."""
    if date_str is not None:
        timetuple = parsedate(date_str)
        if timetuple is not None:
            try:
                return datetime.datetime(*timetuple[:6], tzinfo=datetime.UTC)
            except ValueError:
                pass
    return None


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_http_date(ts: float) -> str:
    """Format a POSIX timestamp as an IMF-fixdate (RFC 9110 5.6.7)."""
    y, mo, d, h, mi, s, wd, _, _ = time.gmtime(ts)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (_WEEKDAYS[wd], d, _MONTHS[mo], y, h, mi, s)


class BasicAuth(collections.namedtuple("BasicAuth", ["login", "password", "encoding"])):
    """HTTP Basic credentials."""

    login: str
    password: str
    encoding: str

    def __new__(cls, login: str, password: str = "", encoding: str = "latin1") -> "BasicAuth":
        if login is None:
            raise ValueError("None is not allowed as login value")
        if password is None:
            raise ValueError("None is not allowed as password value")
        if ":" in login:
            raise ValueError('A ":" is not allowed in login (RFC 1945#section-11.1)')
        return super().__new__(cls, login, password, encoding)

    @classmethod
    def decode(cls, auth_header: str, encoding: str = "latin1") -> "BasicAuth":
        """Build credentials from an ``Authorization: Basic ...`` value."""
        try:
            auth_type, encoded = auth_header.split(" ", 1)
        except ValueError:
            raise ValueError("Could not parse authorization header.")
        if auth_type.lower() != "basic":
            raise ValueError("Unknown authorization method %s" % auth_type)
        try:
            decoded = base64.b64decode(encoded.encode("ascii"), validate=True).decode(encoding)
        except binascii.Error:
            raise ValueError("Invalid base64 encoding.")
        try:
            username, password = decoded.split(":", 1)
        except ValueError:
            raise ValueError("Invalid credentials.")
        return cls(username, password, encoding=encoding)

    @classmethod
    def from_url(cls, url: Any, *, encoding: str = "latin1") -> Optional["BasicAuth"]:
        """Credentials embedded in a yarl URL, or None."""
        if url.raw_user is None and url.raw_password is None:
            return None
        return cls(url.user or "", url.password or "", encoding=encoding)

    def encode(self) -> str:
        """The ``Authorization`` header value."""
        creds = f"{self.login}:{self.password}".encode(self.encoding)
        return "Basic %s" % base64.b64encode(creds).decode(self.encoding)


class ChainMapProxy(Mapping[Any, Any]):
    """A read-only view over several mappings, first match wins."""

    __slots__ = ("_maps",)

    def __init__(self, maps: Any) -> None:
        self._maps = tuple(maps)

    def __init_subclass__(cls) -> None:
        raise TypeError(f"Inheritance class {cls.__name__} from ChainMapProxy is forbidden")

    def __getitem__(self, key: Any) -> Any:
        for mapping in self._maps:
            try:
                return mapping[key]
            except KeyError:
                pass
        raise KeyError(key)

    @overload
    def get(self, key: Any) -> Any: ...
    @overload
    def get(self, key: Any, default: _S) -> Any: ...
    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __len__(self) -> int:
        return len(set().union(*self._maps))

    def __iter__(self) -> Iterator[Any]:
        seen: dict[Any, None] = {}
        for mapping in reversed(self._maps):
            seen.update(dict.fromkeys(mapping))
        return iter(seen)

    def __contains__(self, key: object) -> bool:
        return any(key in m for m in self._maps)

    def __bool__(self) -> bool:
        return any(self._maps)

    def __repr__(self) -> str:
        return "ChainMapProxy({})".format(", ".join(map(repr, self._maps)))


def set_result(fut: "asyncio.Future[_T]", result: _T) -> None:
    if not fut.done():
        fut.set_result(result)


def set_exception(fut: "asyncio.Future[Any]", exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def quoted_string(content: str) -> str:
    """Quote ``content`` as an RFC 9110 quoted-string."""
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


def remember(cache: dict[_S, _T], key: _S, value: _T, limit: int) -> _T:
    """Store ``value`` under ``key`` in a cache kept to ``limit`` entries; return ``value``.

    A full cache is emptied rather than pruned: the caches this serves hold what a server
    sees over and over (paths, hosts, heads), which refills them at once.
    """
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


def must_be_empty_body(method: str, code: int) -> bool:
    """True when a response to ``method`` with ``code`` never carries a body."""
    return code in (204, 304) or 100 <= code < 200 or method == hdrs.METH_HEAD


def should_remove_content_length(method: str, code: int) -> bool:
    """True when Content-Length must not be sent (RFC 9110 8.6)."""
    return code in (204, 304) or 100 <= code < 200 or (code // 100 == 2 and method == hdrs.METH_CONNECT)


class _TypedKey(Generic[_T]):
    """A key whose value type a type checker knows; identity, not name, makes it unique."""

    __slots__ = ("__orig_class__", "_name", "_t")

    def __init__(self, name: str, t: Optional[type[_T]] = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {name!r}")
        # Qualify the name with the defining module, so keys read well in reprs.
        frame = sys._getframe(1)
        while frame.f_back is not None and frame.f_globals.get("__name__") in ("typing", __name__):
            frame = frame.f_back
        module = frame.f_globals.get("__name__", "")
        self._name = f"{module}.{name}" if module and module != "__main__" else name
        self._t = t

    @property
    def name(self) -> str:
        return self._name

    def __lt__(self, other: object) -> bool:
        if isinstance(other, _TypedKey):
            return self._name < other._name
        return True  # typed keys sort before plain string keys

    def __repr__(self) -> str:
        t = self._t
        if t is None:
            orig = getattr(self, "__orig_class__", None)
            args = getattr(orig, "__args__", None)
            t = args[0] if args else None
        if t is None:
            t_repr = "<<Unknown>>"
        elif isinstance(t, type):
            t_repr = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
        else:
            t_repr = repr(t)
        return f"<{self.__class__.__name__}({self._name}, type={t_repr})>"


class RequestKey(_TypedKey[_T]):
    """A typed key for values stored on a request: ``request[KEY] = value``."""

    __slots__ = ()


class ResponseKey(_TypedKey[_T]):
    """A typed key for values stored on a response: ``response[KEY] = value``."""

    __slots__ = ()


def parse_accept_encoding(header: str) -> frozenset[str]:
    """Content codings an ``Accept-Encoding`` value accepts (quality above zero), lower-cased.

    ``*`` is kept as a member, so callers can decide what a wildcard allows.
    """
    codings: set[str] = set()
    refused: set[str] = set()
    for item in header.lower().split(","):
        name, _, params = item.partition(";")
        name = name.strip()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        (codings if quality > 0 else refused).add(name)
    if "*" in codings:
        codings.update(c for c in ("br", "gzip", "deflate") if c not in refused)
    return frozenset(codings - refused)
