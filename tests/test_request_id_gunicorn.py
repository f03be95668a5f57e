"""Request ids under real gunicorn: switched on with raw_env, printed by --access-logfile and logconfig_dict."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("gunicorn")

ROOT = Path(__file__).resolve().parent.parent
NGINX_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

APP = textwrap.dedent(
    """
    import logging
    from aiohttp import web

    log = logging.getLogger("shop")

    async def pay(request):
        log.warning("charging order %s", request.query["order"])
        return web.Response(text="paid")

    app = web.Application()
    app.router.add_get("/pay", pay)
    """
)

ACCESS_LOGFILE_CONF = textwrap.dedent(
    """
    raw_env = ["AIOHTTP_REQUEST_ID=1"]
    access_log_format = '"%(r)s" %(s)s rid=%({X-Request-ID}o)s'
    accesslog = "access.log"
    """
)

LOGCONFIG_DICT_CONF = textwrap.dedent(
    """
    raw_env = ["AIOHTTP_REQUEST_ID=1"]
    access_log_format = '"%(r)s" %(s)s'
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "aiohttp.request_id.RequestIdFilter"}},
        "formatters": {"with_id": {"format": "%(name)s %(requestIdPrefix)s%(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": "all.log",
                "filters": ["request_id"],
                "formatter": "with_id",
            },
        },
        "loggers": {"gunicorn.access": {"handlers": ["file"], "level": "INFO", "propagate": False}},
        "root": {"handlers": ["file"], "level": "INFO"},
    }
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, headers: str = "") -> tuple[int, dict[str, str]]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: shop\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {k.lower(): v for k, v in fields.items()}


class Gunicorn:
    def __init__(self, workdir: Path, conf: str, *args: str) -> None:
        (workdir / "shopapp.py").write_text(APP)
        (workdir / "gunicorn.conf.py").write_text(conf)
        self.workdir = workdir
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIOHTTP_REQUEST_ID")}
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{workdir}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-k", "aiohttp.GunicornWebWorker",
             "-w", "1", "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "2", *args, "shopapp:app"],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("gunicorn did not start listening")

    def stop(self) -> str:
        """Stop gracefully; return what gunicorn wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
        return err.decode()

    def read(self, name: str) -> str:
        return (self.workdir / name).read_text()


Start = Callable[..., Gunicorn]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Start]:
    started: list[Gunicorn] = []

    def start(conf: str, *args: str) -> Gunicorn:
        g = Gunicorn(tmp_path, conf, *args)
        started.append(g)
        g.wait_ready()
        return g

    yield start
    for g in started:
        g.stop()


def test_access_logfile_carries_the_id(gunicorn: Start) -> None:
    g = gunicorn(ACCESS_LOGFILE_CONF)
    _, first = get(g.port, "/pay?order=1")
    _, second = get(g.port, "/pay?order=2")
    err = g.stop()
    access = g.read("access.log")
    for order, headers in (("1", first), ("2", second)):
        assert f'"GET /pay?order={order} HTTP/1.1" 200 rid={headers["x-request-id"]}' in access
    assert "charging order 2" in err


def _worker_passes_forwarded_allow_ips() -> bool:
    from aiohttp.worker import runner_accepts_trusted_proxies

    return runner_accepts_trusted_proxies()


@pytest.mark.skipif(
    not _worker_passes_forwarded_allow_ips(),
    reason="the gunicorn worker does not pass forwarded_allow_ips to AppRunner yet",
)
def test_id_from_a_trusted_proxy_is_adopted(gunicorn: Start) -> None:
    g = gunicorn(ACCESS_LOGFILE_CONF, "--forwarded-allow-ips", "127.0.0.1")
    _, adopted = get(g.port, "/pay?order=2", f"X-Request-ID: {NGINX_ID}\r\n")
    g.stop()
    assert adopted["x-request-id"] == NGINX_ID
    assert f'"GET /pay?order=2 HTTP/1.1" 200 rid={NGINX_ID}' in g.read("access.log")


def test_untrusted_peer_id_is_not_adopted(gunicorn: Start) -> None:
    g = gunicorn(ACCESS_LOGFILE_CONF, "--forwarded-allow-ips", "10.0.0.1")
    _, headers = get(g.port, "/pay?order=3", f"X-Request-ID: {NGINX_ID}\r\n")
    g.stop()
    rid = headers["x-request-id"]
    assert rid != NGINX_ID
    assert f"rid={rid}" in g.read("access.log")


def test_logconfig_dict_with_the_filter(gunicorn: Start) -> None:
    g = gunicorn(LOGCONFIG_DICT_CONF)
    _, first = get(g.port, "/pay?order=10")
    _, second = get(g.port, "/pay?order=11")
    g.stop()
    lines = g.read("all.log").splitlines()
    for order, headers in (("10", first), ("11", second)):
        rid = headers["x-request-id"]
        assert f"shop [req:{rid}] charging order {order}" in lines
        assert f'gunicorn.access [req:{rid}] "GET /pay?order={order} HTTP/1.1" 200' in lines
