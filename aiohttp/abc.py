"""The extension contracts: routers, match info, views, access loggers, writers, cookie jars."""

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator, Iterable, Sized
from http.cookies import BaseCookie, Morsel
from typing import TYPE_CHECKING, Any, Optional, TypedDict

from multidict import CIMultiDict
from yarl import URL

from .typedefs import LooseCookies

if TYPE_CHECKING:
    from .web_app import Application
    from .web_exceptions import HTTPException
    from .web_request import BaseRequest, Request
    from .web_response import StreamResponse

__all__ = (
    "AbstractAccessLogger",
    "AbstractAsyncAccessLogger",
    "AbstractCookieJar",
    "AbstractMatchInfo",
    "AbstractResolver",
    "AbstractRouter",
    "AbstractStreamWriter",
    "AbstractView",
    "ResolveResult",
)


class AbstractRouter(ABC):
    def __init__(self) -> None:
        self._frozen = False

    def post_init(self, app: "Application") -> None:
        """Called once the application is ready to give the router its back reference."""

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        """Forbid further changes."""
        self._frozen = True

    @abstractmethod
    async def resolve(self, request: "Request") -> "AbstractMatchInfo":
        """Return the match info for ``request``."""


class AbstractMatchInfo(ABC):
    __slots__ = ()

    @property
    @abstractmethod
    def handler(self) -> Callable[["Request"], Awaitable["StreamResponse"]]:
        """The handler to call."""

    @property
    @abstractmethod
    def expect_handler(self) -> Callable[["Request"], Awaitable[Optional["StreamResponse"]]]:
        """The handler for ``Expect:`` requests."""

    @property
    @abstractmethod
    def http_exception(self) -> Optional["HTTPException"]:
        """The HTTP exception to raise instead of calling the handler (404, 405), if any."""

    @abstractmethod
    def get_info(self) -> dict[str, Any]:
        """A dict describing the matched resource."""

    @property
    @abstractmethod
    def apps(self) -> tuple["Application", ...]:
        """The applications the request went through, outermost first."""

    @abstractmethod
    def add_app(self, app: "Application") -> None:
        """Add an application to the front of ``apps``."""

    @abstractmethod
    def freeze(self) -> None:
        """Forbid further changes."""


class AbstractView(ABC):
    """A class-based view: ``await View(request)`` handles the request."""

    def __init__(self, request: "Request") -> None:
        self._request = request

    @property
    def request(self) -> "Request":
        return self._request

    @abstractmethod
    def __await__(self) -> Generator[None, None, "StreamResponse"]:
        """Run the view."""


class ResolveResult(TypedDict):
    hostname: str
    host: str
    port: int
    family: int
    proto: int
    flags: int


class AbstractResolver(ABC):
    @abstractmethod
    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
        """Resolve a host name to addresses."""

    @abstractmethod
    async def close(self) -> None:
        """Release resources."""


ClearCookiePredicate = Callable[["Morsel[str]"], bool]


class AbstractCookieJar(Sized, Iterable["Morsel[str]"]):
    @property
    @abstractmethod
    def quote_cookie(self) -> bool:
        """Whether cookie values are quoted."""

    @abstractmethod
    def clear(self, predicate: Optional[ClearCookiePredicate] = None) -> None:
        """Remove all cookies, or those the predicate selects."""

    @abstractmethod
    def clear_domain(self, domain: str) -> None:
        """Remove the cookies of a domain and its subdomains."""

    @abstractmethod
    def update_cookies(self, cookies: LooseCookies, response_url: URL = URL()) -> None:
        """Store cookies a response set."""

    @abstractmethod
    def filter_cookies(self, request_url: URL) -> "BaseCookie[str]":
        """The cookies to send to ``request_url``."""


class AbstractStreamWriter(ABC):
    """Writes an HTTP message body."""

    buffer_size: int = 0
    output_size: int = 0
    length: Optional[int] = 0

    @abstractmethod
    async def write(self, chunk: bytes) -> None:
        """Write a chunk to the stream."""

    @abstractmethod
    async def write_eof(self, chunk: bytes = b"") -> None:
        """Finish the message."""

    @abstractmethod
    async def drain(self) -> None:
        """Flow control: wait until the peer has taken enough."""

    @abstractmethod
    def enable_compression(self, encoding: str = "deflate", strategy: int = 0) -> None:
        """Compress the body with ``encoding``."""

    @abstractmethod
    def enable_chunking(self) -> None:
        """Use chunked transfer coding."""

    @abstractmethod
    async def write_headers(self, status_line: str, headers: "CIMultiDict[str]") -> None:
        """Write the status line and headers."""

    def send_headers(self) -> None:
        """Send buffered headers at once (optional for custom writers)."""


class AbstractAccessLogger(ABC):
    """The access logger contract: ``log()`` is called once per finished request."""

    __slots__ = ("log_format", "logger")

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        self.logger = logger
        self.log_format = log_format

    @abstractmethod
    def log(self, request: "BaseRequest", response: "StreamResponse", time: float) -> None:
        """Emit the line for ``request``; ``time`` is the handling time in seconds."""

    @property
    def enabled(self) -> bool:
        """False when the logger would drop the line, so nothing is formatted."""
        return True


class AbstractAsyncAccessLogger(ABC):
    """An access logger whose ``log()`` is a coroutine."""

    __slots__ = ()

    @abstractmethod
    async def log(self, request: "BaseRequest", response: "StreamResponse", request_start: float) -> None:
        """Emit the line for ``request``."""

    @property
    def enabled(self) -> bool:
        return True
