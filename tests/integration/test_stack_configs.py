"""The reference configs themselves: every nginx variant passes `nginx -t`, gunicorn
accepts gunicorn.conf.py, JSON logs carry the request id, and ./deploy/run's command
brings the stack up, says where everything is, and stops it.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack_helpers import REPO, Stacks, require_nginx, wait_until

from deploy.render import StackSettings, fill, render
from deploy.stack import Stack, free_port, http_get


@pytest.fixture
def runtime() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aiocfg-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("upstream", ["upstream-unix.conf", "upstream-tcp.conf", "upstream-standalone.conf"])
def test_every_nginx_variant_passes_nginx_t(runtime: Path, upstream: str) -> None:
    nginx = require_nginx()
    settings = StackSettings(runtime, port=free_port(), nginx=nginx, app_tcp_port=free_port(), numprocs=3)
    render(settings)
    # Swap in the variant under test, filled like render() fills the others.
    values = {"RUNTIME_DIR": str(runtime), "UPSTREAM_HOST": "127.0.0.1", "UPSTREAM_PORT": "8000",
              "STANDALONE_SERVERS": f"    server unix:{runtime}/app-1.sock max_fails=0;"}
    conf = settings.nginx_prefix / "upstream.conf"
    conf.write_text(fill((REPO / "nginx" / upstream).read_text(), values, upstream))
    prefix = str(settings.nginx_prefix)
    check = subprocess.run(
        [nginx, "-t", "-p", prefix, "-c", f"{prefix}/nginx.conf", "-e", str(settings.log_dir / "t.log")],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert check.returncode == 0, check.stderr


def test_a_placeholder_without_a_value_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"x\.conf: no value for @PORT@"):
        fill("listen @HOST@:@PORT@;", {"HOST": "127.0.0.1"}, "x.conf")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorn_accepts_the_reference_config(runtime: Path, log_format: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "AIOHTTP_DEPLOY_RUNTIME": str(runtime),
           "AIOHTTP_DEPLOY_LOGS": str(runtime), "AIOHTTP_DEPLOY_LOG_FORMAT": log_format}
    check = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", str(REPO / "deploy" / "gunicorn.conf.py"),
         "--check-config", "--print-config", "deploy.example.app:create_app"],
        capture_output=True, text=True, timeout=60, check=False, env=env, cwd=REPO,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    config = dict(line.split(" = ", 1) for line in check.stdout.splitlines() if " = " in line)
    config = {name.strip(): value.strip() for name, value in config.items()}
    assert config["worker_class"] == "aiohttp.GunicornUVLoopWebWorker"
    assert config["bind"] == f"['unix:{runtime}/gunicorn.sock']"
    assert (config["keepalive"], config["graceful_timeout"], config["timeout"]) == ("75", "30", "30")
    assert config["forwarded_allow_ips"] == "[]", "no TCP peer is trusted by default"
    assert config["control_socket"] == f"{runtime}/gunicorn.ctl"
    assert config["max_requests"] == "10000" and config["max_requests_jitter"] == "1000"


def test_json_logs_through_gunicorn_alone(stacks: Stacks) -> None:
    # Without nginx the stack serves through gunicorn on the public port (what
    # ./deploy/run does on a machine without nginx).
    stack = stacks.start(nginx=None, json_logs=True)
    assert http_get(f"127.0.0.1:{stack.settings.port}", "/log") == 200

    def records(name: str) -> list[dict[str, object]]:
        """The complete JSON lines of a log written so far."""
        text = (stack.log_dir / name).read_text()
        return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("}\n")]

    handled = wait_until(lambda: [r for r in records("app.log") if "handling /log" in str(r["message"])], 10, "the log line")
    assert handled[0]["request_id"] and handled[0]["levelname"] == "INFO"
    rid = handled[0]["request_id"]

    # The access line is written once the response is out, so it may trail the answer.
    access = wait_until(lambda: [r for r in records("access.log") if r["request_id"] == rid], 10, "the access line")
    assert f"rid={rid}" in str(access[0]["message"])


def test_deploy_run_command_brings_the_stack_up_and_stops_it(runtime: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "deploy.stack"]
    where = ["--runtime", str(runtime), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    stack = Stack(StackSettings(runtime, port=port))
    try:
        up = subprocess.run([*command, "start", *where], capture_output=True, text=True, timeout=90, env=env, cwd=REPO)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"The reference stack is up: http://127.0.0.1:{port}/" in up.stdout
        assert "app.log" in up.stdout and "access.log" in up.stdout and "./deploy/run stop" in up.stdout
        if stack.settings.nginx is None:
            assert "nginx is not installed" in up.stdout and "apt-get install nginx-light" in up.stdout
        else:
            assert "nginx-access.log" in up.stdout
        assert http_get(f"127.0.0.1:{port}", "/hello/world") == 200

        again = subprocess.run([*command, "start", *where], capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
        assert again.returncode == 1 and "already running" in again.stdout

        down = subprocess.run([*command, "stop", *where], capture_output=True, text=True, timeout=90, env=env, cwd=REPO)
        assert down.returncode == 0 and "Stopped" in down.stdout
        assert stack.supervisord_pid() is None
        assert http_get(f"127.0.0.1:{port}", "/hello/world") == 0
    finally:
        stack.stop(timeout=30)
