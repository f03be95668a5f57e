"""Request-id correlation: one id per request, visible to every log line it causes.

The server decides the id before the first middleware runs and keeps it in the
``request_id`` context variable for the whole request task, including the access log
line. Importing this module installs nothing.
"""

import os
import re
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Final, Optional

from multidict import CIMultiDictProxy, istr

__all__ = (
    "REQUEST_ID_HEADER",
    "RequestIdSettings",
    "generate_request_id",
    "request_id",
    "sequential_request_id_factory",
    "settings_from_environ",
    "uuid4_request_id",
    "valid_request_id",
)

#: The id of the request being served in this context; None outside a request.
request_id: ContextVar[Optional[str]] = ContextVar("request_id", default=None)

REQUEST_ID_HEADER: Final = istr("X-Request-ID")

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
    """A random UUID4 in its canonical 36-character form."""
    return str(uuid.uuid4())


def sequential_request_id_factory(prefix: Optional[str] = None) -> Callable[[], str]:
    """A factory of ``<prefix>-<n>`` ids; the prefix is random per process unless given."""
    state = {"prefix": prefix or generate_request_id()[:8], "n": 0, "pid": os.getpid()}

    def next_id() -> str:
        pid = os.getpid()
        if pid != state["pid"]:
            state.update(prefix=generate_request_id()[:8], n=0, pid=pid)
        state["n"] += 1
        return f"{state['prefix']}-{state['n']}"

    return next_id


# Accepts nginx's 32-hex $request_id, UUIDs and our own ids; nothing that could
# inject into a log line or a header.
_VALID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def valid_request_id(value: str) -> bool:
    """True when an incoming id is safe to adopt."""
    return _VALID_RE.fullmatch(value) is not None


class RequestIdSettings:
    """How the server decides, adopts and echoes request ids.

    ``header``: the incoming header an id may be adopted from.
    ``response_header``: the header the id is echoed in; None turns the echo off.
    ``factory``: makes a fresh id.
    ``trust``: ``"proxies"`` adopts only from peers the trusted-proxy setting accepts,
    ``"always"`` from anyone, ``"never"`` from nobody.
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
        self.header = istr(header)
        self.response_header = None if response_header is None else istr(response_header)
        self.factory = factory
        self.trust = trust

    def choose(self, headers: Optional["CIMultiDictProxy[str]"], peer_trusted: bool) -> str:
        """The id for a request: an adopted valid one, else a fresh one."""
        if headers is not None and self.trust != "never" and (peer_trusted or self.trust == "always"):
            incoming = headers.get(self.header)
            if incoming is not None and valid_request_id(incoming):
                return incoming
        return self.factory()

    def __repr__(self) -> str:
        return (
            f"RequestIdSettings(header={self.header!r}, response_header={self.response_header!r}, "
            f"trust={self.trust!r})"
        )


def settings_from_environ(environ: Mapping[str, str]) -> Optional[RequestIdSettings]:
    """The switch for deployments: ``AIOHTTP_REQUEST_ID=1`` turns request ids on.

    ``AIOHTTP_REQUEST_ID_HEADER`` names the incoming header, ``AIOHTTP_REQUEST_ID_RESPONSE_HEADER``
    the echoed one (empty: no echo), ``AIOHTTP_REQUEST_ID_TRUST`` is proxies/always/never.
    """
    switch = environ.get("AIOHTTP_REQUEST_ID", "").strip().lower()
    if switch in ("", "0", "false", "no", "off"):
        return None
    if switch not in ("1", "true", "yes", "on"):
        raise ValueError(f"AIOHTTP_REQUEST_ID must be 1/true/yes/on or 0/false/no/off, not {switch!r}")
    header = environ.get("AIOHTTP_REQUEST_ID_HEADER") or REQUEST_ID_HEADER
    response_header: Optional[str] = environ.get("AIOHTTP_REQUEST_ID_RESPONSE_HEADER", header)
    return RequestIdSettings(
        header=header,
        response_header=response_header or None,
        trust=environ.get("AIOHTTP_REQUEST_ID_TRUST", "proxies"),
    )
