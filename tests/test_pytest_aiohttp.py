"""pytest-aiohttp from the package index, installed on top of our package, runs a user suite.

A throwaway virtualenv gets this checkout installed (editable), then a plain
``pip install pytest-aiohttp``. pip must accept our distribution as the ``aiohttp`` that
pytest-aiohttp needs and leave it in place; the sample suite written from pytest-aiohttp's
README (``asyncio_mode = auto``) and the framework-agnostic suites must pass. A constraints
file pins ``aiohttp`` to our exact version, so that a resolver failure shows up as an error
here instead of as another aiohttp being installed.

The virtualenv is cached in the temp directory, keyed by Python, checkout and packaging
metadata; the test skips, saying why, when the package index cannot be reached.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiohttp._version import DISTRIBUTION_VERSION

REPO = Path(__file__).resolve().parent.parent
USER_SUITE = Path(__file__).resolve().parent / "user_suite"
#: Bound for one pip step; a cold install takes about half a minute.
PIP_TIMEOUT = 240
#: Bound for running the sample suite.
RUN_TIMEOUT = 60

_NETWORK_TROUBLE = (
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "Read timed out",
    "ConnectTimeoutError",
    # pip's words when the index lists nothing at all for a package that surely exists.
    "(from versions: none)",
)


def _clean_env() -> dict[str, str]:
    """The environment without what points Python or pytest at our own test set-up."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS", "PIP_USER"):
        env.pop(name, None)
    return env


def _pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    try:
        return subprocess.run(
            [*cmd, *args],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT,
            env=_clean_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"the package index did not answer within {PIP_TIMEOUT} s")


def _check_install(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    if any(marker in output for marker in _NETWORK_TROUBLE):
        pytest.skip(f"the package index is unreachable, so {what} cannot be installed")
    pytest.fail(f"installing {what} failed:\n{output[-4000:]}")


def _cache_key() -> str:
    setup_cfg = (REPO / "setup.cfg").read_bytes()
    material = f"{sys.version}|{REPO}|{DISTRIBUTION_VERSION}|".encode() + setup_cfg
    return hashlib.sha256(material).hexdigest()[:16]


@pytest.fixture(scope="module")
def venv() -> Iterator[Path]:
    """A virtualenv with our package and pytest-aiohttp, made once and then reused."""
    root = Path(tempfile.gettempdir()) / "aiohttp-deploy-venvs"
    root.mkdir(exist_ok=True)
    path = root / f"pytest-aiohttp-{_cache_key()}"
    ready = path / "ready"
    with open(root / f"{path.name}.lock", "w") as lock:
        # Several test runs may share this machine; one builds, the others wait.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not ready.exists():
                shutil.rmtree(path, ignore_errors=True)
                subprocess.run(
                    [sys.executable, "-m", "venv", str(path)], check=True, timeout=PIP_TIMEOUT
                )
                _check_install(_pip(path, "install", "-e", str(REPO)), "our package")
                constraints = path / "constraints.txt"
                constraints.write_text(f"aiohttp=={DISTRIBUTION_VERSION}\n")
                _check_install(
                    _pip(path, "install", "-c", str(constraints), "pytest-aiohttp"),
                    "pytest-aiohttp",
                )
                ready.write_text(DISTRIBUTION_VERSION)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield path


def _pip_show(venv: Path, name: str) -> dict[str, str]:
    result = _pip(venv, "show", name)
    assert result.returncode == 0, result.stderr
    fields: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def test_pip_keeps_our_aiohttp_under_pytest_aiohttp(venv: Path) -> None:
    ours = _pip_show(venv, "aiohttp")
    assert ours["Version"] == DISTRIBUTION_VERSION == "3.14.0+deploy.1"
    assert Path(ours["Editable project location"]) == REPO
    plugin = _pip_show(venv, "pytest-aiohttp")
    assert "aiohttp" in plugin["Requires"]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "check"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=_clean_env(),
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_user_suite_passes_under_pytest_aiohttp(venv: Path, tmp_path: Path) -> None:
    shutil.copy(USER_SUITE / "pytest_aiohttp.ini", tmp_path / "pytest.ini")
    shutil.copy(USER_SUITE / "pytest_aiohttp_suite.py", tmp_path / "test_pytest_aiohttp.py")
    # These do not depend on which plugin runs them.
    for name in ("unittest", "mocked_request", "agnostic"):
        shutil.copy(USER_SUITE / f"suite_{name}.py", tmp_path / f"test_{name}.py")
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=_clean_env(),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "16 passed" in output, output
    # The suite ran against this checkout, not some other aiohttp.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import aiohttp; print(aiohttp.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=_clean_env(),
    )
    assert Path(where.stdout.strip()).parent == REPO / "aiohttp"
