"""Start one gunicorn master (one worker) pinned to a core, find its worker, stop it for sure."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from .config import ACCESS_LOG_FORMAT, BENCH_DIR, Stack
from .venvs import clean_env

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

_running: list[Server] = []


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (only loopback is ever used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin_prefix(cpu: str | None) -> list[str]:
    """``taskset -c CPU`` when pinning is possible here, else nothing."""
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", cpu]


class ServerError(RuntimeError):
    """The server did not come up, or its worker could not be found."""


class Server:
    """One gunicorn master with one worker serving ``stack.app``."""

    def __init__(
        self,
        stack: Stack,
        worker_class: str,
        correlated: bool,
        run_dir: Path,
        cpu: str | None,
    ) -> None:
        self.stack = stack
        self.worker_class = worker_class
        self.correlated = correlated
        self.port = free_port()
        tag = f"{stack.key}-{worker_class.rsplit('.', 1)[-1]}-{'logged' if correlated else 'plain'}"
        self.tag = tag
        self.output = run_dir / f"{tag}.out"
        self.access_log = run_dir / f"{tag}.access.log"
        self.app_log = run_dir / f"{tag}.app.log"
        self.cpu = cpu
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            *pin_prefix(self.cpu),
            str(self.stack.venv / "bin" / "gunicorn"),
            "-c",
            str(BENCH_DIR / "gunicorn_conf.py"),
            "--chdir",
            str(BENCH_DIR),
            "-k",
            self.worker_class,
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{self.port}",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            self.stack.app,
        ]

    def environment(self) -> dict[str, str]:
        extra = dict(self.stack.env)
        if self.correlated:
            extra.update(self.stack.correlated_env)
            extra["BENCH_CORRELATED"] = "1"
            extra["BENCH_ACCESS_LOG"] = str(self.access_log)
            extra["BENCH_APP_LOG"] = str(self.app_log)
        return clean_env(extra)

    def start(self) -> None:
        """Start the master and wait (bounded) until the worker answers on the port."""
        for path in (self.access_log, self.app_log):
            path.unlink(missing_ok=True)
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=BENCH_DIR,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _running.append(self)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.tag} exited with {self.proc.returncode}: {self.tail()}")
            if self._answers():
                return
            time.sleep(0.1)
        raise ServerError(f"{self.tag} did not answer within {READY_TIMEOUT:.0f}s: {self.tail()}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.output.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def worker_pid(self) -> int:
        """The pid of the single worker: the child of the gunicorn master."""
        assert self.proc is not None
        master = self.proc.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        pids: list[int] = []
        if children.exists():
            pids = [int(p) for p in children.read_text().split()]
        else:
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == master:
                    pids.append(int(stat.parent.name))
        if len(pids) != 1:
            raise ServerError(f"{self.tag}: expected one worker, found {pids}")
        return pids[0]

    def peak_rss_kib(self) -> int:
        """VmHWM of the worker: the most resident memory it has had."""
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise ServerError(f"{self.tag}: no VmHWM in /proc status")

    def stop(self) -> None:
        """TERM the master, wait a bounded time, then KILL its whole process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        if self in _running:
            _running.remove(self)


def stop_all() -> None:
    """Stop every server still running (used on errors and Ctrl-C)."""
    for server in list(_running):
        server.stop()
