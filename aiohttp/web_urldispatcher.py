"""URL routing: resources, routes, match info, class-based views and the UrlDispatcher.

Theory of operation
-------------------
A resource owns a path shape (plain, ``{name}`` dynamic, a prefix for static files or a
sub-application) and the routes (one per HTTP method) registered on it. The dispatcher
keeps an index from a path prefix to the resources that start with it: plain paths are
keyed by the whole path, dynamic ones by the fixed part before the first ``{``, prefix
resources by their prefix. Resolving walks the request path from the full path up to
``/`` one segment at a time and asks only the resources under each key, so an exact
path is one dict lookup and a dynamic one tries a handful of precompiled patterns.

A resource whose path matches but whose methods do not contributes its methods to a
405 answer; if nothing matches the path at all the answer is 404. Either way the
result is a match info whose handler raises that exception, so middlewares still run.
"""

import abc
import asyncio
import base64
import hashlib
import html
import inspect
import keyword
import os
import re
import warnings
from collections.abc import (
    Awaitable,
    Callable,
    Container,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NoReturn, Optional, Union, cast
from urllib.parse import quote, unquote

from yarl import URL

from . import hdrs
from .abc import AbstractMatchInfo, AbstractRouter, AbstractView
from .http_writer import HttpVersion11
from .typedefs import Handler, PathLike
from .web_exceptions import (
    HTTPException,
    HTTPExpectationFailed,
    HTTPForbidden,
    HTTPMethodNotAllowed,
    HTTPNotFound,
)
from .web_response import Response, StreamResponse

if TYPE_CHECKING:
    from .web_app import Application
    from .web_request import Request
    from .web_routedef import AbstractRouteDef

__all__ = (
    "UrlDispatcher",
    "UrlMappingMatchInfo",
    "AbstractResource",
    "Resource",
    "PlainResource",
    "DynamicResource",
    "AbstractRoute",
    "ResourceRoute",
    "StaticResource",
    "PrefixResource",
    "PrefixedSubAppResource",
    "MatchedSubAppResource",
    "AbstractRuleMatching",
    "Domain",
    "MaskDomain",
    "SystemRoute",
    "MatchInfoError",
    "View",
    "ResourcesView",
    "RoutesView",
)

_ExpectHandler = Callable[["Request"], Awaitable[Optional[StreamResponse]]]
_Resolve = tuple[Optional["UrlMappingMatchInfo"], set[str]]

#: The query key ``add_static(append_version=True)`` puts the content hash under.
VERSION_KEY: Final = "v"
_METHOD_RE: Final = re.compile(r"^[0-9A-Za-z!#\$%&'\*\+\-\.\^_`\|~]+$")
_NAME_SPLIT_RE: Final = re.compile(r"[.:-]")
_IDENTIFIER_RE: Final = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_DEFAULT_SEGMENT_RE: Final = "[^{}/]+"


async def _default_expect_handler(request: "Request") -> None:
    """Accept ``Expect: 100-continue``; refuse any other expectation with 417.

    The ``100 Continue`` itself is sent by the connection when the handler first reads
    the body, so a handler that refuses the request (413, 401...) never sends it.
    """
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version == HttpVersion11 and expect.lower() != "100-continue":
        raise HTTPExpectationFailed(text=f"Unknown Expect: {expect}")


def _unquote_part(value: str) -> str:
    """Decode what ``URL.path_safe`` left encoded (``%2F`` and ``%25``)."""
    return unquote(value) if "%" in value else value


def _quote_part(value: Union[str, int]) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"url_for() parts must be str or int, got {value!r}")
    return URL.build(path=str(value), encoded=False).raw_path


def _check_handler(handler: Any) -> Handler:
    """Accept async callables and View classes; wrap plain callables with a warning."""
    if isinstance(handler, type) and issubclass(handler, AbstractView):
        return cast(Handler, handler)
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - async callable objects
    ):
        return cast(Handler, handler)
    if not callable(handler):
        raise TypeError(f"handler must be an async function or a web.View subclass, got {handler!r}")
    warnings.warn(
        f"Bare functions are deprecated as web handlers, use async ones: {handler!r}",
        DeprecationWarning,
        stacklevel=4,
    )

    @wraps(handler)
    async def handler_wrapper(request: "Request") -> StreamResponse:
        result = handler(request)
        if inspect.isawaitable(result):
            result = await result
        return cast(StreamResponse, result)

    return handler_wrapper


# -- routes -------------------------------------------------------------------


