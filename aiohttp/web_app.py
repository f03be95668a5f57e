"""The Application: state, router, middlewares, signals and sub-applications.

An application is configured, then frozen when a runner starts it. Freezing compiles
the middleware chain of every route once (outer application middlewares first, then
each sub-application's), so serving a request is: resolve, look the chain up, call it.
"""

import logging
import warnings
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    MutableMapping,
    Sequence,
)
from functools import partial, update_wrapper
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union, cast, overload

from . import hdrs
from .abc import AbstractAccessLogger, AbstractAsyncAccessLogger, AbstractMatchInfo, AbstractRouter
from .helpers import _TypedKey
from .log import web_logger
from .signals import FrozenList, Signal
from .typedefs import Handler, Middleware
from .web_exceptions import NotAppKeyWarning
from .web_log import AccessLogger
from .web_request import Request
from .web_response import StreamResponse
from .web_routedef import AbstractRouteDef
from .web_server import Server
from .web_urldispatcher import (
    AbstractResource,
    AbstractRoute,
    Domain,
    MaskDomain,
    MatchedSubAppResource,
    PrefixedSubAppResource,
    SystemRoute,
    UrlDispatcher,
    UrlMappingMatchInfo,
)

if TYPE_CHECKING:
    import asyncio

    from .abc import AbstractStreamWriter
    from .http_parser import RawRequestMessage
    from .streams import StreamReader
    from .web_protocol import RequestHandler

__all__ = ("Application", "AppKey", "CleanupError", "FrozenList", "Signal")

_T = TypeVar("_T")
_U = TypeVar("_U")
_Resource = TypeVar("_Resource", bound=AbstractResource)


# -- typed keys -----------------------------------------------------------------


class AppKey(_TypedKey[_T]):
    """A typed key for Application state: ``app[db_key] = db`` keeps ``db``'s type."""

    __slots__ = ()


# -- frozen lists and signals ----------------------------------------------------------


class CleanupError(RuntimeError):
    """Several cleanup contexts failed; ``exceptions`` holds every error."""

    @property
    def exceptions(self) -> list[BaseException]:
        return cast(list[BaseException], self.args[1])


_CleanupCtx = Callable[["Application"], Any]


class CleanupContext(FrozenList[_CleanupCtx]):
    """``app.cleanup_ctx``: async generators (or async context managers) set up at
    startup and torn down, in reverse order, at cleanup."""

    __slots__ = ("_exits",)

    def __init__(self) -> None:
        super().__init__()
        self._exits: list[Any] = []

    async def _on_startup(self, app: "Application") -> None:
        for factory in self._items:
            ctx = factory(app)
            if hasattr(ctx, "__aenter__") and hasattr(ctx, "__aexit__"):
                await ctx.__aenter__()
                self._exits.append(ctx)
                continue
            if not hasattr(ctx, "__anext__"):
                raise TypeError(f"cleanup_ctx items must be async generator functions, {factory!r} returned {ctx!r}")
            await ctx.__anext__()
            self._exits.append(ctx)

    async def _on_cleanup(self, app: "Application") -> None:
        errors: list[BaseException] = []
        exits, self._exits = self._exits, []
        for ctx in reversed(exits):
            try:
                if hasattr(ctx, "__aexit__"):
                    await ctx.__aexit__(None, None, None)
                    continue
                await ctx.__anext__()
            except StopAsyncIteration:
                pass
            except Exception as exc:
                errors.append(exc)
            else:
                errors.append(RuntimeError(f"{ctx!r} has more than one 'yield'"))
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise CleanupError("Multiple errors on cleanup stage", errors)


# -- the application ------------------------------------------------------------


_ATTRS = frozenset(
    {
        "_debug",
        "_router",
        "_loop",
        "_handler_args",
        "_middlewares",
        "_run_middlewares",
        "_state",
        "_frozen",
        "_pre_frozen",
        "_subapps",
        "_on_response_prepare",
        "_has_prepare_hooks",
        "_on_startup",
        "_on_shutdown",
        "_on_cleanup",
        "_client_max_size",
        "_cleanup_ctx",
        "_chains",
        "_error_chains",
        "logger",
    }
)


