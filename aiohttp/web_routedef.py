"""Route definitions: ``web.get(...)``, ``web.static(...)`` and the ``RouteTableDef`` decorators."""

import abc
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union, overload

import attr

from . import hdrs
from .abc import AbstractView
from .typedefs import Handler, PathLike

if TYPE_CHECKING:
    from .web_urldispatcher import AbstractRoute, UrlDispatcher

__all__ = (
    "AbstractRouteDef",
    "RouteDef",
    "StaticDef",
    "RouteTableDef",
    "head",
    "options",
    "get",
    "post",
    "patch",
    "put",
    "delete",
    "route",
    "view",
    "static",
)

_HandlerType = Union[type[AbstractView], Handler]
_Deco = Callable[[_HandlerType], _HandlerType]


class AbstractRouteDef(abc.ABC):
    """Something ``app.add_routes()`` can register."""

    @abc.abstractmethod
    def register(self, router: "UrlDispatcher") -> list["AbstractRoute"]:
        """Add this definition to ``router``; return the routes made."""


def _check_path(path: Any) -> None:
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, got {path!r}")


@attr.s(auto_attribs=True, frozen=True, repr=False, slots=True)
class RouteDef(AbstractRouteDef):
    """A route to add later: method, path, handler and add_route() keywords."""

    method: str
    path: str
    handler: _HandlerType
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        info = "".join(f", {name}={value!r}" for name, value in sorted(self.kwargs.items()))
        name = getattr(self.handler, "__name__", repr(self.handler))
        return f"<RouteDef {self.method} {self.path} -> {name!r}{info}>"

    def register(self, router: "UrlDispatcher") -> list["AbstractRoute"]:
        if self.method in hdrs.METH_ALL:
            add = getattr(router, "add_" + self.method.lower())
            return [add(self.path, self.handler, **self.kwargs)]
        return [router.add_route(self.method, self.path, self.handler, **self.kwargs)]


@attr.s(auto_attribs=True, frozen=True, repr=False, slots=True)
class StaticDef(AbstractRouteDef):
    """A static directory to add later."""

    prefix: str
    path: PathLike
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        info = "".join(f", {name}={value!r}" for name, value in sorted(self.kwargs.items()))
        return f"<StaticDef {self.prefix} -> {self.path}{info}>"

    def register(self, router: "UrlDispatcher") -> list["AbstractRoute"]:
        resource = router.add_static(self.prefix, self.path, **self.kwargs)
        routes = resource.get_info().get("routes", {})
        return list(routes.values())


def route(method: str, path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    _check_path(path)
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, got {method!r}")
    return RouteDef(method, path, handler, kwargs)


def head(path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_HEAD, path, handler, **kwargs)


def options(path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_OPTIONS, path, handler, **kwargs)


def get(
    path: str,
    handler: _HandlerType,
    *,
    name: Union[str, None] = None,
    allow_head: bool = True,
    **kwargs: Any,
) -> RouteDef:
    return route(hdrs.METH_GET, path, handler, name=name, allow_head=allow_head, **kwargs)


def post(path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_POST, path, handler, **kwargs)


def put(path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_PUT, path, handler, **kwargs)


def patch(path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_PATCH, path, handler, **kwargs)


def delete(path: str, handler: _HandlerType, **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_DELETE, path, handler, **kwargs)


def view(path: str, handler: type[AbstractView], **kwargs: Any) -> RouteDef:
    return route(hdrs.METH_ANY, path, handler, **kwargs)


def static(prefix: str, path: PathLike, **kwargs: Any) -> StaticDef:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
    return StaticDef(prefix, path, kwargs)


class RouteTableDef(Sequence[AbstractRouteDef]):
    """Collects routes with decorators: ``@routes.get("/")``; then ``app.add_routes(routes)``."""

    def __init__(self) -> None:
        self._items: list[AbstractRouteDef] = []

    def __repr__(self) -> str:
        return f"<RouteTableDef count={len(self._items)}>"

    @overload
    def __getitem__(self, index: int) -> AbstractRouteDef: ...

    @overload
    def __getitem__(self, index: slice) -> list[AbstractRouteDef]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[AbstractRouteDef, list[AbstractRouteDef]]:
        return self._items[index]

    def __iter__(self) -> Iterator[AbstractRouteDef]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def route(self, method: str, path: str, **kwargs: Any) -> _Deco:
        _check_path(path)

        def inner(handler: _HandlerType) -> _HandlerType:
            self._items.append(RouteDef(method, path, handler, kwargs))
            return handler

        return inner

    def head(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_HEAD, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_GET, path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_POST, path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_PUT, path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_PATCH, path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_DELETE, path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_OPTIONS, path, **kwargs)

    def view(self, path: str, **kwargs: Any) -> _Deco:
        return self.route(hdrs.METH_ANY, path, **kwargs)

    def static(self, prefix: str, path: PathLike, **kwargs: Any) -> None:
        self._items.append(static(prefix, path, **kwargs))
