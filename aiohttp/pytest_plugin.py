"""pytest plugin: runs ``async def`` tests and provides the aiohttp fixtures.

Enable with ``pytest_plugins = "aiohttp.pytest_plugin"`` in a conftest.py. Each test that
is a coroutine, or asks for ``loop``, runs on a fresh event loop; async fixtures run on the
same loop. Fixtures: ``loop``, ``aiohttp_client``, ``aiohttp_server``, ``aiohttp_raw_server``,
``aiohttp_unused_port``, ``aiohttp_client_cls``. Options: ``--aiohttp-loop``,
``--aiohttp-fast``, ``--aiohttp-enable-loop-debug``.
"""

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Optional, Protocol, TypeVar, Union

import pytest

from .test_utils import (
    BaseTestServer,
    RawTestServer,
    TestClient,
    TestServer,
    loop_context,
    unused_port,
)
from .web_app import Application

#: Upper bound for a single coroutine test, so that a hung test cannot hang the run.
COROUTINE_TEST_TIMEOUT = 120.0

_LoopFactory = Callable[[], asyncio.AbstractEventLoop]
AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]
AiohttpServer = Callable[..., Awaitable[TestServer]]
AiohttpRawServer = Callable[..., Awaitable[RawTestServer]]
_ClosableT = TypeVar("_ClosableT", bound="_Closable")
_ServerT = TypeVar("_ServerT", bound=BaseTestServer[Any])


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aiohttp")
    group.addoption(
        "--aiohttp-fast",
        action="store_true",
        default=False,
        help="skip the garbage collection after each test that surfaces unclosed resources",
    )
    group.addoption(
        "--aiohttp-loop",
        action="store",
        default="pyloop",
        help="event loops to run tests on, comma-separated: pyloop, uvloop or all",
    )
    group.addoption(
        "--aiohttp-enable-loop-debug",
        action="store_true",
        default=False,
        help="run test loops in asyncio debug mode",
    )


def _uvloop_factory() -> Optional[_LoopFactory]:
    try:
        import uvloop
    except ImportError:
        return None
    factory: _LoopFactory = uvloop.new_event_loop
    return factory


def _loop_factories(config: pytest.Config) -> dict[str, _LoopFactory]:
    """The loops ``--aiohttp-loop`` asks for, by name, in the order given."""
    names = [n.strip() for n in str(config.getoption("--aiohttp-loop")).split(",") if n.strip()]
    uvloop_factory = _uvloop_factory()
    factories: dict[str, _LoopFactory] = {}
    for name in names or ["pyloop"]:
        if name == "all":
            factories["pyloop"] = asyncio.new_event_loop
            if uvloop_factory is not None:
                factories["uvloop"] = uvloop_factory
        elif name == "pyloop":
            factories["pyloop"] = asyncio.new_event_loop
        elif name == "uvloop":
            if uvloop_factory is None:
                raise pytest.UsageError("--aiohttp-loop=uvloop needs uvloop: pip install uvloop")
            factories["uvloop"] = uvloop_factory
        else:
            raise pytest.UsageError(
                f"--aiohttp-loop: unknown loop {name!r}; use pyloop, uvloop or all"
            )
    return factories


_FACTORIES_KEY = pytest.StashKey[dict[str, _LoopFactory]]()


