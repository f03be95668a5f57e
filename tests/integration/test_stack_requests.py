"""What one request through the reference stack looks like: nginx -> gunicorn (uvloop
workers) on a unix socket -> the example app. Request ids in every log, the client's
address after trusted proxies, upload limits, static files and unknown hosts.
"""

import http.client
import json
import re
import socket
from pathlib import Path
from typing import Any, Optional

import pytest
from stack_helpers import TRUSTED_EDGE, wait_until

from deploy.stack import Stack

FORGED = "203.0.113.7"  # a documentation address, only ever written into a header
MIB = 1024 * 1024


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection from ``source`` (any 127.0.0.0/8 address)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers={"Host": "localhost", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def log_line(path: Path, needle: str) -> str:
    """The first line of a log containing ``needle``; waits, since nginx logs after answering."""

    def find() -> Optional[str]:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if needle in line:
                    return line
        return None

    line: str = wait_until(find, 10, f"{needle!r} in {path.name}")
    return line


def test_one_request_id_in_every_log_and_the_response(nginx_stack: Stack) -> None:
    status, headers, body = request(nginx_stack.settings.port, "GET", "/log")
    assert status == 200
    rid = headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid), "nginx's $request_id, adopted by the app"
    assert json.loads(body)["request_id"] == rid

    logs = nginx_stack.log_dir
    nginx_line = log_line(logs / "nginx-access.log", f"rid={rid}")
    assert '"GET /log HTTP/1.1" 200' in nginx_line
    assert "upstream=unix:" in nginx_line and "upstream_time=" in nginx_line
    assert "handling /log for 127.0.0.1" in log_line(logs / "app.log", f"[req:{rid}]")
    assert '"GET /log HTTP/1.1" 200' in log_line(logs / "access.log", f"rid={rid}")


def test_an_unhandled_error_logs_its_traceback_with_the_id(nginx_stack: Stack) -> None:
    status, headers, _ = request(nginx_stack.settings.port, "GET", "/boom")
    assert status == 500
    rid = headers["x-request-id"]
    error_line = log_line(nginx_stack.log_dir / "app.log", f"[req:{rid}] Error handling request")
    assert "ERROR" in error_line
    text = (nginx_stack.log_dir / "app.log").read_text()
    assert "RuntimeError: boom" in text.split(error_line, 1)[1]


def test_a_client_cannot_choose_its_request_id(nginx_stack: Stack) -> None:
    # The client is not a trusted edge, so nginx replaces the id it sent.
    _, headers, body = request(nginx_stack.settings.port, "GET", "/log", headers={"X-Request-ID": "chosen-by-me"})
    assert headers["x-request-id"] != "chosen-by-me"
    assert json.loads(body)["request_id"] == headers["x-request-id"]


def test_a_trusted_edge_keeps_its_request_id_end_to_end(nginx_stack: Stack) -> None:
    # A load balancer listed in nginx's geo block: its id is kept by nginx, adopted by
    # the app, and shows up everywhere; a malformed one is replaced.
    edge_id = "lb-7f3a9c2e-0001"
    _, headers, body = request(
        nginx_stack.settings.port, "GET", "/log", headers={"X-Request-ID": edge_id}, source=TRUSTED_EDGE
    )
    assert headers["x-request-id"] == edge_id == json.loads(body)["request_id"]
    log_line(nginx_stack.log_dir / "nginx-access.log", f"rid={edge_id} ")
    log_line(nginx_stack.log_dir / "app.log", f"[req:{edge_id}]")
    log_line(nginx_stack.log_dir / "access.log", f"rid={edge_id}")

    _, headers, _ = request(
        nginx_stack.settings.port, "GET", "/log", headers={"X-Request-ID": "bad id\x7f"}, source=TRUSTED_EDGE
    )
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def whoami(port: int, **kwargs: Any) -> dict[str, Any]:
    status, headers, body = request(port, "GET", "/whoami", **kwargs)
    assert status == 200
    info: dict[str, Any] = json.loads(body)
    info["x-request-id"] = headers["x-request-id"]
    return info


def test_through_nginx_the_app_sees_the_client(nginx_stack: Stack) -> None:
    info = whoami(nginx_stack.settings.port, source="127.0.0.2")
    assert (info["remote"], info["scheme"], info["host"]) == ("127.0.0.2", "http", "localhost")
    access = log_line(nginx_stack.log_dir / "access.log", f"rid={info['x-request-id']}")
    assert access.split("] ", 1)[1].startswith('127.0.0.2 "GET /whoami'), "%a is the client"


