"""Middlewares: the ``@middleware`` marker and ``normalize_path_middleware``."""

import re
from typing import TYPE_CHECKING, Final, TypeVar

from .typedefs import Handler, Middleware
from .web_exceptions import HTTPMove, HTTPPermanentRedirect
from .web_response import StreamResponse
from .web_urldispatcher import SystemRoute

if TYPE_CHECKING:
    from .web_request import Request

__all__ = ("middleware", "normalize_path_middleware")

_Func = TypeVar("_Func")
_SLASHES: Final = re.compile(r"//+")
_LEADING: Final = re.compile(r"^[/\\]+")


def middleware(f: _Func) -> _Func:
    """Mark ``async def mw(request, handler)`` as a middleware (optional since 3.x)."""
    f.__middleware_version__ = 1  # type: ignore[attr-defined]
    return f


async def _resolves(request: "Request", path: str) -> bool:
    alt_request = request.clone(rel_url=path)
    match_info = await request.app.router.resolve(alt_request)
    return match_info.http_exception is None


def normalize_path_middleware(
    *,
    append_slash: bool = True,
    remove_slash: bool = False,
    merge_slashes: bool = True,
    redirect_class: type[HTTPMove] = HTTPPermanentRedirect,
) -> Middleware:
    """Redirect a 404 path to its normalised form when that one has a route.

    ``append_slash`` tries ``path + "/"``, ``remove_slash`` tries it without the
    trailing slash (the two are exclusive), ``merge_slashes`` collapses ``//``. The
    redirect always stays on this site: its target is a path that starts with one "/".
    """
    if append_slash and remove_slash:
        raise ValueError("append_slash and remove_slash cannot both be True")
    if not (isinstance(redirect_class, type) and issubclass(redirect_class, HTTPMove)):
        raise TypeError(f"redirect_class must be an HTTPMove subclass, got {redirect_class!r}")

    @middleware
    async def impl(request: "Request", handler: Handler) -> StreamResponse:
        if not isinstance(request.match_info.route, SystemRoute):
            return await handler(request)
        rel_url = request.rel_url
        path = rel_url.raw_path
        query = "?" + rel_url.raw_query_string if rel_url.raw_query_string else ""
        candidates = []
        if merge_slashes:
            candidates.append(_SLASHES.sub("/", path))
        if append_slash and not path.endswith("/"):
            candidates.append(path + "/")
            if merge_slashes:
                candidates.append(_SLASHES.sub("/", path + "/"))
        if remove_slash and path.endswith("/") and len(path) > 1:
            candidates.append(path[:-1])
            if merge_slashes:
                candidates.append(_SLASHES.sub("/", path)[:-1] or "/")
        for candidate in candidates:
            # Never let a redirect leave the site: "//evil.com" and "/\evil.com" are
            # protocol-relative URLs to browsers.
            candidate = _LEADING.sub("/", candidate)
            if candidate == path or not candidate.startswith("/"):
                continue
            if await _resolves(request, candidate):
                raise redirect_class(candidate + query)
        return await handler(request)

    return impl
