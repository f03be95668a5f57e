"""Test support: start real gunicorn with our workers and talk raw HTTP to it.

Every wait is bounded; ``Gunicorn`` kills its process group on exit.
"""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

REPO = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent
WORKERS = ("aiohttp.GunicornWebWorker", "aiohttp.GunicornUVLoopWebWorker")
DEADLINE = 15.0

Address = Union[str, tuple[str, int]]


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connect(address: Address, timeout: float = 5.0, tls: Optional[ssl.SSLContext] = None) -> socket.socket:
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname="localhost")
    except BaseException:
        sock.close()
        raise
    return sock


def read_reply(sock: socket.socket) -> Reply:
    """Read one response framed by Content-Length (our server always sends it here)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} bytes of head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside the body")
        rest += chunk
    return Reply(status, headers, rest[:length])


def request(
    address: Address,
    path: str = "/",
    *,
    headers: str = "",
    timeout: float = 5.0,
    tls: Optional[ssl.SSLContext] = None,
) -> Reply:
    """One GET on a fresh connection (``Connection: close``)."""
    with connect(address, timeout, tls) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n".encode())
        return read_reply(sock)


class Gunicorn:
    """One gunicorn arbiter started as a subprocess in its own process group."""

    def __init__(
        self,
        tmp_path: Path,
        app: str,
        *options: str,
        worker_class: str = WORKERS[0],
        bind: Optional[str] = None,
        workers: int = 1,
        env: Optional[dict[str, str]] = None,
        config: Optional[str] = None,
        python_args: tuple[str, ...] = (),
        pass_fds: tuple[int, ...] = (),
        prefix: tuple[str, ...] = (),
    ) -> None:
        self.tmp_path = tmp_path
        self.error_log = tmp_path / "error.log"
        if bind is None:
            bind = f"unix:{tmp_path / 'gunicorn.sock'}"
        self.address: Address = _address(bind)
        args = [
            sys.executable, *python_args, "-m", "gunicorn",
            "--worker-class", worker_class,
            "-w", str(workers),
            "--graceful-timeout", "3",
            "--error-logfile", str(self.error_log),
            "--log-level", "info",
            "--no-control-socket",
        ]
        if not bind.startswith("systemd"):
            args += ["--bind", bind]
        if config is not None:
            conf = tmp_path / "gunicorn_conf.py"
            conf.write_text(config)
            args += ["--config", str(conf)]
        args += [*options, app]
        self.args = [*prefix, *args] if prefix else args
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), str(APPS)]),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.pass_fds = pass_fds
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def __enter__(self) -> "Gunicorn":
        self._stderr = open(self.tmp_path / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            self.args,
            cwd=self.tmp_path,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
            pass_fds=self.pass_fds,
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        self._stderr.close()

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_ready(self, path: str = "/", tls: Optional[ssl.SSLContext] = None) -> Reply:
        """Poll until a request is answered (the socket exists before a worker serves it)."""
        deadline = time.monotonic() + DEADLINE
        last: Optional[BaseException] = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                return request(self.address, path, timeout=2.0, tls=tls)
            except (OSError, ConnectionError) as exc:
                last = exc
                time.sleep(0.05)
        raise AssertionError(f"gunicorn did not answer in {DEADLINE}s ({last!r}):\n{self.logs()}")

    def wait_exit(self, timeout: float = DEADLINE) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def logs(self) -> str:
        text = ""
        for name in ("error.log", "stderr.log"):
            path = self.tmp_path / name
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    def wait_for_log(self, pattern: str, timeout: float = DEADLINE) -> "re.Match[str]":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.logs())
            if match is not None:
                return match
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not logged in {timeout}s:\n{self.logs()}")


def _address(bind: str) -> Address:
    if bind.startswith(("fd://", "systemd")):
        return ""  # the test knows the inherited socket's address
    if bind.startswith("unix:"):
        return bind[5:]
    host, _, port = bind.rpartition(":")
    return (host.strip("[]"), int(port))


def wait_for_line(path: Path, pattern: str, timeout: float = DEADLINE) -> str:
    """The first line of ``path`` matching ``pattern``, waiting for it to be written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                if re.search(pattern, line):
                    return line
        time.sleep(0.05)
    raise AssertionError(f"no line matching {pattern!r} in {path} after {timeout}s")


def wait_gone(pid: int, timeout: float = DEADLINE) -> bool:
    """True once ``pid`` no longer runs (or is a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False