class AbstractRoute(abc.ABC):
    """A handler bound to an HTTP method (``*`` for any) on a resource."""

    __slots__ = ("_expect_handler", "_handler", "_method", "_resource")

    def __init__(
        self,
        method: str,
        handler: Any,
        *,
        expect_handler: Optional[_ExpectHandler] = None,
        resource: Optional["AbstractResource"] = None,
    ) -> None:
        if not isinstance(method, str):
            raise TypeError(f"method must be a str, got {method!r}")
        method = method.upper()
        if method != hdrs.METH_ANY and not _METHOD_RE.match(method):
            raise ValueError(f"{method!r} is not an allowed HTTP method")
        if expect_handler is None:
            expect_handler = _default_expect_handler
        elif not inspect.iscoroutinefunction(expect_handler):
            raise TypeError(f"expect_handler must be an async function, got {expect_handler!r}")
        self._method = method
        self._handler = _check_handler(handler)
        self._expect_handler = expect_handler
        self._resource = resource

    @property
    def method(self) -> str:
        return self._method

    @property
    def handler(self) -> Handler:
        return self._handler

    @property
    @abc.abstractmethod
    def name(self) -> Optional[str]:
        """The resource's name, if any."""

    @property
    def resource(self) -> Optional["AbstractResource"]:
        return self._resource

    @abc.abstractmethod
    def get_info(self) -> dict[str, Any]:
        """A dict describing the route."""

    @abc.abstractmethod
    def url_for(self, *args: str, **kwargs: str) -> URL:
        """The URL of this route."""

    async def handle_expect_header(self, request: "Request") -> Optional[StreamResponse]:
        return await self._expect_handler(request)


class ResourceRoute(AbstractRoute):
    """A route on a resource of a UrlDispatcher."""

    __slots__ = ()

    def __init__(
        self,
        method: str,
        handler: Any,
        resource: "AbstractResource",
        *,
        expect_handler: Optional[_ExpectHandler] = None,
    ) -> None:
        super().__init__(method, handler, expect_handler=expect_handler, resource=resource)

    def __repr__(self) -> str:
        return f"<ResourceRoute [{self.method}] {self._resource} -> {self.handler!r}"

    @property
    def name(self) -> Optional[str]:
        return None if self._resource is None else self._resource.name

    def url_for(self, *args: str, **kwargs: str) -> URL:
        assert self._resource is not None
        return self._resource.url_for(*args, **kwargs)

    def get_info(self) -> dict[str, Any]:
        assert self._resource is not None
        return self._resource.get_info()


class SystemRoute(AbstractRoute):
    """The route of a failed resolution: its handler raises the 404/405."""

    __slots__ = ("_http_exception",)

    def __init__(self, http_exception: HTTPException) -> None:
        super().__init__(hdrs.METH_ANY, self._handle)
        self._http_exception = http_exception

    def url_for(self, *args: str, **kwargs: str) -> NoReturn:
        raise RuntimeError(".url_for() is not allowed for SystemRoute")

    @property
    def name(self) -> None:
        return None

    def get_info(self) -> dict[str, Any]:
        return {"http_exception": self._http_exception}

    async def _handle(self, request: "Request") -> NoReturn:
        raise self._http_exception

    @property
    def status(self) -> int:
        return self._http_exception.status

    @property
    def reason(self) -> str:
        return self._http_exception.reason

    def __repr__(self) -> str:
        return f"<SystemRoute {self.status}: {self.reason}>"


# -- match info ---------------------------------------------------------------


class UrlMappingMatchInfo(dict[str, str], AbstractMatchInfo):
    """The result of routing: the dynamic path parts (as a dict), the route, the apps."""

    __slots__ = ("_apps", "_current_app", "_frozen", "_route")

    def __init__(self, match_dict: dict[str, str], route: AbstractRoute) -> None:
        super().__init__(match_dict)
        self._route = route
        self._apps: list[Application] = []
        self._current_app: Optional[Application] = None
        self._frozen = False

    @property
    def handler(self) -> Handler:
        return self._route.handler

    @property
    def route(self) -> AbstractRoute:
        return self._route

    @property
    def expect_handler(self) -> _ExpectHandler:
        return self._route.handle_expect_header

    @property
    def http_exception(self) -> Optional[HTTPException]:
        return None

    def get_info(self) -> dict[str, Any]:
        return self._route.get_info()

    @property
    def apps(self) -> tuple["Application", ...]:
        return tuple(self._apps)

    def add_app(self, app: "Application") -> None:
        if self._frozen:
            raise RuntimeError("Cannot change apps stack after .freeze() call")
        if self._current_app is None:
            self._current_app = app
        self._apps.insert(0, app)

    @property
    def current_app(self) -> "Application":
        app = self._current_app
        assert app is not None
        return app

    @current_app.setter
    def current_app(self, app: "Application") -> None:
        if app not in self._apps:
            raise RuntimeError(f"Expected one of the following apps {self._apps!r}, got {app!r}")
        self._current_app = app

    @contextmanager
    def set_current_app(self, app: "Application") -> Generator[None, None, None]:
        """Make ``app`` the current app for the duration of the block."""
        prev = self._current_app
        self.current_app = app
        try:
            yield
        finally:
            self._current_app = prev

    def freeze(self) -> None:
        self._frozen = True

    def __repr__(self) -> str:
        return f"<MatchInfo {super().__repr__()}: {self._route}>"


class MatchInfoError(UrlMappingMatchInfo):
    """Match info of a request no route accepted; ``http_exception`` says why."""

    __slots__ = ("_exception",)

    def __init__(self, http_exception: HTTPException) -> None:
        self._exception = http_exception
        super().__init__({}, SystemRoute(http_exception))

    @property
    def http_exception(self) -> HTTPException:
        return self._exception

    def __repr__(self) -> str:
        return f"<MatchInfoError {self._exception.status}: {self._exception.reason}>"


# -- resources ----------------------------------------------------------------


