"""Fixtures that bring up the reference stack with the real programs.

Each stack is rendered from nginx/ and supervisor/ into its own short tmp folder
(unix socket paths must stay short), started as supervisord in the foreground (which
starts gunicorn or the standalone processes, and nginx), waited for with a deadline,
and always stopped in a finalizer: supervisord's graceful shutdown first, then SIGKILL
for every process group it ever reported.

nginx: the tests that need it are skipped, loudly, when it is not installed; under CI
(``CI`` set) a missing nginx is an error instead, because CI must run them.
``AIOHTTP_TEST_HIDE_NGINX=1`` pretends nginx is missing, to see that path.
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from stack_helpers import REPORT, TRUSTED_EDGE, Stacks, require_nginx  # noqa: E402

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
    port for direct access, 127.0.0.4 as a trusted edge in front of nginx; shared by the
    read-only tests of a module."""
    nginx = require_nginx()
    made = Stacks()
    try:
        yield made.start(nginx=nginx, app_tcp_port=free_port(), trusted_edges=(TRUSTED_EDGE,))
    finally:
        made.stop_all()
