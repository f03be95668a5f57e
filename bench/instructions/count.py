#!/usr/bin/env python3
"""Server-side CPU instructions per request, this project vs the real aiohttp, by callgrind.

    python3 bench/instructions/count.py              # every scenario, about five minutes
    python3 bench/instructions/count.py --scenario logged

wrk's requests per second move with whatever else the machine does; instruction counts do
not. Each stack's server (server.py: the benchmark app on asyncio's loop, no gunicorn) runs
under valgrind's callgrind twice, answering a small and a large number of keep-alive
requests from 16 connections; the difference divided by the extra requests is the cost of
one request, start-up and shutdown cancelled out. It counts user-space instructions only:
the kernel's share (the recv and send calls, the same for both stacks) is not in it, which
is why wrk's ratios are smaller. Uses the virtualenvs bench/run.py sets up.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import servers, venvs
from benchkit.config import OURS, REAL, SCENARIOS, Stack

SERVER = Path(__file__).resolve().parent / "server.py"
SMALL, LARGE, CONNECTIONS = 300, 2300, 16
RUN_TIMEOUT = 600.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_valgrind() -> str:
    """The path of valgrind; installed with apt-get when missing and we are root."""
    found = shutil.which("valgrind")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit("valgrind is not installed (Debian/Ubuntu: `sudo apt-get install -y valgrind`)")
    log("valgrind is missing: installing it with apt-get ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "valgrind"]):
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=900)
    return shutil.which("valgrind") or "valgrind"


def drive(port: int, path: str, count: int, deadline: float) -> None:
    """Send ``count`` requests for ``path`` over CONNECTIONS keep-alive connections, then /quit."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: count\r\n\r\n".encode()
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the server under valgrind did not start in time") from None
            time.sleep(0.2)
    selector = selectors.DefaultSelector()
    conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(CONNECTIONS)]
    sent = answered = 0
    for conn in conns:
        selector.register(conn, selectors.EVENT_READ)
        conn.sendall(request)
        sent += 1
    while answered < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {answered} of {count} answers arrived in time")
        for key, _ in selector.select(1.0):
            conn = key.fileobj
            data = conn.recv(65536)  # type: ignore[union-attr]
            if not data:
                raise SystemExit("the server closed a connection")
            # Every answer is small and whole, so its status line starts it.
            answered += data.count(b"HTTP/1.1 200 ")
            if sent < count:
                conn.sendall(request)  # type: ignore[union-attr]
                sent += 1
    with socket.create_connection(("127.0.0.1", port), timeout=30) as quit_conn:
        quit_conn.sendall(b"GET /quit HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        quit_conn.recv(1000)
    for conn in conns:
        conn.close()


def instructions(valgrind: str, stack: Stack, path: str, correlated: bool, count: int, tmp: Path) -> int:
    """Instructions the server executed from start to exit while answering ``count`` requests."""
    port = servers.free_port()
    env = venvs.clean_env()
    if correlated:
        env.update(
            BENCH_CORRELATED="1",
            BENCH_APP_LOG=str(tmp / f"{stack.key}-app.log"),
            BENCH_ACCESS_LOG=str(tmp / f"{stack.key}-access.log"),
        )
    out = tmp / "callgrind.out"
    cmd = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}"]
    cmd += [str(stack.venv / "bin" / "python"), str(SERVER), str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        drive(port, path, count, time.monotonic() + RUN_TIMEOUT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    found = re.search(r"Collected : (\d+)", err)
    if not found:
        raise SystemExit(f"callgrind printed no total for {stack.key} {path}:\n{err[-2000:]}")
    return int(found.group(1))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=[s.key for s in SCENARIOS])
    args = parser.parse_args(argv)
    valgrind = ensure_valgrind()
    for stack in (OURS, REAL):
        venvs.ensure(stack, log)
    chosen = [s for s in SCENARIOS if not args.scenario or s.key in args.scenario]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-instr-") as tmp_name:
        tmp = Path(tmp_name)
        for scenario in chosen:
            per_request = {}
            for stack in (OURS, REAL):
                log(f"{scenario.key}: {stack.key} ...")
                small = instructions(valgrind, stack, scenario.path, scenario.correlated, SMALL, tmp)
                large = instructions(valgrind, stack, scenario.path, scenario.correlated, LARGE, tmp)
                per_request[stack.key] = (large - small) / (LARGE - SMALL)
            ours, real = per_request["ours"], per_request["real"]
            rows.append(f"| {scenario.title} | {ours:,.0f} | {real:,.0f} | {real / ours:.2f} |")
    print("Server-side instructions per request (callgrind, asyncio loop, 16 keep-alive connections):\n")
    print("| scenario | this project | aiohttp 3.14.5 | aiohttp / this project |")
    print("|---|--:|--:|--:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
