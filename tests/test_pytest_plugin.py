"""aiohttp.pytest_plugin, driven the way users drive it: pytest runs a suite in a subprocess.

The sample user suite in tests/user_suite/ (written from aiohttp's testing docs) must pass
unchanged; smaller inline suites pin the plugin's options and fixtures.
"""

import shutil
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
USER_SUITE = Path(__file__).resolve().parent / "user_suite"
#: Upper bound for one pytest subprocess.
RUN_TIMEOUT = 60


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A scratch directory whose conftest enables our plugin, importing this checkout."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    # Third-party plugins (hypothesis takes a second to import) play no part here.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    shutil.copy(USER_SUITE / "conftest_plugin.py", pytester.path / "conftest.py")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=RUN_TIMEOUT)


def copy_suite(pytester: pytest.Pytester, name: str) -> None:
    shutil.copy(USER_SUITE / f"suite_{name}.py", pytester.path / f"test_{name}.py")


# -- the user suite, unchanged ---------------------------------------------------------


def test_user_suite_with_the_fixtures_passes(suite: pytest.Pytester) -> None:
    copy_suite(suite, "fixtures")
    result = run(suite)
    result.assert_outcomes(passed=13)


def test_user_suite_unittest_style_passes(suite: pytest.Pytester) -> None:
    copy_suite(suite, "unittest")
    result = run(suite)
    result.assert_outcomes(passed=4)


def test_user_suite_unittest_style_passes_under_plain_unittest(suite: pytest.Pytester) -> None:
    copy_suite(suite, "unittest")
    result = suite.run(
        sys.executable, "-m", "unittest", "-v", "test_unittest", timeout=RUN_TIMEOUT
    )
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(["Ran 4 tests*", "OK"])


def test_user_suite_mocked_requests_pass(suite: pytest.Pytester) -> None:
    copy_suite(suite, "mocked_request")
    result = run(suite)
    result.assert_outcomes(passed=4)


def test_user_suite_framework_agnostic_passes_without_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    copy_suite(pytester, "agnostic")
    result = run(pytester)
    result.assert_outcomes(passed=2)


# -- the plugin's own behaviour, with a raw server ------------------------------------

RAW_SUITE = """
import asyncio
import pytest
from aiohttp import web


async def handler(request):
    return web.Response(text="raw " + request.path)


@pytest.fixture
async def client(aiohttp_raw_server, aiohttp_client):
    server = await aiohttp_raw_server(handler)
    return await aiohttp_client(server)


async def test_raw(client):
    resp = await client.get("/x")
    assert await resp.text() == "raw /x"


async def test_loop_is_the_running_loop(loop):
    assert asyncio.get_running_loop() is loop


def test_unused_port(aiohttp_unused_port):
    assert 0 < aiohttp_unused_port() < 65536
"""


def test_raw_server_and_client_fixtures(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_raw=RAW_SUITE)
    result = run(suite, "-v")
    result.assert_outcomes(passed=3)


def test_aiohttp_client_refuses_other_arguments(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_bad="""
        import pytest

        async def test_bad(aiohttp_client):
            with pytest.raises(ValueError, match="Application"):
                await aiohttp_client("http://127.0.0.1/")
        """
    )
    run(suite).assert_outcomes(passed=1)


def test_servers_are_closed_after_each_test(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_close="""
        from aiohttp import web

        seen = []

        async def handler(request):
            return web.Response()

        async def test_first(aiohttp_raw_server, aiohttp_client):
            server = await aiohttp_raw_server(handler)
            client = await aiohttp_client(server)
            seen.append((server, client))

        def test_second():
            server, client = seen[0]
            assert server.closed
            assert client.session.closed
        """
    )
    run(suite).assert_outcomes(passed=2)


def test_custom_client_class_fixture(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_cls="""
        import pytest
        from aiohttp import web
        from aiohttp.test_utils import TestClient

        class MyClient(TestClient):
            pass

        @pytest.fixture
        def aiohttp_client_cls():
            return MyClient

        async def test_cls(aiohttp_raw_server, aiohttp_client):
            async def handler(request):
                return web.Response()
            client = await aiohttp_client(await aiohttp_raw_server(handler))
            assert isinstance(client, MyClient)
        """
    )
    run(suite).assert_outcomes(passed=1)


LOOP_SUITE = """
import asyncio


def test_which_loop(loop, request):
    print("LOOP", type(loop).__module__, request.node.name, loop.get_debug())


async def test_async(loop):
    assert asyncio.get_running_loop() is loop
"""


def test_loop_option_runs_each_test_on_every_loop(suite: pytest.Pytester) -> None:
    pytest.importorskip("uvloop")
    suite.makepyfile(test_loops=LOOP_SUITE)
    result = run(suite, "-s", "-v", "--aiohttp-loop=pyloop,uvloop")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*LOOP asyncio* test_which_loop[[]pyloop[]] False*",
            "*LOOP uvloop* test_which_loop[[]uvloop[]] False*",
        ]
    )


def test_loop_option_all_and_single(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_loops=LOOP_SUITE)
    result = run(suite, "-s", "--aiohttp-loop=all")
    expected = 4 if _has_uvloop() else 2
    result.assert_outcomes(passed=expected)
    result = run(suite, "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*LOOP asyncio* test_which_loop False*"])


def test_unknown_loop_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_loops=LOOP_SUITE)
    result = run(suite, "--aiohttp-loop=tokio")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown loop 'tokio'*"])


def test_loop_debug_option(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_loops=LOOP_SUITE)
    result = run(suite, "-s", "--aiohttp-enable-loop-debug")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*LOOP asyncio* test_which_loop True*"])


def test_fast_option_is_accepted(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_raw=RAW_SUITE)
    run(suite, "--aiohttp-fast").assert_outcomes(passed=3)


def test_options_are_documented_in_help(suite: pytest.Pytester) -> None:
    result = run(suite, "--help")
    result.stdout.fnmatch_lines(
        ["*--aiohttp-fast*", "*--aiohttp-loop*", "*--aiohttp-enable-loop-debug*"]
    )


def test_hung_test_fails_instead_of_hanging(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        conftest_extra="",
        test_hang="""
        import asyncio
        import aiohttp.pytest_plugin as plugin

        plugin.COROUTINE_TEST_TIMEOUT = 0.2

        async def test_hang():
            await asyncio.sleep(30)
        """,
    )
    result = run(suite)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TimeoutError*"])


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True
