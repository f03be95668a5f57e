"""Correctness of every response before and after the load, and of the correlated log lines."""

from __future__ import annotations

import http.client
import re
import time
import uuid

from .config import EXPECTED, REQUEST_ID_PATTERN, Expected
from .servers import Server

TIMEOUT = 5.0


def _get(server: Server, path: str) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("Content-Type", "")
    finally:
        conn.close()


def check_response(server: Server, expected: Expected) -> str | None:
    """None when the answer is right, else what is wrong with it."""
    try:
        status, body, ctype = _get(server, expected.path)
    except OSError as exc:
        return f"GET {expected.path}: {exc!r}"
    problems = []
    if status != expected.status:
        problems.append(f"status {status} != {expected.status}")
    if body != expected.body:
        problems.append(f"body {body[:80]!r} != {expected.body!r}")
    if not ctype.startswith(expected.content_type):
        problems.append(f"content-type {ctype!r} is not {expected.content_type}")
    return f"GET {expected.path}: " + ", ".join(problems) if problems else None


def check_correlation(server: Server) -> str | None:
    """One probe request: its app log line and access log line must carry the same id."""
    token = uuid.uuid4().hex
    path = f"/log?probe={token}"
    try:
        status, _, _ = _get(server, path)
    except OSError as exc:
        return f"GET {path}: {exc!r}"
    if status != 200:
        return f"GET {path}: status {status}"
    deadline = time.monotonic() + TIMEOUT
    app_line = access_line = None
    while time.monotonic() < deadline:
        app_line = _find(server.app_log, token)
        access_line = _find(server.access_log, token)
        if app_line and access_line:
            break
        time.sleep(0.05)
    if not app_line:
        return "no application log line for the probe request"
    if not access_line:
        return "no access log line for the probe request"
    app_id = re.search(REQUEST_ID_PATTERN, app_line)
    access_id = re.search(REQUEST_ID_PATTERN, access_line)
    if not app_id:
        return f"application log line has no request id: {app_line!r}"
    if not access_id:
        return f"access log line has no request id: {access_line!r}"
    if app_id.group(1) != access_id.group(1):
        return f"request ids differ: {app_line!r} / {access_line!r}"
    return None


def _find(path, token: str) -> str | None:
    try:
        with open(path, errors="replace") as fh:
            for line in fh:
                if token in line:
                    return line.rstrip("\n")
    except OSError:
        return None
    return None


def check_server(server: Server, paths: list[str]) -> list[str]:
    """Every problem found on ``server`` for ``paths`` (empty when all is right)."""
    problems = []
    for path in paths:
        problem = check_response(server, EXPECTED[path])
        if problem:
            problems.append(problem)
    if server.correlated and not problems:
        problem = check_correlation(server)
        if problem:
            problems.append(problem)
    return problems


def check_log_counts(server: Server) -> list[str]:
    """After the load: one application line and one access line per request, each with an id."""
    try:
        app_lines = server.app_log.read_text(errors="replace").splitlines()
        access_lines = server.access_log.read_text(errors="replace").splitlines()
    except OSError as exc:
        return [f"cannot read the logs: {exc}"]
    pattern = re.compile(REQUEST_ID_PATTERN)
    problems = []
    # Every request the server answered left an access line; /log requests also an app line.
    logged = [line for line in access_lines if '"GET /log' in line]
    if len(app_lines) != len(logged):
        problems.append(f"{len(app_lines)} application lines for {len(logged)} /log requests")
    without_id = sum(1 for line in app_lines if not pattern.search(line))
    without_id += sum(1 for line in access_lines if not pattern.search(line))
    if without_id:
        problems.append(f"{without_id} log lines without a request id")
    return problems
