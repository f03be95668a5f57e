"""The gunicorn workers, run by real gunicorn processes over real sockets.

Each test starts ``python -m gunicorn`` with one of our worker classes and talks raw
HTTP to it; apps live in ``tests/worker_apps``.
"""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from itertools import groupby
from pathlib import Path

import pytest
from worker_apps.harness import (
    APPS,
    DEADLINE,
    REPO,
    WORKERS,
    Gunicorn,
    connect,
    free_port,
    read_reply,
    request,
    wait_for_line,
    wait_gone,
)

pytestmark = pytest.mark.integration

HAS_APPLICATION = True
try:
    import aiohttp.web_app  # noqa: F401
except ImportError:  # the application layer is not there yet
    HAS_APPLICATION = False
needs_application = pytest.mark.skipif(not HAS_APPLICATION, reason="aiohttp.web_app is not available")

LOWLEVEL = "lowlevel:make_runner"
BOTH = pytest.mark.parametrize("worker_class", WORKERS, ids=["asyncio", "uvloop"])


def pid_of(reply_text: str) -> int:
    return int(reply_text.strip())


# -- apps and binds -------------------------------------------------------------------


@BOTH
def test_serves_a_runner_factory_on_a_unix_socket(tmp_path: Path, worker_class: str) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, worker_class=worker_class) as g:
        reply = g.wait_ready()
        assert reply.status == 200
        assert pid_of(reply.text) != g.pid  # a worker answered, not the arbiter


def test_serves_on_tcp(tmp_path: Path) -> None:
    port = free_port()
    with Gunicorn(tmp_path, LOWLEVEL, bind=f"127.0.0.1:{port}") as g:
        assert g.wait_ready().status == 200
        assert request(("127.0.0.1", port)).status == 200


