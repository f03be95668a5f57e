"""A small, bounded load generator: real HTTP/1.1 keep-alive clients in threads.

It uses the standard library's http.client (not our own client, so nothing of ours can
hide a lost request) and never retries: every failed request is counted. It only talks
to 127.0.0.1, and stops by itself after ``max_requests`` or ``max_seconds``.
"""

import http.client
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Optional[bytes] = None

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")


#: Fast and slow, idempotent and not: slow ones are in flight when a reload or kill lands.
DEFAULT_MIX = (
    Call("GET", "/hello/load"),
    Call("POST", "/echo", b"x" * 512),
    Call("GET", "/slow?ms=150"),
    Call("POST", "/slow?ms=150", b"payload"),
)


@dataclass
class LoadResult:
    ok: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.ok.values()) + sum(self.failed.values())

    def failed_of(self, idempotent: bool) -> int:
        return self.failed["idempotent" if idempotent else "non-idempotent"]

    def summary(self) -> str:
        parts = [f"{self.total} requests"]
        for kind in ("idempotent", "non-idempotent"):
            parts.append(f"{kind}: {self.ok[kind] + self.failed[kind]} sent, {self.failed[kind]} failed")
        return "; ".join(parts)


class Load:
    """``threads`` clients on keep-alive connections to 127.0.0.1:``port``, until stopped."""

    def __init__(
        self,
        port: int,
        *,
        threads: int = 8,
        mix: tuple[Call, ...] = DEFAULT_MIX,
        max_requests: int = 50_000,
        max_seconds: float = 60.0,
        host_header: str = "localhost",
    ) -> None:
        self.port = port
        self.mix = mix
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.host_header = host_header
        self.threads = threads
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> "Load":
        self._deadline = time.monotonic() + self.max_seconds
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        return self.result

    def wait_for(self, more: int, timeout: float = 20.0) -> None:
        """Block until ``more`` further requests have completed (or the timeout passes)."""
        target = self.result.total + more
        deadline = time.monotonic() + timeout
        while self.result.total < target and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.02)

    def _record(self, call: Call, error: Optional[str]) -> None:
        kind = "idempotent" if call.idempotent else "non-idempotent"
        with self._lock:
            if error is None:
                self.result.ok[kind] += 1
            else:
                self.result.failed[kind] += 1
                self.result.errors.append(f"{call.method} {call.path}: {error}")

    def _client(self, n: int) -> None:
        conn: Optional[http.client.HTTPConnection] = None
        calls = itertools.cycle(self.mix[n % len(self.mix):] + self.mix[: n % len(self.mix)])
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            if self.result.total >= self.max_requests:
                break
            call = next(calls)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            headers = {"Host": self.host_header}
            try:
                conn.request(call.method, call.path, body=call.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    error: Optional[str] = f"status {response.status}"
                elif call.path == "/echo" and body != call.body:
                    error = "wrong body"
                else:
                    error = None
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = None
            self._record(call, error)
        if conn is not None:
            conn.close()
