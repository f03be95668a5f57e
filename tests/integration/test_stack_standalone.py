"""Layout (b): supervisord running N standalone aiohttp processes (run_app on unix
sockets, numbered by %(process_num)s) behind nginx, for deployments without gunicorn.
"""

import http.client
import json

from stack_helpers import REPORT, Stacks, program_pid, require_nginx, wait_until
from stack_load import Load

from deploy.stack import Stack, http_get

PROCESSES = 2


def pids_seen(stack: Stack, requests: int) -> set[int]:
    seen = set()
    for _ in range(requests):
        conn = http.client.HTTPConnection("127.0.0.1", stack.settings.port, timeout=10)
        try:
            conn.request("GET", "/whoami", headers={"Host": "localhost"})
            response = conn.getresponse()
            assert response.status == 200
            seen.add(json.loads(response.read())["pid"])
        finally:
            conn.close()
    return seen


def test_requests_spread_and_a_restart_under_load_loses_nothing(stacks: Stacks) -> None:
    stack = stacks.start(nginx=require_nginx(), layout="standalone", numprocs=PROCESSES)
    pids = {program_pid(stack, f"aiohttp-standalone-{n}") for n in range(1, PROCESSES + 1)}
    assert pids_seen(stack, 10) == pids, "nginx spreads requests over every process"

    name = "aiohttp-standalone:aiohttp-standalone-1"
    old = program_pid(stack, "aiohttp-standalone-1")
    with Load(stack.settings.port, threads=8) as load:
        load.wait_for(200)
        # supervisorctl restart = TERM (run_app drains), wait for exit, start again.
        done = stack.supervisorctl("restart", name)
        assert "aiohttp-standalone-1: started" in done.stdout, done.stdout + done.stderr
        new = wait_until(
            lambda: (pid := program_pid(stack, "aiohttp-standalone-1")) != old and pid, 20, "the restarted process"
        )
        sock = f"unix:{stack.runtime_dir}/app-1.sock"
        wait_until(lambda: http_get(sock, "/healthz") == 200, 20, "the restarted process to answer")
        load.wait_for(300)
        result = load.stop()
    REPORT.append(f"restart of 1 of {PROCESSES} standalone processes under load through nginx: {result.summary()}")
    assert result.errors == [], result.summary()
    assert new in pids_seen(stack, 10), "the restarted process takes requests again"
