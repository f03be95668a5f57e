"""Start, check and stop the reference stack: supervisord running gunicorn (or N
standalone processes) and nginx, all on loopback and unprivileged.

``python -m deploy.stack start|stop|status`` (``./deploy/run`` calls it). The integration
tests drive the same :class:`Stack` with supervisord kept in the foreground.
"""

import argparse
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any, Optional

from deploy.render import REPO, StackSettings, find_nginx, render

#: supervisord process states that mean "up".
_UP = {"RUNNING"}


class StackError(RuntimeError):
    """The stack did not come up (or down) as asked; the message says where to look."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket (for probing gunicorn or a standalone process)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def http_get(target: str, path: str, timeout: float = 2.0) -> int:
    """Status of a GET to ``host:port`` or ``unix:/path``; 0 when nothing answered."""
    conn: http.client.HTTPConnection
    if target.startswith("unix:"):
        conn = _UnixHTTPConnection(target[5:], timeout)
    else:
        host, _, port = target.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As a server would bind it: connections in TIME_WAIT do not make a port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Stack:
    """One rendered stack in a runtime folder, controlled through supervisord."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.supervisord: Optional[subprocess.Popen[bytes]] = None
        self._seen_pids: set[int] = set()

    # -- files ------------------------------------------------------------------

    @property
    def runtime_dir(self) -> Path:
        return self.settings.runtime_dir

    @property
    def log_dir(self) -> Path:
        return self.settings.log_dir

    def render(self) -> None:
        render(self.settings)

    def supervisorctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run the real supervisorctl against this stack's supervisord."""
        command = [str(self.settings.venv_bin / "supervisorctl"), "-c", str(self.settings.supervisord_conf), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def rpc(self) -> Any:
        """supervisord's XML-RPC interface over its control socket."""
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.runtime_dir}/supervisor.sock")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def supervisord_pid(self) -> Optional[int]:
        """The pid of a live supervisord of this stack, else None."""
        if self.supervisord is not None:
            return self.supervisord.pid if self.supervisord.poll() is None else None
        try:
            pid = int((self.runtime_dir / "supervisord.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid

    # -- up -----------------------------------------------------------------------

    def start(self, foreground: bool = False) -> None:
        """Start supervisord (which starts everything else); ``foreground`` keeps it a child."""
        if self.supervisord_pid() is not None:
            raise StackError(f"a stack is already running in {self.runtime_dir}; stop it first")
        command = [str(self.settings.venv_bin / "supervisord"), "-c", str(self.settings.supervisord_conf)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if foreground:
            out = open(self.log_dir / "supervisord.stdout.log", "ab")
            self.supervisord = subprocess.Popen(
                [*command, "-n"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            out.close()
        else:
            subprocess.run(command, env=env, cwd=REPO, check=True, timeout=30)

    def processes(self) -> list[dict[str, Any]]:
        """supervisord's view of every program: name, group, statename, pid."""
        infos: list[dict[str, Any]] = self.rpc().supervisor.getAllProcessInfo()
        for info in infos:
            if info.get("pid"):
                self._seen_pids.add(int(info["pid"]))
        return infos

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until every program runs and the app answers through the front door."""
        deadline = time.monotonic() + timeout
        while True:
            if self.supervisord is not None and self.supervisord.poll() is not None:
                raise StackError(f"supervisord exited with {self.supervisord.returncode}; see {self.log_dir}")
            try:
                infos = self.processes()
            except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
                infos = []
            dead = [i["name"] for i in infos if i["statename"] == "FATAL"]
            if dead:
                raise StackError(f"{', '.join(dead)} did not start; see the logs in {self.log_dir}")
            if infos and all(i["statename"] in _UP for i in infos) and self._answers():
                return
            if time.monotonic() > deadline:
                states = ", ".join(f"{i['name']}={i['statename']}" for i in infos) or "no answer"
                raise StackError(f"the stack was not ready after {timeout:.0f} s ({states}); see {self.log_dir}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        s = self.settings
        targets = [f"127.0.0.1:{s.port}"]
        if s.layout == "standalone":
            targets += [f"unix:{self.runtime_dir}/app-{n}.sock" for n in range(1, s.numprocs + 1)]
        elif s.nginx is not None:
            targets.append(f"unix:{self.runtime_dir}/gunicorn.sock")
        return all(http_get(target, "/healthz", timeout=1.0) == 200 for target in targets)

    # -- down -----------------------------------------------------------------------

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every program gracefully and supervisord itself; kill what is left at the end."""
        pid = self.supervisord_pid()
        if pid is not None:
            with contextlib.suppress(OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
                self.processes()
                self.rpc().supervisor.shutdown()
            deadline = time.monotonic() + timeout
            while self.supervisord_pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
        self.kill_leftovers()

    def kill_leftovers(self) -> None:
        """SIGKILL supervisord and every process group it ever reported (a last resort)."""
        if self.supervisord is not None and self.supervisord.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.supervisord.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.supervisord.wait(timeout=10)
        for pid in sorted(self._seen_pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # programs run in their own process groups
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


# -- the command line (./deploy/run) --------------------------------------------------


def _describe(stack: Stack) -> str:
    s = stack.settings
    here = Path.cwd()

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(here))
        except ValueError:
            return str(path)

    if s.layout == "gunicorn":
        backend = f"gunicorn ({s.workers} uvloop workers) on unix:{rel(s.runtime_dir / 'gunicorn.sock')}"
    else:
        backend = f"{s.numprocs} standalone aiohttp processes on unix sockets"
    front = f"nginx on 127.0.0.1:{s.port} -> {backend}" if s.nginx else f"gunicorn alone on 127.0.0.1:{s.port}"
    ctl = f"{rel(s.venv_bin / 'supervisorctl')} -c {rel(s.supervisord_conf)}"
    lines = [
        f"The reference stack is up: {s.url}",
        f"  {front}, all under supervisord",
        f"  try:    curl -i {s.url}hello/world",
        "logs:",
        *(f"  {what:<38} {rel(path)}" for what, path in s.log_files().items()),
        f"control:  {ctl} status     (reload the app: ... signal HUP aiohttp-app)",
        "stop:     ./deploy/run stop",
    ]
    return "\n".join(lines)


def _no_nginx_notice() -> str:
    how = "apt-get install nginx-light" if os.geteuid() == 0 else "sudo apt-get install nginx-light"
    return (
        "nginx is not installed, so the app is served by gunicorn alone (no nginx in front).\n"
        f"To run the whole reference stack: {how}   then ./deploy/run again."
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deploy/run", description="The local reference stack.")
    parser.add_argument("command", nargs="?", default="start", choices=("start", "stop", "status"))
    parser.add_argument("--runtime", default=str(REPO / ".run"), help="runtime folder (default: .run)")
    parser.add_argument("--layout", default="gunicorn", choices=("gunicorn", "standalone"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")) or None)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    args = parser.parse_args(argv)

    nginx = find_nginx()
    port = args.port
    if port is None:
        port = 8080 if port_is_free(8080) else free_port()
    settings = StackSettings(
        Path(args.runtime), port=port, layout=args.layout, nginx=nginx, workers=args.workers, numprocs=args.workers
    )
    stack = Stack(settings)

    if args.command == "stop":
        if stack.supervisord_pid() is None:
            print(f"No stack is running in {settings.runtime_dir}.")
            return 0
        stack.stop()
        print("Stopped: nginx, the app and supervisord.")
        return 0
    if args.command == "status":
        if stack.supervisord_pid() is None:
            print(f"No stack is running in {settings.runtime_dir}.")
            return 3
        print(stack.supervisorctl("status").stdout, end="")
        return 0

    if stack.supervisord_pid() is not None:
        print(f"A stack is already running in {settings.runtime_dir}:")
        print(stack.supervisorctl("status").stdout, end="")
        print("Stop it with ./deploy/run stop")
        return 1
    if nginx is None:
        print(_no_nginx_notice())
    if not port_is_free(port):
        print(f"Port {port} on 127.0.0.1 is in use; pick another with PORT=<n> ./deploy/run", file=sys.stderr)
        return 1
    stack.render()
    stack.start()
    try:
        stack.wait_ready(timeout=60)
    except StackError as exc:
        print(f"The stack did not come up: {exc}", file=sys.stderr)
        for path in settings.log_files().values():
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-15:]
                print(f"--- {path}", *tail, sep="\n", file=sys.stderr)
        stack.stop(timeout=30)
        return 1
    print(_describe(stack))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
