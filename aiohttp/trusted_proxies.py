"""Trusted proxies: believe ``Forwarded`` / ``X-Forwarded-*`` only from peers we trust.

Nothing is trusted by default. A trusted peer's forwarding headers decide
``request.remote`` (and so the access log's ``%a``), ``request.scheme`` and
``request.host``. With several ``X-Forwarded-For`` hops the client is the right-most
address that is not itself a trusted proxy, so a client cannot forge its way past the
proxies by prepending addresses.
"""

import ipaddress
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Optional, Union

from multidict import CIMultiDictProxy

from . import hdrs

if TYPE_CHECKING:
    from .web_request import BaseRequest

__all__ = ("TrustedProxies",)

_Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_HOST_RE: Final = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")
_FOR_RE: Final = re.compile(r'(?i)(?:^|;)\s*for="?\[?([^\]";,]+)\]?(?::\d+)?"?')
_PROTO_RE: Final = re.compile(r'(?i)(?:^|;)\s*proto="?(https?)"?')
_FHOST_RE: Final = re.compile(r'(?i)(?:^|;)\s*host="?([^";,]+)"?')


class TrustedProxies:
    """Which peers may tell us who the client is.

    ``trusted`` holds IP addresses and CIDR networks (``"127.0.0.1"``, ``"10.0.0.0/8"``,
    ``"::1"``), ``"unix"`` for peers on a unix socket, or ``"*"`` for every peer. A string is
    split on commas, as in gunicorn's ``forwarded_allow_ips``.
    """

    __slots__ = ("_all", "_networks", "_unix")

    def __init__(self, trusted: Union[str, Iterable[str]]) -> None:
        if isinstance(trusted, str):
            items = [t.strip() for t in trusted.split(",")]
        else:
            items = [str(t).strip() for t in trusted]
        self._all = False
        self._unix = False
        networks: list[_Network] = []
        for item in items:
            if not item:
                continue
            if item == "*":
                self._all = True
            elif item == "unix":
                self._unix = True
            else:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    raise ValueError(
                        f"trusted_proxies: {item!r} is not an IP address, a CIDR network, 'unix' or '*'"
                    ) from None
        self._networks = tuple(networks)

    def __repr__(self) -> str:
        parts = [str(n) for n in self._networks]
        if self._unix:
            parts.append("unix")
        if self._all:
            parts.append("*")
        return f"TrustedProxies({', '.join(parts)!r})"

    def trusts_address(self, address: str) -> bool:
        """True when ``address`` (an IP string) is one of the trusted proxies."""
        if self._all:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self._networks)

    def trusts_peer(self, peername: Any) -> bool:
        """True when the connection's peer (asyncio ``peername``) is trusted."""
        if isinstance(peername, (tuple, list)):
            return self.trusts_address(str(peername[0]))
        return self._all or self._unix  # unix-socket peers have no address

    def trusts_protocol(self, protocol: Any) -> bool:
        """The ``peer_trusted`` hook of the request handler."""
        return self.trusts_peer(protocol.get_extra_info("peername"))

    def client_address(self, hops: list[str]) -> Optional[str]:
        """The right-most hop that is not a trusted proxy (the left-most if all are)."""
        for hop in reversed(hops):
            if not self.trusts_address(hop):
                return hop
        return hops[0] if hops else None

    def apply(self, request: "BaseRequest") -> None:
        """Set remote, scheme and host of a request that came through a trusted peer."""
        headers: CIMultiDictProxy[str] = request.headers
        cache = request._cache
        forwarded = headers.getall(hdrs.FORWARDED, ())
        if forwarded:
            # Each proxy appends one element; the element naming the client was written by
            # the trusted proxy that accepted the client's connection, so its proto and
            # host are believable too.
            elements = [e for value in forwarded for e in value.split(",")]
            chosen = elements[0]
            for element in reversed(elements):
                match = _FOR_RE.search(element)
                if match is not None and not self.trusts_address(match.group(1).strip()):
                    chosen = element
                    break
            match = _FOR_RE.search(chosen)
            if match is not None:
                cache["remote"] = match.group(1).strip()
            proto = _PROTO_RE.search(chosen)
            if proto:
                cache["scheme"] = proto.group(1).lower()
            host = _FHOST_RE.search(chosen)
            if host and _HOST_RE.fullmatch(host.group(1)):
                cache["host"] = host.group(1)
            return
        xff = headers.getall(hdrs.X_FORWARDED_FOR, ())
        if xff:
            hops = [h.strip() for value in xff for h in value.split(",") if h.strip()]
            client = self.client_address(hops)
            if client is not None:
                cache["remote"] = client
        proto_values = headers.getall(hdrs.X_FORWARDED_PROTO, ())
        if proto_values:
            proto_value = proto_values[-1].split(",")[-1].strip().lower()
            if proto_value in ("http", "https"):
                cache["scheme"] = proto_value
        host_values = headers.getall(hdrs.X_FORWARDED_HOST, ())
        if host_values:
            host_value = host_values[-1].split(",")[-1].strip()
            if _HOST_RE.fullmatch(host_value):
                cache["host"] = host_value


def make_trusted_proxies(value: Union[str, Iterable[str], TrustedProxies, None]) -> Optional[TrustedProxies]:
    """Normalise the ``trusted_proxies`` setting; None and empty mean trust nobody."""
    if value is None or isinstance(value, TrustedProxies):
        return value
    if isinstance(value, str) and not value.strip():
        return None
    if not isinstance(value, (str, Iterable)):
        raise TypeError(f"trusted_proxies must be a str, an iterable of str or TrustedProxies, not {value!r}")
    proxies = TrustedProxies(value)
    return proxies
