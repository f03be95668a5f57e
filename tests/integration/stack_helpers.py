"""Helpers for the reference-stack tests: nginx detection, polling, process lookups."""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from deploy.render import find_nginx  # noqa: E402
from deploy.stack import Stack  # noqa: E402

NGINX = find_nginx()
NO_NGINX_REASON = (
    "NGINX IS NOT INSTALLED: the nginx integration tests did not run. "
    "Install it (apt-get install nginx-light, as root) or run ./deploy/test as root, which installs it."
)
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