async def _raise_http_exception(request: Request) -> StreamResponse:
    """The innermost handler of a failed resolution: raise its 404/405."""
    exc = request.match_info.http_exception
    assert exc is not None
    raise exc


def _current_app_setter(app: "Application", handler: Handler) -> Handler:
    """Make ``app`` the request's current app while ``handler`` (its middlewares) runs."""

    async def with_app(request: Request) -> StreamResponse:
        match_info = request._match_info
        assert match_info is not None
        prev = match_info._current_app
        match_info._current_app = app
        try:
            return await handler(request)
        finally:
            match_info._current_app = prev

    return update_wrapper(with_app, handler)


def _build_chain(handler: Handler, apps: Sequence["Application"]) -> Handler:
    """Wrap ``handler`` in the middlewares of ``apps`` (outermost app first)."""
    nested = len(apps) > 1
    for app in reversed(apps):
        for mw in reversed(app._middlewares):
            handler = update_wrapper(partial(cast(Any, mw), handler=handler), handler)
        if nested:
            handler = _current_app_setter(app, handler)
    return handler


class Application(MutableMapping[Union[str, AppKey[Any]], Any]):
    """A web application: a router, middlewares, signals and a state mapping."""

    ATTRS = _ATTRS

    def __init__(
        self,
        *,
        logger: logging.Logger = web_logger,
        router: Optional[UrlDispatcher] = None,
        middlewares: Iterable[Middleware] = (),
        handler_args: Optional[dict[str, Any]] = None,
        client_max_size: int = 1024**2,
        loop: Optional["asyncio.AbstractEventLoop"] = None,
        debug: Any = ...,
    ) -> None:
        if router is None:
            router = UrlDispatcher()
        elif not isinstance(router, AbstractRouter):
            raise TypeError(f"router must be an AbstractRouter, got {router!r}")
        if loop is not None:
            warnings.warn("loop argument is deprecated", DeprecationWarning, stacklevel=2)
        if debug is not ...:
            warnings.warn("debug argument is deprecated", DeprecationWarning, stacklevel=2)
        if not isinstance(client_max_size, int) or isinstance(client_max_size, bool) or client_max_size < 0:
            raise ValueError(f"client_max_size must be a non-negative int, got {client_max_size!r}")
        if handler_args is not None and not isinstance(handler_args, dict):
            raise TypeError(f"handler_args must be a dict, got {handler_args!r}")
        if isinstance(middlewares, (str, bytes)) or not isinstance(middlewares, Iterable):
            raise TypeError(f"middlewares must be an iterable of middlewares, got {middlewares!r}")
        mws = list(middlewares)
        for mw in mws:
            if not callable(mw):
                raise TypeError(f"middlewares must be callables taking (request, handler), got {mw!r}")
        router.post_init(self)
        self._debug = False if debug is ... else bool(debug)
        self._router = router
        self._loop = loop
        self._handler_args = handler_args or {}
        self.logger = logger
        self._middlewares: FrozenList[Middleware] = FrozenList(mws)
        self._run_middlewares: Optional[bool] = None
        self._state: dict[Union[str, AppKey[Any]], Any] = {}
        self._frozen = False
        self._pre_frozen = False
        self._subapps: list[Application] = []
        self._on_response_prepare = Signal(self)
        #: Known once on_response_prepare is frozen; read per response.
        self._has_prepare_hooks = True
        self._on_startup = Signal(self)
        self._on_shutdown = Signal(self)
        self._on_cleanup = Signal(self)
        self._cleanup_ctx = CleanupContext()
        self._on_startup.append(self._cleanup_ctx._on_startup)
        self._on_cleanup.append(self._cleanup_ctx._on_cleanup)
        self._client_max_size = client_max_size
        self._chains: dict[AbstractRoute, Handler] = {}
        self._error_chains: dict[tuple[Application, ...], Handler] = {}

    def __init_subclass__(cls: type["Application"]) -> None:
        warnings.warn(
            f"Inheritance class {cls.__name__} from web.Application is discouraged",
            DeprecationWarning,
            stacklevel=3,
        )

    def __setattr__(self, name: str, val: Any) -> None:
        if name not in _ATTRS:
            warnings.warn(
                f"Setting custom web.Application.{name} attribute is discouraged",
                DeprecationWarning,
                stacklevel=2,
            )
        object.__setattr__(self, name, val)

    # -- identity ----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<Application 0x{id(self):x}>"

    def __call__(self) -> "Application":
        """gunicorn's ``module:app`` may name an app or a factory; either works."""
        return self

    # -- state mapping -----------------------------------------------------

    def _check_frozen(self) -> None:
        if self._frozen:
            warnings.warn(
                "Changing state of started or joined application is deprecated",
                DeprecationWarning,
                stacklevel=3,
            )

    @overload
    def __getitem__(self, key: AppKey[_T]) -> _T: ...

    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: Union[str, AppKey[_T]]) -> Any:
        return self._state[key]

    @overload
    def __setitem__(self, key: AppKey[_T], value: _T) -> None: ...

    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...

    def __setitem__(self, key: Union[str, AppKey[_T]], value: Any) -> None:
        self._check_frozen()
        if not isinstance(key, AppKey):
            warnings.warn(
                "Use web.AppKey instances as Application keys; plain strings are "
                "kept for compatibility (see aiohttp's web_advanced docs, "
                "'Application's config')",
                category=NotAppKeyWarning,
                stacklevel=2,
            )
        self._state[key] = value

    def __delitem__(self, key: Union[str, AppKey[_T]]) -> None:
        self._check_frozen()
        del self._state[key]

    def __len__(self) -> int:
        return len(self._state)

    def __iter__(self) -> Iterator[Union[str, AppKey[Any]]]:
        return iter(self._state)

    def __contains__(self, key: object) -> bool:
        return key in self._state

    @overload  # type: ignore[override]
    def get(self, key: AppKey[_T], default: None = ...) -> Optional[_T]: ...

    @overload
    def get(self, key: AppKey[_T], default: _U) -> Union[_T, _U]: ...

    @overload
    def get(self, key: str, default: Any = ...) -> Any: ...

    def get(self, key: Union[str, AppKey[_T]], default: Any = None) -> Any:
        return self._state.get(key, default)

    # -- configuration -----------------------------------------------------

    @property
    def loop(self) -> "asyncio.AbstractEventLoop":
        warnings.warn("loop property is deprecated", DeprecationWarning, stacklevel=2)
        return cast("asyncio.AbstractEventLoop", self._loop)

    def _set_loop(self, loop: Optional["asyncio.AbstractEventLoop"]) -> None:
        import asyncio

        if loop is None:
            loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("web.Application instance initialized with different loop")
        self._loop = loop
        for subapp in self._subapps:
            subapp._set_loop(loop)

    @property
    def debug(self) -> bool:
        return self._debug

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def pre_frozen(self) -> bool:
        return self._pre_frozen

    @property
    def router(self) -> UrlDispatcher:
        return self._router

    @property
    def middlewares(self) -> FrozenList[Middleware]:
        return self._middlewares

    @property
    def on_response_prepare(self) -> Signal:
        return self._on_response_prepare

    @property
    def on_startup(self) -> Signal:
        return self._on_startup

    @property
    def on_shutdown(self) -> Signal:
        return self._on_shutdown

    @property
    def on_cleanup(self) -> Signal:
        return self._on_cleanup

    @property
    def cleanup_ctx(self) -> CleanupContext:
        return self._cleanup_ctx

    def _has_middlewares(self) -> bool:
        return bool(self._middlewares) or any(sub._has_middlewares() for sub in self._subapps)

    def pre_freeze(self) -> None:
        """Freeze the structure (router, middlewares, signals); state stays writable."""
        if self._pre_frozen:
            return
        self._pre_frozen = True
        self._middlewares.freeze()
        self._router.freeze()
        self._on_response_prepare.freeze()
        self._has_prepare_hooks = bool(self._on_response_prepare)
        self._cleanup_ctx.freeze()
        self._on_startup.freeze()
        self._on_shutdown.freeze()
        self._on_cleanup.freeze()
        for subapp in self._subapps:
            subapp.pre_freeze()
        self._run_middlewares = self._has_middlewares()

    def freeze(self) -> None:
        """Freeze everything and compile the middleware chain of every route."""
        if self._frozen:
            return
        self.pre_freeze()
        self._frozen = True
        for subapp in self._subapps:
            subapp.freeze()
        self._compile_chains()

    def _compile_chains(self) -> None:
        self._chains.clear()
        self._error_chains.clear()
        if not self._run_middlewares:
            return
        self._compile_app_chains((self,))

    def _compile_app_chains(self, apps: tuple["Application", ...]) -> None:
        app = apps[-1]
        self._error_chains[apps] = _build_chain(_raise_http_exception, apps)
        if not isinstance(app._router, UrlDispatcher):
            return
        for resource in app._router.resources():
            if isinstance(resource, PrefixedSubAppResource):
                self._compile_app_chains((*apps, resource._app))
                continue
            for route in resource:
                self._chains[route] = _build_chain(route.handler, apps)

    # -- sub-applications and routes ----------------------------------------

    def _reg_subapp_signals(self, subapp: "Application") -> None:
        def reg_handler(signame: str) -> None:
            subsig: Signal = getattr(subapp, signame)

            async def handler(app: "Application") -> None:
                await subsig.send(subapp)

            getattr(self, signame).append(handler)

        reg_handler("on_startup")
        reg_handler("on_shutdown")
        reg_handler("on_cleanup")

    def _add_subapp(self, factory: Callable[[], _Resource], subapp: "Application") -> _Resource:
        if not isinstance(subapp, Application):
            raise TypeError(f"subapp must be a web.Application, got {subapp!r}")
        if self._frozen or self._pre_frozen:
            raise RuntimeError("Cannot add sub application to frozen application")
        if subapp is self:
            raise ValueError("An application cannot be its own sub-application")
        if subapp.frozen or subapp.pre_frozen:
            raise RuntimeError(f"Cannot add frozen application {subapp!r} (already started or added elsewhere)")
        resource = factory()
        self._router.register_resource(resource)
        self._reg_subapp_signals(subapp)
        self._subapps.append(subapp)
        subapp.pre_freeze()
        if self._loop is not None:
            subapp._set_loop(self._loop)
        return resource

    def add_subapp(self, prefix: str, subapp: "Application") -> PrefixedSubAppResource:
        """Serve ``subapp`` under ``prefix``; its routes get the prefix."""
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {prefix!r}")
        prefix = prefix.rstrip("/")
        if not prefix:
            raise ValueError("Prefix cannot be empty")
        if not prefix.startswith("/"):
            raise ValueError(f"prefix must start with /, got {prefix!r}")
        return self._add_subapp(partial(PrefixedSubAppResource, prefix, subapp), subapp)

    def add_domain(self, domain: str, subapp: "Application") -> MatchedSubAppResource:
        """Serve ``subapp`` for requests to ``domain`` (``*.example.com`` works)."""
        if not isinstance(domain, str):
            raise TypeError(f"domain must be a str, got {domain!r}")
        rule = MaskDomain(domain) if "*" in domain else Domain(domain)
        return self._add_subapp(partial(MatchedSubAppResource, rule, subapp), subapp)

    def add_routes(self, routes: Iterable[AbstractRouteDef]) -> list[AbstractRoute]:
        return self._router.add_routes(routes)

    # -- lifecycle ---------------------------------------------------------

    async def startup(self) -> None:
        """Send ``on_startup`` (sets up ``cleanup_ctx`` first)."""
        await self.on_startup.send(self)

    async def shutdown(self) -> None:
        """Send ``on_shutdown``."""
        await self.on_shutdown.send(self)

    async def cleanup(self) -> None:
        """Send ``on_cleanup``; if startup never finished, undo only what it set up."""
        if self.on_cleanup.frozen:
            await self.on_cleanup.send(self)
        else:
            await self._cleanup_ctx._on_cleanup(self)

    def _make_handler(
        self,
        *,
        loop: Optional["asyncio.AbstractEventLoop"] = None,
        access_log_class: type[Union[AbstractAccessLogger, AbstractAsyncAccessLogger]] = AccessLogger,
        **kwargs: Any,
    ) -> Server:
        if not isinstance(access_log_class, type) or not issubclass(
            access_log_class, (AbstractAccessLogger, AbstractAsyncAccessLogger)
        ):
            raise TypeError(
                f"access_log_class must be a subclass of aiohttp.abc.AbstractAccessLogger, got {access_log_class!r}"
            )
        self._set_loop(loop)
        self.freeze()
        options: dict[str, Any] = {"debug": self._debug, **self._handler_args, **kwargs}
        options["access_log_class"] = access_log_class
        factory: Callable[..., Request] = self._make_request
        if type(self)._make_request is Application._make_request and self._loop is not None:
            # The class itself with the rest bound: no Python frame between it and the server.
            factory = partial(Request, loop=self._loop, client_max_size=self._client_max_size)
        return Server(
            cast(Any, self._handle),
            request_factory=factory,
            loop=self._loop,
            **options,
        )

    def make_handler(
        self,
        *,
        loop: Optional["asyncio.AbstractEventLoop"] = None,
        access_log_class: type[Union[AbstractAccessLogger, AbstractAsyncAccessLogger]] = AccessLogger,
        **kwargs: Any,
    ) -> Server:
        """Deprecated: use ``web.AppRunner``."""
        warnings.warn(
            "Application.make_handler(...) is deprecated, use AppRunner API instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._make_handler(loop=loop, access_log_class=access_log_class, **kwargs)

    def _make_request(
        self,
        message: "RawRequestMessage",
        payload: "StreamReader",
        protocol: "RequestHandler",
        writer: "AbstractStreamWriter",
        task: "asyncio.Task[None]",
        _cls: type[Request] = Request,
    ) -> Request:
        loop = self._loop
        assert loop is not None
        return _cls(message, payload, protocol, writer, task, loop, client_max_size=self._client_max_size)

    # -- serving -----------------------------------------------------------

    async def _handle(self, request: Request) -> StreamResponse:
        match_info = await self._router.resolve(request)
        if type(match_info) is UrlMappingMatchInfo and not match_info._apps:
            # The common case, inlined: one app, nothing to freeze twice.
            match_info._apps.append(self)
            match_info._current_app = self
            match_info._frozen = True
        else:
            match_info.add_app(self)
            match_info.freeze()
        request._match_info = match_info
        if request._headers.get(hdrs.EXPECT) is not None:
            resp = await match_info.expect_handler(request)
            if resp is not None:
                return resp
        if self._run_middlewares is False:
            if type(match_info) is UrlMappingMatchInfo:
                return await match_info._route.handler(request)
            return await match_info.handler(request)
        return await self._chain_for(match_info)(request)

    def _chain_for(self, match_info: AbstractMatchInfo) -> Handler:
        if isinstance(match_info, UrlMappingMatchInfo):
            route = match_info.route
            if isinstance(route, SystemRoute):
                chain = self._error_chains.get(match_info.apps)
            else:
                chain = self._chains.get(route)
            if chain is not None:
                return chain
        # A custom router or resource: compose for this request.
        return _build_chain(match_info.handler, match_info.apps)