def test_serves_on_an_inherited_fd(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    with listener, Gunicorn(tmp_path, LOWLEVEL, bind=f"fd://{listener.fileno()}", pass_fds=(listener.fileno(),)) as g:
        g.address = ("127.0.0.1", port)
        assert g.wait_ready().status == 200


def test_serves_on_a_systemd_activated_socket(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    # systemd passes sockets from fd 3 with LISTEN_FDS and LISTEN_PID set for the exec'd process.
    prefix = ("bash", "-c", f'exec 3>&{fd} {fd}>&-; LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "bash")
    with listener, Gunicorn(tmp_path, LOWLEVEL, bind="systemd", pass_fds=(fd,), prefix=prefix) as g:
        g.address = ("127.0.0.1", port)
        assert g.wait_ready().status == 200
        g.wait_for_log(r"Listening at: .*systemd|Listening at: http://127.0.0.1")


@needs_application
@pytest.mark.parametrize(
    "app", ["webapp:app", "webapp:create_app", "webapp:create_app_async", "webapp:create_runner"]
)
def test_serves_every_kind_of_app_with_gunicorns_settings(tmp_path: Path, app: str) -> None:
    with Gunicorn(tmp_path, app, "--access-logfile", "access.log", "--keep-alive", "1") as g:
        assert g.wait_ready().status == 200
        with connect(g.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_reply(sock).status == 200
            assert sock.recv(1) == b""  # gunicorn's keepalive (1 s) closed the idle connection
        wait_for_line(tmp_path / "access.log", '"GET / HTTP/1.1" 200')


def test_a_factory_made_runner_gets_gunicorns_settings(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, "lowlevel:make_runner_with_options", "--keep-alive", "1") as g:
        g.wait_ready()
        with connect(g.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_reply(sock).status == 200
            assert sock.recv(1) == b""  # --keepalive 1 replaced the runner's 300 s
        assert "gunicorn's keepalive setting replaces it" in g.logs()


def test_the_uvloop_worker_uses_no_event_loop_policy(tmp_path: Path) -> None:
    """Python 3.14 deprecates the policy API; the worker makes its uvloop loop directly."""
    guard = tmp_path / "sitecustomize.py"
    guard.write_text(
        "import asyncio\n"
        "def _refuse(*args, **kwargs):\n"
        "    raise RuntimeError('event loop policy API used')\n"
        "asyncio.set_event_loop_policy = _refuse\n"
        "asyncio.get_event_loop_policy = _refuse\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO), str(APPS)])}
    with Gunicorn(tmp_path, LOWLEVEL, worker_class=WORKERS[1], env=env) as g:
        assert g.wait_ready().status == 200
        assert "policy API used" not in g.logs()


def test_importing_aiohttp_does_not_import_gunicorn() -> None:
    code = "import sys, aiohttp, aiohttp.web; assert 'gunicorn' not in sys.modules; aiohttp.GunicornWebWorker"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=DEADLINE, env=_env())
    code = "from aiohttp.worker import GunicornWebWorker, GunicornUVLoopWebWorker"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=DEADLINE, env=_env())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


# -- boot failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("broken_import:app", "a_module_that_does_not_exist"),
        ("lowlevel:failing_factory", "the factory could not reach its database"),
        pytest.param(
            "webapp:create_failing_app", "on_startup could not open the database", marks=needs_application
        ),
    ],
)
def test_a_boot_failure_stops_the_arbiter(tmp_path: Path, app: str, message: str) -> None:
    with Gunicorn(tmp_path, app) as g:
        assert g.wait_exit() == 3  # gunicorn's WORKER_BOOT_ERROR: halt, do not respawn
        logs = g.logs()
        assert message in logs
        assert logs.count("Booting worker") == 1


def test_an_untranslatable_gunicorn_atom_is_a_clear_boot_error(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--access-logfile", "access.log", "--access-logformat", "%(m)s %(U)s") as g:
        assert g.wait_exit() == 3
        assert "%(m)s has no aiohttp equivalent" in g.logs()


# -- settings ---------------------------------------------------------------------------


def test_default_access_log_format_becomes_aiohttps(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--access-logfile", "access.log") as g:
        g.wait_ready()
        request(g.address, "/?q=1", headers="Referer: http://r/\r\nUser-Agent: probe/1\r\n")
        line = wait_for_line(tmp_path / "access.log", "q=1")
    assert re.fullmatch(
        r'- \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /\?q=1 HTTP/1.1" 200 \d+ "http://r/" "probe/1"',
        line,
    )


def test_every_aiohttp_atom_in_gunicorns_access_log(tmp_path: Path) -> None:
    port = free_port()
    fmt = '%a %t "%r" %s %b %T %Tf %D %P "%{User-Agent}i" "%{Content-Type}o" %{ACCESS_ENV}e %%'
    with Gunicorn(
        tmp_path, LOWLEVEL, "--access-logfile", "access.log", "--access-logformat", fmt,
        bind=f"127.0.0.1:{port}", env={"ACCESS_ENV": "from-env"},
    ) as g:
        pid = pid_of(g.wait_ready().text)
        request(g.address, "/x", headers="User-Agent: probe/1\r\n")
        line = wait_for_line(tmp_path / "access.log", "GET /x")
    assert re.fullmatch(
        rf'127\.0\.0\.1 \[[^]]+\] "GET /x HTTP/1.1" 200 \d+ \d+ \d+\.\d{{6}} \d+ <{pid}> '
        r'"probe/1" "text/plain; charset=utf-8" from-env %',
        line,
    ), line


def test_gunicorn_style_atoms_are_translated(tmp_path: Path) -> None:
    port = free_port()
    fmt = '%(h)s %(l)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(p)s %({x-trace}i)s %(L)s'
    with Gunicorn(
        tmp_path, LOWLEVEL, "--access-logfile", "access.log", "--access-logformat", fmt, bind=f"127.0.0.1:{port}"
    ) as g:
        pid = pid_of(g.wait_ready().text)
        request(g.address, "/y", headers="X-Trace: t-1\r\nUser-Agent: ua\r\n")
        line = wait_for_line(tmp_path / "access.log", "GET /y")
    assert re.fullmatch(rf'127\.0\.0\.1 - \[[^]]+\] "GET /y HTTP/1.1" 200 \d+ "-" "ua" <{pid}> t-1 \d+\.\d{{6}}', line), line


def test_errorlog_and_loglevel_go_through_gunicorns_logger(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--log-level", "error") as g:
        g.wait_ready()
        assert request(g.address, "/boom").status == 500
        g.wait_for_log(r"RuntimeError: boom from the handler")
        assert "[ERROR] Error handling request" in g.logs()
        assert "keepalive is" not in g.logs()  # a warning, below --log-level error


def test_warns_when_keepalive_is_shorter_than_nginxs(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL) as g:
        g.wait_ready()
        g.wait_for_log(r"keepalive is 2s, shorter than nginx's default upstream keepalive_timeout")
    with Gunicorn(tmp_path, LOWLEVEL, "--keep-alive", "75") as g:
        g.wait_ready()
        assert "shorter than nginx" not in g.logs().split("Starting gunicorn")[-1]


def test_request_limits_become_parser_limits(tmp_path: Path) -> None:
    with Gunicorn(
        tmp_path, LOWLEVEL,
        "--limit-request-line", "100", "--limit-request-fields", "5", "--limit-request-field_size", "60",
    ) as g:
        g.wait_ready()
        assert request(g.address, "/" + "a" * 200).status == 414
        many = "".join(f"X-H{i}: v\r\n" for i in range(10))
        assert request(g.address, "/", headers=many).status == 431
        assert request(g.address, "/", headers=f"X-Long: {'v' * 100}\r\n").status == 431
        assert request(g.address, "/" + "a" * 50, headers=f"X-Ok: {'v' * 20}\r\n").status == 200


@pytest.mark.parametrize("app", [LOWLEVEL, pytest.param("webapp:app", marks=needs_application)])
def test_forwarded_allow_ips_decides_whose_forwarding_headers_count(tmp_path: Path, app: str) -> None:
    forwarded = "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"
    for allowed, expected in [("127.0.0.1", "203.0.113.9 https\n"), ("10.9.9.9", "127.0.0.1 http\n")]:
        port = free_port()
        with Gunicorn(tmp_path, app, "--forwarded-allow-ips", allowed, bind=f"127.0.0.1:{port}") as g:
            g.wait_ready()
            assert request(g.address, "/remote", headers=forwarded).text == expected


def test_timeout_heartbeat_keeps_an_idle_worker_alive(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--timeout", "1") as g:
        first = pid_of(g.wait_ready().text)
        time.sleep(2.5)
        assert pid_of(request(g.address).text) == first
        assert "WORKER TIMEOUT" not in g.logs()


# -- max_requests -----------------------------------------------------------------------


@BOTH
def test_max_requests_is_exact(tmp_path: Path, worker_class: str) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--max-requests", "3", worker_class=worker_class) as g:
        pids = [pid_of(g.wait_ready().text)]
        pids += [pid_of(request(g.address, timeout=DEADLINE).text) for _ in range(8)]
        assert [len(list(run)) for _, run in groupby(pids)] == [3, 3, 3]
        # On one keep-alive connection the third answer says Connection: close.
        with connect(g.address, timeout=DEADLINE) as sock:
            served = 0
            while True:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                reply = read_reply(sock)
                served += 1
                if reply.headers.get("connection") == "close":
                    break
            assert served == 3


def test_max_requests_jitter_stays_in_range(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--max-requests", "2", "--max-requests-jitter", "2") as g:
        pids = [pid_of(g.wait_ready().text)]
        pids += [pid_of(request(g.address, timeout=DEADLINE).text) for _ in range(11)]
        runs = [len(list(run)) for _, run in groupby(pids)]
        assert all(2 <= n <= 4 for n in runs[:-1]), runs


# -- signals ----------------------------------------------------------------------------


@BOTH
def test_term_lets_in_flight_requests_finish_with_connection_close(tmp_path: Path, worker_class: str) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, worker_class=worker_class) as g:
        g.wait_ready()
        with connect(g.address, timeout=DEADLINE) as sock:
            sock.sendall(b"GET /slow?t=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            g.signal(signal.SIGTERM)
            reply = read_reply(sock)
            assert reply.status == 200
            assert reply.headers["connection"] == "close"
        assert g.wait_exit() == 0


def test_graceful_timeout_bounds_the_drain(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--graceful-timeout", "1") as g:
        g.wait_ready()
        with connect(g.address, timeout=DEADLINE) as sock:
            sock.sendall(b"GET /slow?t=20 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            g.signal(signal.SIGTERM)
            g.wait_exit(timeout=10)  # long before the handler's 20 s


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=["INT", "QUIT"])
def test_int_and_quit_shut_down_quickly_and_run_worker_int(tmp_path: Path, sig: int) -> None:
    marker = tmp_path / "worker_int.txt"
    config = f"def worker_int(worker):\n    open({str(marker)!r}, 'a').write('called')\n"
    with Gunicorn(tmp_path, LOWLEVEL, config=config) as g:
        g.wait_ready()
        with connect(g.address, timeout=DEADLINE) as sock:
            sock.sendall(b"GET /slow?t=20 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            g.signal(sig)
            g.wait_exit(timeout=10)
        assert marker.read_text().startswith("called")


def test_hup_starts_new_workers_that_serve(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL) as g:
        old = pid_of(g.wait_ready().text)
        g.signal(signal.SIGHUP)
        deadline = time.monotonic() + DEADLINE
        while pid_of(request(g.address).text) == old:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert wait_gone(old)


def test_usr1_reopens_the_access_log(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, "--access-logfile", "access.log") as g:
        g.wait_ready()
        (tmp_path / "access.log").rename(tmp_path / "access.log.1")
        g.signal(signal.SIGUSR1)
        deadline = time.monotonic() + DEADLINE
        while not (tmp_path / "access.log").exists() or "/after" not in (tmp_path / "access.log").read_text():
            assert time.monotonic() < deadline, g.logs()
            request(g.address, "/after")
            time.sleep(0.1)
        assert '"GET / HTTP/1.1"' in (tmp_path / "access.log.1").read_text()


@BOTH
def test_a_blocked_loop_is_killed_by_the_timeout_and_worker_abort_runs(tmp_path: Path, worker_class: str) -> None:
    marker = tmp_path / "worker_abort.txt"
    config = f"def worker_abort(worker):\n    open({str(marker)!r}, 'a').write(str(worker.pid))\n"
    with Gunicorn(tmp_path, LOWLEVEL, "--timeout", "1", config=config, worker_class=worker_class) as g:
        blocked = pid_of(g.wait_ready().text)
        with connect(g.address, timeout=DEADLINE) as sock:
            sock.sendall(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
            g.wait_for_log(r"WORKER TIMEOUT")
            deadline = time.monotonic() + DEADLINE
            while not marker.exists():
                assert time.monotonic() < deadline, g.logs()
                time.sleep(0.05)
        assert marker.read_text() == str(blocked)
        assert pid_of(g.wait_ready().text) != blocked


@BOTH
def test_subprocess_exit_codes_are_right_in_a_worker(tmp_path: Path, worker_class: str) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, worker_class=worker_class) as g:
        g.wait_ready()
        assert request(g.address, "/child", timeout=DEADLINE).text == "7\n"


def test_the_worker_exits_when_its_parent_is_gone(tmp_path: Path) -> None:
    with Gunicorn(tmp_path, LOWLEVEL) as g:
        worker = pid_of(g.wait_ready().text)
        os.kill(g.pid, signal.SIGKILL)
        assert wait_gone(worker)


# -- no request lost under load -------------------------------------------------------


class Load:
    """Threads sending one request per connection until stopped; counts what failed."""

    def __init__(self, address: object, threads: int = 8) -> None:
        self.address = address
        self.ok = 0
        self.refused = 0
        self.lost: list[str] = []
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(DEADLINE)

    def _run(self) -> None:
        deadline = time.monotonic() + 30
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                sock = connect(self.address, timeout=DEADLINE)  # type: ignore[arg-type]
            except (ConnectionRefusedError, FileNotFoundError):
                with self._lock:
                    self.refused += 1
                time.sleep(0.01)
                continue
            except OSError as exc:
                with self._lock:
                    self.lost.append(f"connect: {exc!r}")
                continue
            try:
                sock.sendall(b"GET /slow?t=0.05 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                reply = read_reply(sock)
                with self._lock:
                    if reply.status == 200:
                        self.ok += 1
                        self.pids.add(int(reply.text))
                    else:
                        self.lost.append(f"status {reply.status}")
            except (OSError, ConnectionError, ValueError) as exc:
                with self._lock:
                    self.lost.append(repr(exc))
            finally:
                sock.close()


@BOTH
def test_hup_under_load_fails_no_request(tmp_path: Path, worker_class: str) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, workers=2, worker_class=worker_class) as g:
        g.wait_ready()
        with Load(g.address) as load:
            time.sleep(0.5)
            before = set(load.pids)
            g.signal(signal.SIGHUP)
            deadline = time.monotonic() + DEADLINE
            while not (load.pids - before) or time.monotonic() < deadline - DEADLINE + 1.5:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert load.lost == []
        assert load.refused == 0
        assert load.ok > 20


@BOTH
def test_term_under_load_loses_no_accepted_request(tmp_path: Path, worker_class: str) -> None:
    with Gunicorn(tmp_path, LOWLEVEL, workers=2, worker_class=worker_class) as g:
        g.wait_ready()
        with Load(g.address) as load:
            time.sleep(0.5)
            g.signal(signal.SIGTERM)
            assert g.wait_exit() == 0
            time.sleep(0.2)
        assert load.lost == []
        assert load.ok > 10


# -- TLS --------------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> tuple[object, Path, Path]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return ca, cert_path, key_path


def _client_context(ca: object) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)  # type: ignore[attr-defined]
    return ctx


@BOTH
def test_tls_from_certfile_and_keyfile(tmp_path: Path, tls: tuple[object, Path, Path], worker_class: str) -> None:
    ca, cert, key = tls
    port = free_port()
    with Gunicorn(
        tmp_path, LOWLEVEL, "--certfile", str(cert), "--keyfile", str(key),
        bind=f"127.0.0.1:{port}", worker_class=worker_class,
    ) as g:
        assert g.wait_ready(tls=_client_context(ca)).status == 200


def test_tls_key_password_and_ssl_context_hook(tmp_path: Path, tls: tuple[object, Path, Path]) -> None:
    from cryptography.hazmat.primitives import serialization

    ca, cert, key = tls
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    config = (
        "def ssl_context(conf, default_ssl_context_factory):\n"
        "    import ssl\n"
        "    ctx = default_ssl_context_factory()\n"
        "    ctx.minimum_version = ssl.TLSVersion.TLSv1_3\n"
        "    return ctx\n"
    )
    port = free_port()
    with Gunicorn(
        tmp_path, LOWLEVEL, "--certfile", str(cert), "--keyfile", str(key),
        bind=f"127.0.0.1:{port}", config=config, env={"AIOHTTP_KEYFILE_PASSWORD": "s3cret"},
    ) as g:
        client = _client_context(ca)
        assert g.wait_ready(tls=client).status == 200
        old_client = _client_context(ca)
        old_client.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            request(g.address, tls=old_client)


def test_tls_client_certificates_with_ca_certs_and_cert_reqs(tmp_path: Path, tls: tuple[object, Path, Path]) -> None:
    ca, cert, key = tls
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))  # type: ignore[attr-defined]
    port = free_port()
    with Gunicorn(
        tmp_path, LOWLEVEL, "--certfile", str(cert), "--keyfile", str(key), "--ca-certs", str(ca_path),
        "--cert-reqs", str(int(ssl.CERT_REQUIRED)), "--ciphers", "ECDHE+AESGCM", bind=f"127.0.0.1:{port}",
    ) as g:
        with_cert = _client_context(ca)
        ca.issue_cert("client@example").configure_cert(with_cert)  # type: ignore[attr-defined]
        assert g.wait_ready(tls=with_cert).status == 200
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            request(g.address, tls=_client_context(ca))