class AbstractResource(Sized, Iterable[AbstractRoute]):
    """A path shape and the routes registered on it."""

    def __init__(self, *, name: Optional[str] = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {name!r}")
        self._name = name

    @property
    def name(self) -> Optional[str]:
        return self._name

    @property
    @abc.abstractmethod
    def canonical(self) -> str:
        """The path pattern as registered, e.g. ``/users/{id}``."""

    @abc.abstractmethod
    def url_for(self, **kwargs: Any) -> URL:
        """Build a URL for this resource."""

    @abc.abstractmethod
    async def resolve(self, request: "Request") -> _Resolve:
        """``(match_info, allowed_methods)``; match_info is None when nothing matched."""

    @abc.abstractmethod
    def add_prefix(self, prefix: str) -> None:
        """Prepend ``prefix`` to the path (used when mounting a sub-application)."""

    @abc.abstractmethod
    def get_info(self) -> dict[str, Any]:
        """A dict describing the resource."""

    def freeze(self) -> None:
        pass

    @abc.abstractmethod
    def raw_match(self, path: str) -> bool:
        """True when ``path`` is exactly this resource's registered path."""

    def _index_key(self) -> Optional[str]:
        """The dispatcher index key; None for resources tried after the index."""
        return None


class Resource(AbstractResource):
    """A resource holding one route per method, plus an optional ``*`` route."""

    def __init__(self, *, name: Optional[str] = None) -> None:
        super().__init__(name=name)
        self._routes: list[ResourceRoute] = []
        self._by_method: dict[str, ResourceRoute] = {}
        self._any_route: Optional[ResourceRoute] = None
        self._allowed: set[str] = set()
        self._router: Optional[UrlDispatcher] = None

    def add_route(
        self,
        method: str,
        handler: Any,
        *,
        expect_handler: Optional[_ExpectHandler] = None,
    ) -> ResourceRoute:
        """Register ``handler`` for ``method`` on this resource."""
        if self._router is not None and self._router.frozen:
            raise RuntimeError("Cannot register a route into a frozen router")
        route = ResourceRoute(method, handler, self, expect_handler=expect_handler)
        existing = self._by_method.get(route.method) if route.method != hdrs.METH_ANY else self._any_route
        if existing is not None:
            raise RuntimeError(
                f"Added route will never be executed, method {route.method} is already "
                f"registered: {existing!r} conflicts with {route!r}"
            )
        if self._router is not None:
            self._router._check_conflict(route)
        self._routes.append(route)
        if route.method == hdrs.METH_ANY:
            self._any_route = route
        else:
            self._by_method[route.method] = route
            self._allowed.add(route.method)
        return route

    def _match(self, path: str) -> Optional[dict[str, str]]:
        raise NotImplementedError

    def _resolve_path(self, method: str, path: str) -> _Resolve:
        match_dict = self._match(path)
        if match_dict is None:
            return None, set()
        route = self._by_method.get(method)
        if route is None:
            route = self._any_route
            if route is None:
                return None, self._allowed
        return UrlMappingMatchInfo(match_dict, route), self._allowed

    async def resolve(self, request: "Request") -> _Resolve:
        return self._resolve_path(request.method, request.rel_url.path_safe)

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[AbstractRoute]:
        return iter(self._routes)


class PlainResource(Resource):
    """A fixed path such as ``/about``."""

    def __init__(self, path: str, *, name: Optional[str] = None) -> None:
        super().__init__(name=name)
        if path and not path.startswith("/"):
            raise ValueError(f"path should start with / or be empty, got {path!r}")
        self._path = path
        # An empty path (a sub-application's root) answers for "/" on a root app.
        self._match_path = path or "/"

    @property
    def canonical(self) -> str:
        return self._path

    def add_prefix(self, prefix: str) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        self._path = prefix + self._path
        self._match_path = self._path

    def _match(self, path: str) -> Optional[dict[str, str]]:
        return {} if path == self._match_path else None

    def _resolve_path(self, method: str, path: str) -> _Resolve:
        # The hot path of routing.
        if path != self._match_path:
            return None, set()
        route = self._by_method.get(method) or self._any_route
        if route is None:
            return None, self._allowed
        return UrlMappingMatchInfo({}, route), self._allowed

    def raw_match(self, path: str) -> bool:
        return self._path == path

    def get_info(self) -> dict[str, Any]:
        return {"path": self._path}

    def url_for(self) -> URL:  # type: ignore[override]
        return URL.build(path=self._path, encoded=True)

    def _index_key(self) -> str:
        return self._match_path

    def __repr__(self) -> str:
        name = f"'{self.name}' " if self.name is not None else ""
        return f"<PlainResource {name} {self._path}>"


def _parse_dynamic(path: str) -> tuple[str, str, str]:
    """``/users/{id:\\d+}`` -> (regex, formatter, fixed prefix before the first ``{``)."""
    pattern = []
    formatter = []
    pos = 0
    while pos < len(path):
        start = path.find("{", pos)
        close = path.find("}", pos)
        if start == -1:
            if close != -1:
                raise ValueError(f"Invalid path {path!r}: unbalanced '}}' at {close}")
            pattern.append(re.escape(path[pos:]))
            formatter.append(path[pos:])
            break
        if close != -1 and close < start:
            raise ValueError(f"Invalid path {path!r}: unbalanced '}}' at {close}")
        fixed = path[pos:start]
        pattern.append(re.escape(fixed))
        formatter.append(fixed)
        depth = 0
        end = start
        for end in range(start, len(path)):
            char = path[end]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    break
        if depth != 0:
            raise ValueError(f"Invalid path {path!r}: unbalanced '{{' at {start}")
        var, sep, regex = path[start + 1 : end].partition(":")
        if not _IDENTIFIER_RE.match(var):
            raise ValueError(f"Invalid path {path!r}: {var!r} is not a valid variable name")
        if not sep:
            regex = _DEFAULT_SEGMENT_RE
        elif not regex:
            raise ValueError(f"Invalid path {path!r}: empty pattern for {var!r}")
        pattern.append(f"(?P<{var}>{regex})")
        formatter.append("{" + var + "}")
        pos = end + 1
    return "".join(pattern), "".join(formatter), path[: path.find("{")]


class DynamicResource(Resource):
    """A path with variable parts: ``/users/{id}`` or ``/files/{path:.*}``."""

    def __init__(self, path: str, *, name: Optional[str] = None) -> None:
        super().__init__(name=name)
        if path and not path.startswith("/"):
            raise ValueError(f"path should start with / or be empty, got {path!r}")
        regex, formatter, fixed = _parse_dynamic(path)
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"Bad pattern {regex!r} in path {path!r}: {exc}") from None
        self._pattern = compiled
        self._formatter = formatter
        self._fixed = fixed

    @property
    def canonical(self) -> str:
        return self._formatter

    def add_prefix(self, prefix: str) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        self._pattern = re.compile(re.escape(prefix) + self._pattern.pattern)
        self._formatter = prefix + self._formatter
        self._fixed = prefix + self._fixed

    def _match(self, path: str) -> Optional[dict[str, str]]:
        match = self._pattern.fullmatch(path)
        if match is None:
            return None
        return {key: _unquote_part(value) for key, value in match.groupdict().items()}

    def raw_match(self, path: str) -> bool:
        return self._formatter == path

    def get_info(self) -> dict[str, Any]:
        return {"formatter": self._formatter, "pattern": self._pattern}

    def url_for(self, **parts: Union[str, int]) -> URL:
        url = self._formatter.format_map({k: _quote_part(v) for k, v in parts.items()})
        return URL.build(path=url, encoded=True)

    def _index_key(self) -> str:
        return self._fixed.rpartition("/")[0] or "/"

    def __repr__(self) -> str:
        name = f"'{self.name}' " if self.name is not None else ""
        return f"<DynamicResource {name} {self._formatter}>"


