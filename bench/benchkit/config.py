"""Everything the harness compares, in one place: stacks, scenarios, settings, targets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DOCS_FILE = REPO_DIR / "docs" / "performance.md"

GUNICORN_VERSION = "27.0.1"
UVLOOP_VERSION = "0.23.0"
REAL_AIOHTTP_VERSION = "3.14.5"
REQUEST_ID_LOGGING_VERSION = "1.0.0"

# Our built-in request-id switch for the gunicorn workers. Its name may still change:
# this is the only place the harness spells it.
OUR_REQUEST_ID_ENV = {"AIOHTTP_REQUEST_ID": "1"}

# aiohttp's default access log format plus the request id; the id reaches the line through
# the record factory both request-id setups install (see gunicorn_conf.py).
ACCESS_LOG_FORMAT = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'
# How the request id shows in a log line, as both setups print it by default.
REQUEST_ID_PATTERN = r"\[req:([A-Za-z0-9_-]+)\]"

WORKER_CLASSES = ("aiohttp.GunicornWebWorker", "aiohttp.GunicornUVLoopWebWorker")
STARLETTE_WORKER = "uvicorn_worker.UvicornWorker"


@dataclasses.dataclass(frozen=True)
class Stack:
    """One server stack: its own virtualenv, what goes into it, and the app it serves."""

    key: str
    title: str
    venv: Path
    requirements: tuple[str, ...]
    # Installed afterwards with --no-deps so they can never pull in another aiohttp.
    no_deps_requirements: tuple[str, ...] = ()
    app: str = "app:app"
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    correlated_env: dict[str, str] = dataclasses.field(default_factory=dict)


OURS = Stack(
    key="ours",
    title="aiohttp-deploy (this project)",
    venv=BENCH_DIR / ".venv-ours",
    requirements=(str(REPO_DIR), f"gunicorn=={GUNICORN_VERSION}", f"uvloop=={UVLOOP_VERSION}"),
    correlated_env=OUR_REQUEST_ID_ENV,
)
REAL = Stack(
    key="real",
    title=f"aiohttp {REAL_AIOHTTP_VERSION} (PyPI)",
    venv=BENCH_DIR / ".venv-real",
    requirements=(
        f"aiohttp=={REAL_AIOHTTP_VERSION}",
        f"gunicorn=={GUNICORN_VERSION}",
        f"uvloop=={UVLOOP_VERSION}",
    ),
    no_deps_requirements=(f"aiohttp-request-id-logging=={REQUEST_ID_LOGGING_VERSION}",),
)
STARLETTE = Stack(
    key="starlette",
    title="Starlette + uvicorn worker",
    venv=BENCH_DIR / ".venv-starlette",
    requirements=(
        "starlette==1.10.0",
        "uvicorn==0.54.0",
        "uvicorn-worker==0.4.0",
        "httptools==0.9.0",
        f"gunicorn=={GUNICORN_VERSION}",
        f"uvloop=={UVLOOP_VERSION}",
    ),
    app="app_starlette:app",
)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One row of the table: a server configuration and the path wrk hammers."""

    key: str
    title: str
    path: str
    correlated: bool
    target_ratio: float


SCENARIOS = (
    Scenario("plaintext", "plaintext `/`", "/", False, 1.5),
    Scenario("json", "JSON `/json`", "/json", False, 1.5),
    Scenario("dynamic", "dynamic `/user/{id}` (51 routes)", "/user/12345", False, 1.5),
    Scenario("logged", "correlated logging `/log`", "/log", True, 3.0),
)


@dataclasses.dataclass(frozen=True)
class Expected:
    """What a correct answer to one path looks like on every stack."""

    path: str
    status: int
    body: bytes
    content_type: str


EXPECTED = {
    "/": Expected("/", 200, b"Hello, World!", "text/plain"),
    "/json": Expected("/json", 200, b'{"message": "Hello, World!"}', "application/json"),
    "/user/12345": Expected("/user/12345", 200, b"user 12345", "text/plain"),
    "/log": Expected("/log", 200, b"logged", "text/plain"),
}


@dataclasses.dataclass
class Settings:
    """Knobs a user may turn from the command line."""

    rounds: int = 7
    duration: float = 5.0
    warmup: float = 2.0
    connections: int = 64
    threads: int = 1
    worker_classes: tuple[str, ...] = WORKER_CLASSES
    scenarios: tuple[str, ...] = tuple(s.key for s in SCENARIOS)
    starlette: bool = True
    server_cpu: str = "0"
    client_cpu: str = "1"
