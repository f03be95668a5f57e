"""Reloads, killed workers and a crashed master, under continuous load through nginx.

The load is real HTTP/1.1 clients on keep-alive connections (stack_load.Load), a mix of
idempotent and non-idempotent requests, fast and slow; nothing retries on the client
side, so every request nginx could not complete counts as failed.
"""

import os
import signal

from stack_helpers import NGINX, REPORT, Stacks, children, program_pid, require_nginx, wait_until
from stack_load import Load

from deploy.stack import Stack, http_get

WORKERS = 2


def workers_of(stack: Stack) -> set[int]:
    return children(program_pid(stack, "aiohttp-app"))


def test_supervisorctl_hup_under_load_loses_no_request(stacks: Stacks) -> None:
    stack = stacks.start(nginx=require_nginx(), workers=WORKERS)
    reloads = 2
    with Load(stack.settings.port, threads=8) as load:
        load.wait_for(200)
        for _ in range(reloads):
            old = wait_until(lambda: len(workers_of(stack)) == WORKERS and workers_of(stack), 20, "the workers")
            done = stack.supervisorctl("signal", "HUP", "aiohttp-app")
            assert "aiohttp-app: signalled" in done.stdout, done.stdout + done.stderr
            # New workers serve before the old ones drain; wait until only new ones are left.
            wait_until(
                lambda old=old: (w := workers_of(stack)) and not (w & old) and len(w) == WORKERS,
                30,
                "the old workers to drain and exit",
            )
            load.wait_for(200)
        result = load.stop()
    REPORT.append(f"HUP x{reloads} under load through nginx: {result.summary()}")
    assert result.total > 400
    assert result.errors == [], result.summary()


def test_sigkill_of_a_worker_under_load(stacks: Stacks) -> None:
    stack = stacks.start(nginx=require_nginx(), workers=WORKERS)
    with Load(stack.settings.port, threads=8) as load:
        load.wait_for(200)
        before = wait_until(lambda: len(workers_of(stack)) == WORKERS and workers_of(stack), 20, "the workers")
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        # The arbiter notices the dead worker and forks a replacement.
        wait_until(
            lambda: (w := workers_of(stack)) and victim not in w and len(w) == WORKERS,
            20,
            "the arbiter to replace the killed worker",
        )
        load.wait_for(300)
        result = load.stop()
    REPORT.append(
        f"SIGKILL of 1 of {WORKERS} workers under load through nginx: {result.summary()}"
        + (f" (lost non-idempotent: {result.errors})" if result.failed_of(idempotent=False) else "")
    )
    # nginx retries an idempotent request whose worker died on the other upstream entry.
    assert result.failed_of(idempotent=True) == 0, result.errors
    # A POST the dead worker had already started cannot be retried safely (RFC 9110
    # 9.2.2): those, and only those, get a clean 502. At most one per client in flight.
    assert all(error.endswith("status 502") for error in result.errors), result.errors
    assert result.failed_of(idempotent=False) <= load.threads
    assert result.total > 300


def test_supervisord_restarts_a_crashed_master(stacks: Stacks) -> None:
    stack = stacks.start(nginx=NGINX, workers=WORKERS)
    master = program_pid(stack, "aiohttp-app")
    old_workers = workers_of(stack)
    os.kill(master, signal.SIGKILL)

    new_master = wait_until(
        lambda: (pid := program_pid(stack, "aiohttp-app")) != master and pid, 30, "supervisord to restart gunicorn"
    )
    wait_until(lambda: len(workers_of(stack)) == WORKERS, 30, "the new master's workers")
    # The orphaned workers see that their master is gone and exit by themselves.
    wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in old_workers), 30, "orphaned workers to exit")
    wait_until(lambda: http_get(f"127.0.0.1:{stack.settings.port}", "/healthz") == 200, 20, "the app to answer")
    assert new_master != master
    log = (stack.log_dir / "supervisord.log").read_text()
    assert "exited: aiohttp-app (terminated by SIGKILL" in log
