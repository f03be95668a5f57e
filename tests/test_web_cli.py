"""``python -m aiohttp.web [-H host] [-P port] [-U path] package.module:init_func``."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request

import pytest

REPO = str(pathlib.Path(__file__).resolve().parent.parent)
TIMEOUT = 15

MODULE = textwrap.dedent(
    """
    from aiohttp import web

    async def hello(request):
        return web.Response(text="argv=" + ",".join(request.app[ARGV]))

    ARGV = web.AppKey("argv", list)

    async def on_cleanup(app):
        print("cleanup ran", flush=True)

    def init(argv):
        app = web.Application()
        app[ARGV] = argv
        app.router.add_get("/", hello)
        app.on_cleanup.append(on_cleanup)
        return app

    not_callable = 42
    """
)


@pytest.fixture
def module_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "cliapp.py").write_text(MODULE)
    return tmp_path


def cli(module_dir: pathlib.Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, str(module_dir)])}
    return subprocess.Popen(
        [sys.executable, "-m", "aiohttp.web", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_the_app_and_passes_extra_arguments(module_dir: pathlib.Path) -> None:
    port = free_port()
    proc = cli(module_dir, "-H", "127.0.0.1", "-P", str(port), "cliapp:init", "--extra", "x")
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"Running on http://127.0.0.1:{port}" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=TIMEOUT) as resp:
            assert resp.read() == b"argv=--extra,x"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, err
        assert "cleanup ran" in out
        assert "Stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)


def test_cli_serves_on_a_unix_socket(module_dir: pathlib.Path) -> None:
    path = str(module_dir / "cli.sock")
    proc = cli(module_dir, "-U", path, "cliapp:init")
    try:
        assert proc.stdout is not None
        assert f"unix:{path}" in proc.stdout.readline()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(path)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("cliapp", "'module:function' syntax"),
        ("nosuchmodule:init", "unable to import nosuchmodule"),
        ("cliapp:missing", "has no attribute 'missing'"),
        (".cliapp:init", "relative module names not supported"),
    ],
)
def test_cli_reports_bad_entry_points(module_dir: pathlib.Path, entry: str, message: str) -> None:
    proc = cli(module_dir, entry)
    _out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert message in err
