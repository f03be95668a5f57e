"""pytest plugin: runs ``async def`` tests and provides the aiohttp fixtures.

Enable with ``pytest_plugins = "aiohttp.pytest_plugin"`` in a conftest.py.
"""

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

#: Upper bound for a single coroutine test, so that a hung test cannot hang the run.
COROUTINE_TEST_TIMEOUT = 120.0


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop, set as current for the test and closed afterwards."""
    new_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(new_loop)
    try:
        yield new_loop
    finally:
        new_loop.run_until_complete(new_loop.shutdown_asyncgens())
        new_loop.close()
        asyncio.set_event_loop(None)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> Any:
    if collector.funcnamefilter(name) and inspect.iscoroutinefunction(obj):
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