class PrefixResource(AbstractResource):
    """A resource matching every path under a prefix."""

    def __init__(self, prefix: str, *, name: Optional[str] = None) -> None:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {prefix!r}")
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"prefix should start with /, got {prefix!r}")
        if prefix in ("", "/"):
            prefix = ""
        elif prefix.endswith("/"):
            raise ValueError(f"prefix should not end with /, got {prefix!r}")
        super().__init__(name=name)
        self._prefix = prefix
        self._prefix2 = prefix + "/"

    @property
    def canonical(self) -> str:
        return self._prefix

    def add_prefix(self, prefix: str) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        self._prefix = prefix + self._prefix
        self._prefix2 = self._prefix + "/"

    def raw_match(self, prefix: str) -> bool:
        return False

    def _index_key(self) -> Optional[str]:
        return self._prefix or "/"


class StaticResource(PrefixResource):
    """Serves the files under a directory; never anything outside it."""

    VERSION_KEY = VERSION_KEY

    def __init__(
        self,
        prefix: str,
        directory: PathLike,
        *,
        name: Optional[str] = None,
        expect_handler: Optional[_ExpectHandler] = None,
        chunk_size: int = 256 * 1024,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
    ) -> None:
        super().__init__(prefix, name=name)
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {directory!r}")
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size <= 0:
            raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
        try:
            resolved = Path(directory).expanduser().resolve(strict=True)
        except FileNotFoundError:
            raise ValueError(f"static directory {str(directory)!r} does not exist") from None
        if not resolved.is_dir():
            raise ValueError(f"static path {str(directory)!r} is not a directory")
        self._directory = resolved
        self._chunk_size = chunk_size
        self._show_index = show_index
        self._follow_symlinks = follow_symlinks
        self._append_version = append_version
        self._expect_handler = expect_handler
        self._routes = {
            method: ResourceRoute(method, self._handle, self, expect_handler=expect_handler)
            for method in (hdrs.METH_GET, hdrs.METH_HEAD)
        }
        self._allowed_methods = set(self._routes)
        self._versions: dict[Path, tuple[int, int, str]] = {}

    def url_for(  # type: ignore[override]
        self, *, filename: PathLike, append_version: Optional[bool] = None
    ) -> URL:
        """The URL of ``filename``; with ``append_version`` a ``?v=`` content hash."""
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or os.PathLike, got {filename!r}")
        if append_version is None:
            append_version = self._append_version
        name = os.fspath(filename).replace("\\", "/").lstrip("/")
        url = URL.build(path=self._prefix + "/" + name)
        if append_version:
            version = self._version_of(name)
            if version is not None:
                url = url.with_query({self.VERSION_KEY: version})
        return url

    def _version_of(self, name: str) -> Optional[str]:
        try:
            path = self._safe_path(name)
            stat = path.stat()
        except (HTTPException, OSError, ValueError):
            return None
        if not path.is_file():
            return None
        cached = self._versions.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2]
        digest = hashlib.sha256(path.read_bytes()).digest()
        version = base64.urlsafe_b64encode(digest).decode("ascii")
        self._versions[path] = (stat.st_mtime_ns, stat.st_size, version)
        return version

    def get_info(self) -> dict[str, Any]:
        return {"directory": self._directory, "prefix": self._prefix, "routes": self._routes}

    def set_options_route(self, handler: Handler) -> None:
        """Answer OPTIONS (e.g. CORS preflight) under this prefix with ``handler``."""
        if hdrs.METH_OPTIONS in self._routes:
            raise RuntimeError("OPTIONS route was set already")
        self._routes[hdrs.METH_OPTIONS] = ResourceRoute(
            hdrs.METH_OPTIONS, handler, self, expect_handler=self._expect_handler
        )
        self._allowed_methods.add(hdrs.METH_OPTIONS)

    def _resolve_path(self, method: str, path: str) -> _Resolve:
        if not path.startswith(self._prefix2):
            return None, set()
        route = self._routes.get(method)
        if route is None:
            return None, self._allowed_methods
        filename = _unquote_part(path[len(self._prefix2) :])
        return UrlMappingMatchInfo({"filename": filename}, route), self._allowed_methods

    async def resolve(self, request: "Request") -> _Resolve:
        return self._resolve_path(request.method, request.rel_url.path_safe)

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[AbstractRoute]:
        return iter(self._routes.values())

    def _safe_path(self, filename: str) -> Path:
        """The file ``filename`` names under the root; 403/404 when it would leave it."""
        if "\x00" in filename or "\\" in filename:
            raise HTTPNotFound()
        if filename.startswith("/"):
            raise HTTPForbidden()
        parts = [part for part in filename.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise HTTPForbidden()
        path = self._directory.joinpath(*parts)
        if not self._follow_symlinks:
            try:
                real = path.resolve()
            except (OSError, RuntimeError):
                raise HTTPNotFound() from None
            if not real.is_relative_to(self._directory):
                raise HTTPNotFound()
        return path

    def _locate(self, filename: str) -> tuple[Path, Optional[str]]:
        """Runs in an executor: the path to send, or the index page to show."""
        path = self._safe_path(filename)
        try:
            is_dir = path.is_dir()
        except OSError:
            raise HTTPNotFound() from None
        if is_dir:
            if not self._show_index:
                raise HTTPForbidden()
            try:
                return path, self._directory_as_html(path)
            except PermissionError:
                raise HTTPForbidden() from None
        return path, None

    def _directory_as_html(self, directory: Path) -> str:
        relative = directory.relative_to(self._directory).as_posix()
        shown = self._prefix + "/" + ("" if relative == "." else relative)
        title = html.escape(f"Index of {shown}")
        items = []
        for entry in sorted(directory.iterdir()):
            label = entry.name + ("/" if entry.is_dir() else "")
            link = self._prefix + "/" + quote(entry.relative_to(self._directory).as_posix())
            items.append(f'<li><a href="{html.escape(link)}">{html.escape(label)}</a></li>')
        listing = "\n".join(items)
        return f"<html>\n<head>\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<ul>\n{listing}\n</ul>\n</body>\n</html>"

    async def _handle(self, request: "Request") -> StreamResponse:
        from .web_fileresponse import FileResponse

        filename = request.match_info["filename"]
        loop = asyncio.get_running_loop()
        path, index = await loop.run_in_executor(None, self._locate, filename)
        if index is not None:
            return Response(text=index, content_type="text/html")
        return FileResponse(path, chunk_size=self._chunk_size)

    def __repr__(self) -> str:
        name = f"'{self.name}' " if self.name is not None else ""
        return f"<StaticResource {name} {self._prefix} -> {self._directory!r}>"


class PrefixedSubAppResource(PrefixResource):
    """Hands every path under a prefix to a sub-application's router."""

    def __init__(self, prefix: str, app: "Application") -> None:
        super().__init__(prefix)
        if not self._prefix:
            raise ValueError("Prefix cannot be empty")
        self._app = app
        self._add_prefix_to_resources(self._prefix)

    def add_prefix(self, prefix: str) -> None:
        super().add_prefix(prefix)
        self._add_prefix_to_resources(prefix)

    def _add_prefix_to_resources(self, prefix: str) -> None:
        router = self._app.router
        for resource in router.resources():
            resource.add_prefix(prefix)
        router._index = None

    def url_for(self, *args: str, **kwargs: str) -> URL:
        raise RuntimeError(".url_for() is not supported by sub-application root")

    def get_info(self) -> dict[str, Any]:
        return {"app": self._app, "prefix": self._prefix}

    async def resolve(self, request: "Request") -> _Resolve:
        match_info = await self._app.router.resolve(request)
        match_info.add_app(self._app)
        exc = match_info.http_exception
        if isinstance(exc, HTTPMethodNotAllowed):
            return match_info, exc.allowed_methods
        return match_info, set()

    def _applies(self, path: str) -> bool:
        return path.startswith(self._prefix2) or path == self._prefix

    def __len__(self) -> int:
        return len(self._app.router.routes())

    def __iter__(self) -> Iterator[AbstractRoute]:
        return iter(self._app.router.routes())

    def __repr__(self) -> str:
        return f"<PrefixedSubAppResource {self._prefix} -> {self._app!r}>"


class AbstractRuleMatching(abc.ABC):
    """A rule choosing a sub-application by something other than the path prefix."""

    @abc.abstractmethod
    async def match(self, request: "Request") -> bool:
        """True when the request belongs to the sub-application."""

    @abc.abstractmethod
    def get_info(self) -> dict[str, Any]:
        """A dict describing the rule."""

    @property
    @abc.abstractmethod
    def canonical(self) -> str:
        """The rule as text."""


class Domain(AbstractRuleMatching):
    """Matches the Host header against one domain (with a port, if one is given)."""

    def __init__(self, domain: str) -> None:
        super().__init__()
        self._domain = self.validation(domain)

    @property
    def canonical(self) -> str:
        return self._domain

    def validation(self, domain: str) -> str:
        if not isinstance(domain, str):
            raise TypeError(f"domain must be a str, got {domain!r}")
        domain = domain.rstrip(".").lower()
        if not domain:
            raise ValueError("domain cannot be empty")
        if "://" in domain:
            raise ValueError(f"domain must be a host name, not a URL: {domain!r}")
        try:
            url = URL("http://" + domain)
        except ValueError as exc:
            raise ValueError(f"invalid domain {domain!r}: {exc}") from None
        host = url.raw_host
        if not host or url.raw_path not in ("", "/") or url.user is not None:
            raise ValueError(f"invalid domain {domain!r}")
        if not all(_label_ok(label) for label in host.split(".")):
            raise ValueError(f"invalid domain {domain!r}")
        return host if url.explicit_port is None else f"{host}:{url.port}"

    async def match(self, request: "Request") -> bool:
        host = request.headers.get(hdrs.HOST)
        return bool(host) and self.match_domain(cast(str, host))

    def match_domain(self, host: str) -> bool:
        return _strip_port(host.lower(), self._domain) == self._domain

    def get_info(self) -> dict[str, Any]:
        return {"domain": self._domain}


def _strip_port(host: str, domain: str) -> str:
    """Drop the Host header's port when the rule names none."""
    if ":" in domain or host.endswith("]"):
        return host
    name, sep, _port = host.rpartition(":")
    return name if sep else host


def _label_ok(label: str) -> bool:
    return label == "*" or bool(re.fullmatch(r"(?!-)[a-z0-9-*]{1,63}(?<!-)", label))


class MaskDomain(Domain):
    """Matches a wildcard domain: ``*.example.com`` matches any subdomain."""

    def __init__(self, domain: str) -> None:
        super().__init__(domain)
        mask = re.escape(self._domain).replace(r"\*", ".*")
        self._mask = re.compile(mask)

    @property
    def canonical(self) -> str:
        return self._mask.pattern

    def match_domain(self, host: str) -> bool:
        return self._mask.fullmatch(_strip_port(host.lower(), self._domain)) is not None


class MatchedSubAppResource(PrefixedSubAppResource):
    """Hands requests a rule (such as a domain) accepts to a sub-application."""

    def __init__(self, rule: AbstractRuleMatching, app: "Application") -> None:
        AbstractResource.__init__(self)
        self._prefix = ""
        self._prefix2 = "/"
        self._app = app
        self._rule = rule

    @property
    def canonical(self) -> str:
        return self._rule.canonical

    def add_prefix(self, prefix: str) -> None:
        raise RuntimeError("a domain sub-application cannot be mounted under a prefix")

    def get_info(self) -> dict[str, Any]:
        return {"app": self._app, "rule": self._rule}

    async def resolve(self, request: "Request") -> _Resolve:
        if not await self._rule.match(request):
            return None, set()
        return await super().resolve(request)

    def _index_key(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<MatchedSubAppResource -> {self._app!r}>"


# -- views ----------------------------------------------------------------------


class View(AbstractView):
    """A class-based handler: the method named after the HTTP verb answers."""

    async def _iter(self) -> StreamResponse:
        method = self.request.method
        handler: Optional[Callable[[], Awaitable[StreamResponse]]] = None
        if method in hdrs.METH_ALL:
            handler = getattr(self, method.lower(), None)
        if handler is None:
            self._raise_allowed_methods()
        return await handler()

    def __await__(self) -> Generator[None, None, StreamResponse]:
        return self._iter().__await__()

    def _raise_allowed_methods(self) -> NoReturn:
        allowed = {m for m in hdrs.METH_ALL if hasattr(self, m.lower())}
        raise HTTPMethodNotAllowed(self.request.method, allowed)


# -- views over the router ------------------------------------------------------


class ResourcesView(Sized, Iterable[AbstractResource], Container[AbstractResource]):
    """A read-only view of the registered resources."""

    def __init__(self, resources: list[AbstractResource]) -> None:
        self._resources = resources

    def __len__(self) -> int:
        return len(self._resources)

    def __iter__(self) -> Iterator[AbstractResource]:
        yield from self._resources

    def __contains__(self, resource: object) -> bool:
        return resource in self._resources


class RoutesView(Sized, Iterable[AbstractRoute], Container[AbstractRoute]):
    """A read-only view of the routes of every resource."""

    def __init__(self, resources: list[AbstractResource]) -> None:
        self._routes: list[AbstractRoute] = []
        for resource in resources:
            self._routes.extend(resource)

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[AbstractRoute]:
        yield from self._routes

    def __contains__(self, route: object) -> bool:
        return route in self._routes


# -- the dispatcher ---------------------------------------------------------------

# How the dispatcher asks an indexed resource: a sync path match, an async sub-app
# resolve (after a cheap prefix check), or the generic async resolve of custom resources.
_SYNC: Final = 0
_SUBAPP: Final = 1
_ASYNC: Final = 2
_IndexEntry = tuple[int, AbstractResource, Callable[..., Any]]


class UrlDispatcher(AbstractRouter, Mapping[str, AbstractResource]):
    """The router of an Application; also a mapping of route names to resources."""

    NAME_SPLIT_RE = _NAME_SPLIT_RE

    def __init__(self) -> None:
        super().__init__()
        self._resources: list[AbstractResource] = []
        self._named_resources: dict[str, AbstractResource] = {}
        self._index: Optional[dict[str, list[_IndexEntry]]] = None
        self._unindexed: list[AbstractResource] = []
        self._max_depth = 1
        self._routes_by_key: dict[tuple[str, str], AbstractRoute] = {}

    # -- resolving ---------------------------------------------------------

    def _build_index(self) -> dict[str, list[_IndexEntry]]:
        """Group resources by index key; each entry says how to ask the resource."""
        index: dict[str, list[_IndexEntry]] = {}
        unindexed = []
        for resource in self._resources:
            key = resource._index_key()
            if key is None:
                unindexed.append(resource)
                continue
            entry: _IndexEntry
            if isinstance(resource, PrefixedSubAppResource):
                entry = (_SUBAPP, resource, resource.resolve)
            elif isinstance(resource, (Resource, StaticResource)):
                entry = (_SYNC, resource, resource._resolve_path)
            else:
                entry = (_ASYNC, resource, resource.resolve)
            index.setdefault(key, []).append(entry)
        self._unindexed = unindexed
        # The deepest key bounds the walk, so a path of thousands of segments costs
        # no more than one of a few.
        self._max_depth = max((key.count("/") for key in index), default=1)
        self._index = index
        return index

    async def resolve(self, request: "Request") -> UrlMappingMatchInfo:
        index = self._index
        if index is None:
            index = self._build_index()
        method = request._method
        path = request._rel_url.path_safe
        allowed: Optional[set[str]] = None
        part = path
        depth = self._max_depth
        if path.count("/") > depth:
            part = "/".join(path.split("/", depth + 1)[: depth + 1])
        while True:
            entries = index.get(part)
            if entries is not None:
                for kind, resource, resolver in entries:
                    if kind is _SYNC:
                        match_info, methods = resolver(method, path)
                    elif kind is _SUBAPP and not cast(PrefixedSubAppResource, resource)._applies(path):
                        continue
                    else:
                        match_info, methods = await resolver(request)
                    if match_info is not None:
                        return match_info
                    if methods:
                        allowed = set(methods) if allowed is None else allowed | methods
            if part == "/":
                break
            part = part.rpartition("/")[0] or "/"
        for resource in self._unindexed:
            match_info, methods = await resource.resolve(request)
            if match_info is not None:
                return match_info
            if methods:
                allowed = set(methods) if allowed is None else allowed | methods
        if allowed:
            return MatchInfoError(HTTPMethodNotAllowed(method, allowed))
        return MatchInfoError(HTTPNotFound())

    # -- mapping of names --------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        return iter(self._named_resources)

    def __len__(self) -> int:
        return len(self._named_resources)

    def __contains__(self, resource: object) -> bool:
        return resource in self._named_resources

    def __getitem__(self, name: str) -> AbstractResource:
        return self._named_resources[name]

    def resources(self) -> ResourcesView:
        return ResourcesView(self._resources)

    def routes(self) -> RoutesView:
        return RoutesView(self._resources)

    def named_resources(self) -> Mapping[str, AbstractResource]:
        return MappingProxyType(self._named_resources)

    # -- registering -------------------------------------------------------

    def register_resource(self, resource: AbstractResource) -> None:
        """Add a resource (built-in or custom) to the router."""
        if not isinstance(resource, AbstractResource):
            raise TypeError(f"resource must be an AbstractResource, got {resource!r}")
        if self.frozen:
            raise RuntimeError("Cannot register a resource into frozen router.")
        name = resource.name
        if name is not None:
            for part in self.NAME_SPLIT_RE.split(name):
                if not part.isidentifier() or keyword.iskeyword(part):
                    raise ValueError(
                        f"Incorrect route name {name!r}, the name should be a sequence of "
                        "python identifiers separated by dash, dot or column"
                    )
            if name in self._named_resources:
                raise ValueError(
                    f"Duplicate route name {name!r}: {resource!r} conflicts with "
                    f"{self._named_resources[name]!r}"
                )
            self._named_resources[name] = resource
        if isinstance(resource, Resource):
            resource._router = self
        self._resources.append(resource)
        self._index = None

    def _check_conflict(self, route: ResourceRoute) -> None:
        """Refuse a second route for the same method on the same path."""
        resource = route.resource
        if not isinstance(resource, (PlainResource, DynamicResource)):
            return
        key = (resource.canonical or "/", route.method)
        existing = self._routes_by_key.get(key)
        if existing is not None and existing.resource is not resource:
            raise RuntimeError(
                f"Route conflict: {route!r} would never be reached, {existing!r} "
                f"already handles {route.method} {key[0]}"
            )
        self._routes_by_key[key] = route

    def add_resource(self, path: str, *, name: Optional[str] = None) -> Resource:
        """A resource for ``path`` (plain or dynamic), reusing the last one if equal."""
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, got {path!r}")
        if path and not path.startswith("/"):
            raise ValueError(f"path should start with / or be empty, got {path!r}")
        if self._resources:
            last = self._resources[-1]
            if isinstance(last, Resource) and last.name == name and last.raw_match(path):
                return last
        resource: Resource
        if "{" in path or "}" in path:
            resource = DynamicResource(path, name=name)
        else:
            resource = PlainResource(path, name=name)
        self.register_resource(resource)
        return resource

    def add_route(
        self,
        method: str,
        path: str,
        handler: Any,
        *,
        name: Optional[str] = None,
        expect_handler: Optional[_ExpectHandler] = None,
    ) -> AbstractRoute:
        """Route ``method`` requests for ``path`` to ``handler``."""
        resource = self.add_resource(path, name=name)
        return resource.add_route(method, handler, expect_handler=expect_handler)

    def add_static(
        self,
        prefix: str,
        path: PathLike,
        *,
        name: Optional[str] = None,
        expect_handler: Optional[_ExpectHandler] = None,
        chunk_size: int = 256 * 1024,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
    ) -> StaticResource:
        """Serve the files under directory ``path`` at URLs under ``prefix``."""
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {prefix!r}")
        if not prefix.startswith("/"):
            raise ValueError(f"prefix must start with /, got {prefix!r}")
        if prefix.endswith("/"):
            prefix = prefix[:-1]
        resource = StaticResource(
            prefix,
            path,
            name=name,
            expect_handler=expect_handler,
            chunk_size=chunk_size,
            show_index=show_index,
            follow_symlinks=follow_symlinks,
            append_version=append_version,
        )
        self.register_resource(resource)
        return resource

    def add_head(self, path: str, handler: Any, **kwargs: Any) -> AbstractRoute:
        return self.add_route(hdrs.METH_HEAD, path, handler, **kwargs)

    def add_options(self, path: str, handler: Any, **kwargs: Any) -> AbstractRoute:
        return self.add_route(hdrs.METH_OPTIONS, path, handler, **kwargs)

    def add_get(
        self,
        path: str,
        handler: Any,
        *,
        name: Optional[str] = None,
        allow_head: bool = True,
        **kwargs: Any,
    ) -> AbstractRoute:
        """GET (and HEAD, unless ``allow_head=False``) for ``path``."""
        resource = self.add_resource(path, name=name)
        if allow_head:
            resource.add_route(hdrs.METH_HEAD, handler, **kwargs)
        return resource.add_route(hdrs.METH_GET, handler, **kwargs)

    def add_post(self, path: str, handler: Any, **kwargs: Any) -> AbstractRoute:
        return self.add_route(hdrs.METH_POST, path, handler, **kwargs)

    def add_put(self, path: str, handler: Any, **kwargs: Any) -> AbstractRoute:
        return self.add_route(hdrs.METH_PUT, path, handler, **kwargs)

    def add_patch(self, path: str, handler: Any, **kwargs: Any) -> AbstractRoute:
        return self.add_route(hdrs.METH_PATCH, path, handler, **kwargs)

    def add_delete(self, path: str, handler: Any, **kwargs: Any) -> AbstractRoute:
        return self.add_route(hdrs.METH_DELETE, path, handler, **kwargs)

    def add_view(self, path: str, handler: type[AbstractView], **kwargs: Any) -> AbstractRoute:
        """A class-based view answering every method it defines."""
        return self.add_route(hdrs.METH_ANY, path, handler, **kwargs)

    def add_routes(self, routes: Iterable["AbstractRouteDef"]) -> list[AbstractRoute]:
        """Register route definitions (``web.get(...)``, a RouteTableDef...)."""
        from .web_routedef import AbstractRouteDef

        registered: list[AbstractRoute] = []
        for route_def in routes:
            if not isinstance(route_def, AbstractRouteDef):
                raise TypeError(f"add_routes() expects route definitions such as web.get(...), got {route_def!r}")
            registered.extend(route_def.register(self))
        return registered

    def freeze(self) -> None:
        super().freeze()
        for resource in self._resources:
            resource.freeze()
        self._index = None
        self._build_index()