def test_forged_forwarding_headers_are_ignored(nginx_stack: Stack) -> None:
    forged = {"X-Forwarded-For": FORGED, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    # Through nginx: nginx appends the real peer, and the app takes the right-most
    # untrusted hop; nginx overwrites proto and host.
    info = whoami(nginx_stack.settings.port, source="127.0.0.2", headers=forged)
    assert (info["remote"], info["scheme"], info["host"]) == ("127.0.0.2", "http", "localhost")
    # Straight to gunicorn over TCP: that peer is not a trusted proxy, so nothing it
    # says about the client (or the request id) is believed.
    app_port = nginx_stack.settings.app_tcp_port
    assert app_port is not None
    info = whoami(app_port, source="127.0.0.3", headers={**forged, "X-Request-ID": "forged-id"})
    assert (info["remote"], info["scheme"], info["host"]) == ("127.0.0.3", "http", "localhost")
    assert info["request_id"] != "forged-id"
    access = log_line(nginx_stack.log_dir / "access.log", f"rid={info['request_id']}")
    assert '127.0.0.3 "GET /whoami' in access


def test_uploads_up_to_the_limit_pass_and_above_it_get_413(nginx_stack: Stack) -> None:
    port = nginx_stack.settings.port
    status, _, body = request(port, "POST", "/upload", body=b"u" * MIB)
    assert (status, json.loads(body)["size"]) == (200, MIB)

    status, headers, body = request(port, "POST", "/upload", body=b"u" * (MIB + 1))
    assert status == 413
    assert headers["server"] == "nginx" and b"nginx" in body, "refused by nginx, not the app"
    assert "x-request-id" in headers, "nginx's own error pages carry the id too"

    app_port = nginx_stack.settings.app_tcp_port
    assert app_port is not None
    status, _, _ = request(app_port, "POST", "/upload", body=b"u" * MIB)
    assert status == 200
    # Straight at the app, a client that announces a body too big should ask first
    # (Expect: 100-continue); the app refuses before a byte of it is sent.
    status, server = expect_continue(app_port, "/upload", MIB + 1)
    assert status == 413 and server != "nginx", "refused by the app itself"


def expect_continue(port: int, path: str, size: int) -> tuple[int, str]:
    """Send only the head of a POST with Expect: 100-continue; the status and Server of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {size}\r\nExpect: 100-continue\r\n\r\n"
        sock.sendall(head.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}.get("server", "")


def test_static_files_come_from_nginx(nginx_stack: Stack) -> None:
    status, headers, body = request(nginx_stack.settings.port, "GET", "/static/hello.txt")
    assert status == 200 and body.startswith(b"Served by nginx")
    assert "max-age=3600" in headers["cache-control"]
    line = log_line(nginx_stack.log_dir / "nginx-access.log", f"rid={headers['x-request-id']}")
    assert "upstream=- " in line, "the app never saw it"


def test_unknown_hosts_are_dropped_without_an_answer(nginx_stack: Stack) -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        request(nginx_stack.settings.port, "GET", "/", headers={"Host": "unknown.example"})
    status, _, _ = request(nginx_stack.settings.port, "GET", "/", headers={"Host": "127.0.0.1"})
    assert status == 200


def test_upstream_connections_are_pooled(nginx_stack: Stack) -> None:
    # proxy_http_version 1.1, an empty Connection header and `keepalive` in the upstream:
    # the connection that carried the first request is still open and carries the rest.
    port = nginx_stack.settings.port
    assert request(port, "GET", "/healthz")[0] == 200
    first = _upstream_connections(nginx_stack)
    assert first, "nginx keeps its upstream connection open after the response"
    for _ in range(30):
        assert request(port, "GET", "/healthz")[0] == 200
    after = _upstream_connections(nginx_stack)
    assert first <= after, "the pooled connections were reused, not closed"
    assert len(after - first) <= 2, f"30 requests opened {len(after - first)} new upstream connections"


def _upstream_connections(stack: Stack) -> set[str]:
    """Inodes of the open connections accepted on the gunicorn socket (/proc/net/unix)."""
    sock = str(stack.runtime_dir / "gunicorn.sock")
    rows = [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    # Columns: Num RefCount Protocol Flags Type St Inode Path; St 03 is "connected".
    return {row[6] for row in rows if len(row) == 8 and row[7] == sock and row[5] == "03"}
