"""Render the reference nginx and supervisord configs for an unprivileged local run.

The files in nginx/ and supervisor/ are templates with placeholders between at-signs.
:func:`render` fills them for one runtime folder (sockets, pid files, temp dirs, logs),
loopback ports and this checkout, and writes::

    <runtime>/supervisord.conf
    <runtime>/programs/aiohttp-gunicorn.conf | aiohttp-standalone.conf, nginx.conf
    <runtime>/nginx/nginx.conf, upstream.conf, aiohttp-site.conf (+ temp dirs)
    <runtime>/logs/

deploy/stack.py starts the result; the integration tests render into tmp folders.
"""

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
LAYOUTS = ("gunicorn", "standalone")


def find_nginx() -> Optional[str]:
    """The nginx binary, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class StackSettings:
    """One local stack: where it lives, what runs, on which loopback port."""

    runtime_dir: Path
    #: The public port on 127.0.0.1: nginx's, or gunicorn's when there is no nginx.
    port: int = 8080
    #: "gunicorn" (one master, N workers) or "standalone" (N run_app processes).
    layout: str = "gunicorn"
    #: The nginx binary; None serves through gunicorn alone.
    nginx: Optional[str] = field(default_factory=find_nginx)
    workers: int = 2
    numprocs: int = 2
    #: Also bind gunicorn to 127.0.0.1:<port> (direct access behind nginx's back).
    app_tcp_port: Optional[int] = None
    server_name: str = "localhost 127.0.0.1"
    #: Addresses (or CIDRs) of edges in front of nginx whose X-Request-ID nginx keeps.
    trusted_edges: tuple[str, ...] = ()
    #: The app's client_max_size; nginx's client_max_body_size matches it.
    client_max_body_size: int = 1024**2
    #: Folder holding gunicorn, supervisord and python (the virtualenv's bin).
    venv_bin: Path = field(default_factory=lambda: Path(sys.executable).parent)
    json_logs: bool = False
    app_factory: str = ""

    def __post_init__(self) -> None:
        self.runtime_dir = Path(self.runtime_dir).resolve()
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        if self.layout == "standalone" and self.nginx is None:
            raise ValueError("the standalone layout serves on unix sockets and needs nginx in front")
        if not self.app_factory:
            self.app_factory = (
                "deploy.example.app:create_app" if self.layout == "gunicorn" else "deploy.example.app:make_app"
            )
        # A unix socket path must fit in sun_path (108 bytes on Linux).
        longest = self.runtime_dir / f"app-{self.numprocs}.sock"
        if len(str(longest)) > 100:
            raise ValueError(f"runtime_dir is too long for unix socket paths: {self.runtime_dir}")

    @property
    def log_dir(self) -> Path:
        return self.runtime_dir / "logs"

    @property
    def nginx_prefix(self) -> Path:
        return self.runtime_dir / "nginx"

    @property
    def supervisord_conf(self) -> Path:
        return self.runtime_dir / "supervisord.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def gunicorn_tcp_port(self) -> Optional[int]:
        """The TCP port gunicorn binds (the public one without nginx)."""
        return self.port if self.nginx is None else self.app_tcp_port

    def log_files(self) -> dict[str, Path]:
        """What each log holds -> where it is."""
        logs = self.log_dir
        files = {
            "app (handlers, tracebacks, gunicorn)": logs / "app.log",
            "app access lines": logs / "access.log",
            "supervisord": logs / "supervisord.log",
        }
        if self.nginx is not None:
            files["nginx access"] = logs / "nginx-access.log"
            files["nginx errors"] = logs / "nginx-error.log"
        return files


def fill(template: str, values: dict[str, str], name: str) -> str:
    """Replace each @KEY@; ValueError names any placeholder left without a value."""
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    missing = sorted(set(_PLACEHOLDER.findall(template)))
    if missing:
        raise ValueError(f"{name}: no value for {', '.join(missing)}")
    return template


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def render(settings: StackSettings) -> None:
    """Write every config of the stack into ``settings.runtime_dir``."""
    s = settings
    runtime, logs, prefix = s.runtime_dir, s.log_dir, s.nginx_prefix
    for folder in (runtime, logs, runtime / "programs"):
        folder.mkdir(parents=True, exist_ok=True)
    for stale in (runtime / "programs").glob("*.conf"):
        stale.unlink()

    extra_env = {"WEB_CONCURRENCY": str(s.workers)}
    if s.gunicorn_tcp_port is not None:
        extra_env["AIOHTTP_DEPLOY_TCP_BIND"] = f"127.0.0.1:{s.gunicorn_tcp_port}"
    if s.json_logs:
        extra_env["AIOHTTP_DEPLOY_LOG_FORMAT"] = "json"
    values = {
        "RUNTIME_DIR": str(runtime),
        "LOG_DIR": str(logs),
        "APP_DIR": str(REPO),
        "DEPLOY_DIR": str(REPO / "deploy"),
        "VENV_BIN": str(s.venv_bin),
        "APP_FACTORY": s.app_factory,
        "NUMPROCS": str(s.numprocs),
        "EXTRA_ENV": "".join(f'{k}="{v}",' for k, v in extra_env.items()),
        "NGINX": s.nginx or "nginx",
        "NGINX_PREFIX": str(prefix),
        "PREFIX": str(prefix),
    }

    def copy(template: str, target: Path) -> None:
        _write(target, fill((REPO / template).read_text(), values, template))

    copy("supervisor/supervisord.conf", s.supervisord_conf)
    program = "aiohttp-gunicorn.conf" if s.layout == "gunicorn" else "aiohttp-standalone.conf"
    copy(f"supervisor/{program}", runtime / "programs" / program)
    if s.nginx is None:
        return

    copy("supervisor/nginx.conf", runtime / "programs" / "nginx.conf")
    for temp in ("client-body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / temp).mkdir(parents=True, exist_ok=True)
    mime_types = Path("/etc/nginx/mime.types")
    if not mime_types.exists():
        _write(prefix / "mime.types", "types { text/html html; text/plain txt; text/css css; }\n")
        mime_types = prefix / "mime.types"
    values.update(
        {
            "LISTEN": f"127.0.0.1:{s.port}",
            "SERVER_NAME": s.server_name,
            "CLIENT_MAX_BODY_SIZE": str(s.client_max_body_size),
            "STATIC_ROOT": str(REPO / "deploy" / "example" / "static"),
            "NGINX_MIME_TYPES": str(mime_types),
            "TRUSTED_EDGES": "\n".join(f"    {edge} 1;" for edge in s.trusted_edges)
            or "    # (none: every X-Request-ID from outside is replaced)",
            "UPSTREAM_HOST": "127.0.0.1",
            "UPSTREAM_PORT": str(s.app_tcp_port or 0),
            "STANDALONE_SERVERS": "\n".join(
                f"    server unix:{runtime}/app-{n}.sock max_fails=0;" for n in range(1, s.numprocs + 1)
            ),
            # As root, nginx's master would switch its workers to "nobody", who cannot
            # reach sockets and files in a private runtime folder (pytest's tmp dirs are
            # 0700). This local config alone keeps them as root; on a server, nginx runs
            # as www-data and the gunicorn socket's group lets it in (docs/deployment.md).
            "USER_DIRECTIVE": (
                "# Local run as root: keep workers as root (see deploy/render.py).\nuser root;"
                if os.geteuid() == 0
                else "# Unprivileged: the workers run as this user; no 'user' directive applies."
            ),
        }
    )
    copy("nginx/nginx.conf", prefix / "nginx.conf")
    upstream = "nginx/upstream-unix.conf" if s.layout == "gunicorn" else "nginx/upstream-standalone.conf"
    copy(upstream, prefix / "upstream.conf")
    copy("nginx/aiohttp-site.conf", prefix / "aiohttp-site.conf")
