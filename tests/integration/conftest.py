"""Fixtures that bring up the reference stack with the real programs.

Each stack is rendered from nginx/ and supervisor/ into its own short tmp folder
(unix socket paths must stay short), started as supervisord in the foreground (which
starts gunicorn or the standalone processes, and nginx), waited for with a deadline,
and always stopped in a finalizer: supervisord's graceful shutdown first, then SIGKILL
for every process group it ever reported.

nginx: the tests that need it are skipped, loudly, when it is not installed; under CI
(``CI`` set) a missing nginx is an error instead, because CI must run them.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from stack_helpers import REPORT, require_nginx  # noqa: E402

from deploy.render import StackSettings  # noqa: E402
from deploy.stack import Stack, free_port  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    terminalreporter.section("reference stack (tests/integration)")
    for line in dict.fromkeys(REPORT):
        terminalreporter.write_line(line, bold=line.startswith("SKIPPED"), red=line.startswith("SKIPPED"))


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


@pytest.fixture
def stacks() -> Iterator[Stacks]:
    """Start stacks inside a test; all are stopped (and their logs printed) at its end."""
    made = Stacks()
    try:
        yield made
    finally:
        made.stop_all()


@pytest.fixture(scope="module")
def nginx_stack() -> Iterator[Stack]:
    """nginx -> gunicorn (2 uvloop workers) on a unix socket, gunicorn also on a TCP
    port for direct access; shared by the read-only tests of a module."""
    nginx = require_nginx()
    made = Stacks()
    try:
        yield made.start(nginx=nginx, app_tcp_port=free_port())
    finally:
        made.stop_all()
