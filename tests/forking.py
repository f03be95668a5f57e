"""Run a function in a forked child and get back what it returned (JSON), within a bound."""

import json
import os
import select
import signal
from collections.abc import Callable
from typing import Any


def run_in_child(work: Callable[[], Any], timeout: float = 30) -> Any:
    """``work()`` in a forked child; its JSON-able result here. The child never returns into pytest."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], timeout)
        data = os.read(read_end, 65536) if ready else b""
    finally:
        os.close(read_end)
        if not data:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert data, f"the child reported nothing within {timeout} s"
    return json.loads(data)