def pytest_configure(config: pytest.Config) -> None:
    # Fail early, at start-up, on a bad --aiohttp-loop value.
    config.stash[_FACTORIES_KEY] = _loop_factories(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each loop-using test once per loop when ``--aiohttp-loop`` names several."""
    if "loop_factory" not in metafunc.fixturenames:
        return
    factories = metafunc.config.stash[_FACTORIES_KEY]
    if len(factories) > 1:
        metafunc.parametrize("loop_factory", list(factories.values()), ids=list(factories))


@pytest.fixture
def loop_factory(request: pytest.FixtureRequest) -> _LoopFactory:
    """Makes the test's event loop (the first loop ``--aiohttp-loop`` names)."""
    factories = request.config.stash[_FACTORIES_KEY]
    return next(iter(factories.values()))


@pytest.fixture
def fast(request: pytest.FixtureRequest) -> bool:
    """``--aiohttp-fast``: skip the slower clean-up checks."""
    return bool(request.config.getoption("--aiohttp-fast"))


@pytest.fixture
def loop_debug(request: pytest.FixtureRequest) -> bool:
    """``--aiohttp-enable-loop-debug``: asyncio debug mode on test loops."""
    return bool(request.config.getoption("--aiohttp-enable-loop-debug"))


@pytest.fixture
def loop(
    loop_factory: _LoopFactory, fast: bool, loop_debug: bool
) -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop, set as current for the test and closed afterwards."""
    with loop_context(loop_factory, fast=fast) as new_loop:
        if loop_debug:
            new_loop.set_debug(True)
        yield new_loop


@pytest.fixture
def proactor_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A ProactorEventLoop (Windows only; skips elsewhere)."""
    factory = getattr(asyncio, "ProactorEventLoop", None)
    if factory is None:
        pytest.skip("ProactorEventLoop exists only on Windows")
    with loop_context(factory) as new_loop:
        yield new_loop


@pytest.fixture
def aiohttp_unused_port() -> Callable[[], int]:
    """A function returning a free TCP port of 127.0.0.1."""
    return unused_port


class _Closable(Protocol):
    async def close(self) -> None: ...


@contextlib.contextmanager
def _closed_on_exit(
    loop: asyncio.AbstractEventLoop, items: list[_ClosableT]
) -> Iterator[list[_ClosableT]]:
    """Yield ``items``; afterwards close each on ``loop``, the last made first."""
    try:
        yield items
    finally:

        async def close_all() -> None:
            while items:
                await items.pop().close()

        loop.run_until_complete(close_all())


async def _start(
    server: _ServerT, loop: asyncio.AbstractEventLoop, kept: list[_ServerT], **kwargs: Any
) -> _ServerT:
    """Start ``server`` on ``loop`` (``kwargs`` go to its runner) and keep it for closing."""
    await server.start_server(loop=loop, **kwargs)
    kept.append(server)
    return server


@pytest.fixture
def aiohttp_server(loop: asyncio.AbstractEventLoop) -> Iterator[AiohttpServer]:
    """``await aiohttp_server(app, *, host=, port=, **runner_kwargs)``: a started TestServer."""
    servers: list[TestServer] = []

    async def go(
        app: Any, *, host: str = "127.0.0.1", port: Optional[int] = None, **kwargs: Any
    ) -> TestServer:
        return await _start(TestServer(app, host=host, port=port), loop, servers, **kwargs)

    with _closed_on_exit(loop, servers):
        yield go


@pytest.fixture
def aiohttp_raw_server(loop: asyncio.AbstractEventLoop) -> Iterator[AiohttpRawServer]:
    """``await aiohttp_raw_server(handler, *, port=, **server_kwargs)``: a started RawTestServer."""
    servers: list[RawTestServer] = []

    async def go(handler: Any, *, port: Optional[int] = None, **kwargs: Any) -> RawTestServer:
        return await _start(RawTestServer(handler, port=port), loop, servers, **kwargs)

    with _closed_on_exit(loop, servers):
        yield go


@pytest.fixture
def aiohttp_client_cls() -> type[TestClient[Any, Any]]:
    """The client class ``aiohttp_client`` makes; override to use a subclass."""
    return TestClient


@pytest.fixture
def aiohttp_client(
    loop: asyncio.AbstractEventLoop, aiohttp_client_cls: type[TestClient[Any, Any]]
) -> Iterator[AiohttpClient]:
    """``await aiohttp_client(app | server | raw_server, *, server_kwargs=, **client_kwargs)``.

    Starts the server, returns a TestClient for it; both are closed after the test.
    """
    clients: list[TestClient[Any, Any]] = []

    async def go(
        __param: Union[Any, BaseTestServer[Any]],
        /,
        *,
        server_kwargs: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> TestClient[Any, Any]:
        if isinstance(__param, Application):
            server: BaseTestServer[Any] = TestServer(__param, **(server_kwargs or {}))
        elif isinstance(__param, BaseTestServer):
            server = __param
        else:
            raise ValueError(
                "aiohttp_client takes a web.Application, a TestServer or a RawTestServer, "
                f"not {type(__param).__name__}"
            )
        client = aiohttp_client_cls(server, loop=loop, **kwargs)
        await client.start_server()
        clients.append(client)
        return client

    with _closed_on_exit(loop, clients):
        yield go


# -- running coroutine tests and async fixtures on ``loop`` ------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> Any:
    """Collect ``async def`` tests, each asking for ``loop`` so its async fixtures share it."""
    if collector.funcnamefilter(name) and inspect.iscoroutinefunction(obj):
        obj = pytest.mark.usefixtures("loop")(obj)
        return list(collector._genfunctions(name, obj))
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> None:
    """Let async fixtures run on the test's ``loop``."""
    func = fixturedef.func
    if not (inspect.isasyncgenfunction(func) or inspect.iscoroutinefunction(func)):
        return
    strip_request = "request" not in fixturedef.argnames
    if strip_request:
        fixturedef.argnames += ("request",)
    if "loop" not in fixturedef.argnames:
        fixturedef.argnames += ("loop",)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        the_loop: asyncio.AbstractEventLoop = kwargs["loop"]
        req = kwargs["request"]
        if strip_request:
            del kwargs["request"]
        if "loop" not in inspect.signature(func).parameters:
            del kwargs["loop"]
        if inspect.isasyncgenfunction(func):
            gen = func(*args, **kwargs)

            def finalizer() -> None:
                try:
                    the_loop.run_until_complete(gen.__anext__())
                except StopAsyncIteration:
                    pass
                else:
                    raise RuntimeError(f"async fixture {func.__name__} did not stop after one yield")

            req.addfinalizer(finalizer)
            return the_loop.run_until_complete(gen.__anext__())
        return the_loop.run_until_complete(func(*args, **kwargs))

    fixturedef.func = wrapper


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: Any) -> Any:
    """Run coroutine tests on the ``loop`` fixture, bounded in time."""
    if not inspect.iscoroutinefunction(pyfuncitem.function):
        return None
    existing = pyfuncitem.funcargs.get("loop")
    the_loop = existing if existing is not None else asyncio.new_event_loop()
    testargs = {arg: pyfuncitem.funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
    try:
        the_loop.run_until_complete(
            asyncio.wait_for(pyfuncitem.obj(**testargs), COROUTINE_TEST_TIMEOUT)
        )
    finally:
        if existing is None:
            the_loop.run_until_complete(the_loop.shutdown_asyncgens())
            the_loop.close()
    return True


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Give every coroutine test the ``loop`` fixture so its async fixtures share it."""
    for item in items:
        func = getattr(item, "function", None)
        if func is not None and inspect.iscoroutinefunction(func):
            if "loop" not in item.fixturenames:
                item.fixturenames.append("loop")
