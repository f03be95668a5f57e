"""Host name resolution for the client's TCP connector."""

import asyncio
import socket
from typing import Any, Optional

from .abc import AbstractResolver, ResolveResult

__all__ = ("ResolveResult", "AbstractResolver", "ThreadedResolver", "AsyncResolver", "DefaultResolver")

_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class ThreadedResolver(AbstractResolver):
    """Resolves through ``loop.getaddrinfo`` (the system resolver, in a thread)."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self._loop = loop

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        loop = self._loop or asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family, flags=socket.AI_ADDRCONFIG
        )
        results: list[ResolveResult] = []
        for fam, _, proto, _, address in infos:
            resolved_host: Any
            port_num: Any
            if fam == socket.AF_INET6:
                if len(address) < 3:
                    continue  # IPv6 is not supported by this Python build
                if address[3]:
                    # A link-local address needs its scope id, which getnameinfo adds.
                    resolved_host, _port = await loop.getnameinfo(address, _NUMERIC)
                    port_num = int(_port)
                else:
                    resolved_host, port_num = address[0], address[1]
            elif fam == socket.AF_INET:
                resolved_host, port_num = address[0], address[1]
            else:
                continue
            results.append(
                ResolveResult(
                    hostname=host,
                    host=str(resolved_host),
                    port=int(port_num),
                    family=fam,
                    proto=proto,
                    flags=_NUMERIC,
                )
            )
        if not results:
            raise OSError(socket.EAI_NONAME, "DNS lookup failed")
        return results

    async def close(self) -> None:
        """Nothing to release: lookups run in the loop's default executor."""


def AsyncResolver(*args: Any, **kwargs: Any) -> AbstractResolver:
    """aiodns-based resolver: not bundled; raises a clear error."""
    raise RuntimeError("AsyncResolver needs aiodns, which aiohttp-deploy does not bundle")


DefaultResolver = ThreadedResolver
