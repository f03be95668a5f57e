"""Create and check the isolated virtualenvs, one per stack.

Our distribution is called ``aiohttp`` too, so each stack lives in its own virtualenv and the
harness checks, before any load, which ``aiohttp`` each one really imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

from .config import BENCH_DIR, REAL_AIOHTTP_VERSION, REPO_DIR, Stack

PIP_TIMEOUT = 900


class SetupError(RuntimeError):
    """A virtualenv could not be made or does not hold what it should."""


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for child processes: nothing that could leak another sys.path in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def _stamp(stack: Stack) -> str:
    parts = [*stack.requirements, "--no-deps", *stack.no_deps_requirements, sys.version]
    if stack.key == "ours":
        parts.append((REPO_DIR / "setup.cfg").read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _pip(stack: Stack, args: list[str], log) -> None:
    cmd = [str(stack.venv / "bin" / "python"), "-m", "pip", "install", "-q", *args]
    log(f"  $ {' '.join(cmd)}")
    done = subprocess.run(
        cmd,
        cwd=BENCH_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
    )
    if done.returncode != 0:
        raise SetupError(f"pip failed for {stack.key}:\n{done.stdout}\n{done.stderr}")


def ensure(stack: Stack, log, reinstall: bool = False) -> None:
    """Make ``stack.venv`` hold exactly the stack's requirements (skipped when up to date)."""
    stamp_file = stack.venv / ".bench-stamp"
    stamp = _stamp(stack)
    if not reinstall and stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    log(f"setting up {stack.venv.relative_to(REPO_DIR)} ...")
    if not (stack.venv / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(stack.venv)
    reqs = list(stack.requirements)
    if stack.key == "ours":
        reqs = ["-e", *reqs]
    _pip(stack, reqs, log)
    if stack.no_deps_requirements:
        _pip(stack, ["--no-deps", *stack.no_deps_requirements], log)
    stamp_file.write_text(stamp)


_PROBE = """
import importlib.util, json, sys
out = {"python": sys.version.split()[0]}
spec = importlib.util.find_spec("aiohttp")
if spec is not None:
    import aiohttp
    out["aiohttp_file"] = aiohttp.__file__
    out["aiohttp_version"] = getattr(aiohttp, "__version__", "?")
for name in ("gunicorn", "uvloop", "starlette", "uvicorn", "aiohttp_request_id_logging"):
    if importlib.util.find_spec(name) is not None:
        mod = __import__(name)
        out[name] = getattr(mod, "__version__", "present")
print(json.dumps(out))
"""


def probe(stack: Stack) -> dict[str, str]:
    """What the stack's interpreter imports, as seen from the app's directory."""
    done = subprocess.run(
        [str(stack.venv / "bin" / "python"), "-c", _PROBE],
        cwd=BENCH_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise SetupError(f"cannot import the {stack.key} stack:\n{done.stderr}")
    info: dict[str, str] = json.loads(done.stdout)
    _check_isolation(stack, info)
    return info


def _check_isolation(stack: Stack, info: dict[str, str]) -> None:
    where = Path(info.get("aiohttp_file", "")).resolve()
    if stack.key == "ours":
        if not where.is_relative_to(REPO_DIR / "aiohttp"):
            raise SetupError(f".venv-ours imports aiohttp from {where}, not from this checkout")
        if "aiohttp_request_id_logging" in info:
            raise SetupError(".venv-ours must not hold aiohttp-request-id-logging")
    elif stack.key == "real":
        if not where.is_relative_to(stack.venv.resolve()):
            raise SetupError(f".venv-real imports aiohttp from {where}, not from its own venv")
        if info.get("aiohttp_version") != REAL_AIOHTTP_VERSION:
            raise SetupError(f".venv-real has aiohttp {info.get('aiohttp_version')}")
