"""``web.run_app`` in a real subprocess: serve, answer, stop on SIGINT/SIGTERM, clean up."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from aiohttp import web

REPO = str(pathlib.Path(__file__).resolve().parent.parent)
TIMEOUT = 15

APP_SOURCE = textwrap.dedent(
    """
    import sys
    from aiohttp import web

    async def hello(request):
        return web.Response(text="hello from run_app")

    async def on_shutdown(app):
        print("on_shutdown ran", flush=True)

    async def on_cleanup(app):
        print("on_cleanup ran", flush=True)

    async def make_app():
        app = web.Application()
        app.router.add_get("/", hello)
        app.on_shutdown.append(on_shutdown)
        app.on_cleanup.append(on_cleanup)
        return app

    def say(text):
        print(text, flush=True)
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(tmp_path: pathlib.Path, call: str, **popen: object) -> Iterator[subprocess.Popen[str]]:
    """Start a script that runs ``call`` after APP_SOURCE; wait for its banner."""
    script = tmp_path / "serve.py"
    script.write_text(APP_SOURCE + "\n" + call + "\n")
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **popen,  # type: ignore[call-overload]
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "Running on" in banner, banner + proc.stdout.read()
        assert "CTRL+C" in proc.stdout.readline()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
        return str(resp.read().decode())


def stop(proc: subprocess.Popen[str], signum: int) -> str:
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=TIMEOUT)
    return out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_app_serves_and_stops_cleanly_on_signal(tmp_path: pathlib.Path, signum: int) -> None:
    port = free_port()
    call = f"web.run_app(make_app(), host='127.0.0.1', port={port}, print=say)"
    with running(tmp_path, call) as proc:
        assert get(f"http://127.0.0.1:{port}/") == "hello from run_app"
        out = stop(proc, signum)
        assert proc.returncode == 0, out
        assert "on_shutdown ran" in out and "on_cleanup ran" in out
        assert "Traceback" not in out


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_run_app_on_several_hosts_and_a_unix_socket(tmp_path: pathlib.Path) -> None:
    port = free_port()
    path = tmp_path / "app.sock"
    call = f"web.run_app(make_app(), host=['127.0.0.1', '::1'], port={port}, path={str(path)!r}, print=say)"
    with running(tmp_path, call) as proc:
        assert get(f"http://127.0.0.1:{port}/") == "hello from run_app"
        assert get(f"http://[::1]:{port}/") == "hello from run_app"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(str(path))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"hello from run_app")
        out = stop(proc, signal.SIGTERM)
        assert proc.returncode == 0 and "on_cleanup ran" in out


def test_run_app_on_an_inherited_socket(tmp_path: pathlib.Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    fd = sock.fileno()
    call = f"import socket\nweb.run_app(make_app(), sock=socket.socket(fileno={fd}), print=say, shutdown_timeout=1)"
    try:
        with running(tmp_path, call, pass_fds=(fd,)) as proc:
            assert get(f"http://127.0.0.1:{port}/") == "hello from run_app"
            stop(proc, signal.SIGINT)
            assert proc.returncode == 0
    finally:
        sock.close()


def test_run_app_startup_failure_still_cleans_up(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text(
        APP_SOURCE
        + textwrap.dedent(
            """
            async def ctx(app):
                print("ctx set up", flush=True)
                yield
                print("ctx cleaned up", flush=True)

            async def broken(app):
                raise RuntimeError("database unreachable")

            async def make_broken():
                app = await make_app()
                app.cleanup_ctx.append(ctx)
                app.on_startup.append(broken)
                return app

            web.run_app(make_broken(), host="127.0.0.1", port=0, print=say)
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert result.returncode != 0
    assert "database unreachable" in result.stderr
    assert "ctx set up" in result.stdout and "ctx cleaned up" in result.stdout


def test_run_app_rejects_a_bad_access_log_class() -> None:
    with pytest.raises(TypeError, match="access_log_class"):
        web.run_app(web.Application(), access_log_class=object)  # type: ignore[arg-type]
