"""Helpers for the reference-stack tests: nginx detection, polling, process lookups."""

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from deploy.render import StackSettings, find_nginx  # noqa: E402
from deploy.stack import Stack, free_port  # noqa: E402

NGINX = None if os.environ.get("AIOHTTP_TEST_HIDE_NGINX") else find_nginx()
NO_NGINX_REASON = (
    "NGINX IS NOT INSTALLED: the nginx integration tests did not run. "
    "Install it (apt-get install nginx-light, as root) or run ./deploy/test as root, which installs it."
)
#: A load balancer in front of nginx, as far as nginx's `geo` block knows.
TRUSTED_EDGE = "127.0.0.4"
#: Lines for the end-of-run summary (load-test numbers, skipped nginx tests).
REPORT: list[str] = []

def require_nginx() -> str:
    """The nginx binary; skip (fail under CI) when it is missing."""
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the nginx integration tests, but nginx is not installed")
        REPORT.append("SKIPPED nginx integration tests: nginx is not installed")
        pytest.skip(NO_NGINX_REASON)
    return NGINX


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def children(pid: int) -> set[int]:
    """The direct children of ``pid`` (gunicorn's workers, for the master)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


def program_pid(stack: Stack, name: str) -> int:
    for info in stack.processes():
        if info["name"] == name and info["statename"] == "RUNNING":
            return int(info["pid"])
    return 0


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(missing)"


class Stacks:
    """Starts stacks and remembers them, so that each is stopped exactly once."""

    def __init__(self) -> None:
        self.started: list[Stack] = []

    def start(self, **options: Any) -> Stack:
        runtime = Path(tempfile.mkdtemp(prefix="aiostack-", dir="/tmp"))
        options.setdefault("port", free_port())
        options.setdefault("workers", 2)
        settings = StackSettings(runtime, **options)
        stack = Stack(settings)
        self.started.append(stack)
        stack.render()
        stack.start(foreground=True)
        stack.wait_ready(timeout=45)
        return stack

    def stop_all(self) -> None:
        for stack in self.started:
            try:
                stack.stop(timeout=30)
            finally:
                stack.kill_leftovers()
                for name in sorted(os.listdir(stack.log_dir)) if stack.log_dir.exists() else ():
                    print(f"--- {name}\n{_tail(stack.log_dir / name)}")
                shutil.rmtree(stack.runtime_dir, ignore_errors=True)
        self.started.clear()
