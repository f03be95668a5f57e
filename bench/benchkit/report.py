"""Collect results, take medians, and render the markdown the user and the docs get.

The ratio of a row is paired: each round loads this project and the real aiohttp back to
back, so each round gives one ratio of two runs that saw the same machine, and the row's
ratio is the median of those per-round ratios. A slow spell on a shared machine then
lowers both halves of a pair instead of only one stack's median. The smallest and largest
per-round ratios are shown beside it, so the spread is in plain sight.
"""

from __future__ import annotations

import dataclasses
import datetime
import platform
import re
import statistics
import subprocess
from pathlib import Path

from .config import REPO_DIR, SCENARIOS, Scenario, Settings
from .wrk import WrkResult

DOCS_START = "<!-- bench-results:start -->"
DOCS_END = "<!-- bench-results:end -->"


@dataclasses.dataclass
class Cell:
    """One stack in one scenario under one worker class."""

    runs: list[WrkResult] = dataclasses.field(default_factory=list)
    pending: str | None = None
    failed: str | None = None
    rss_kib: int | None = None
    problems_after: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.pending and not self.failed

    @property
    def rps(self) -> float:
        return statistics.median(r.requests_per_sec for r in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.non_2xx + r.socket_errors for r in self.runs)

    def as_dict(self) -> dict:
        return {
            "runs": [dataclasses.asdict(r) for r in self.runs],
            "pending": self.pending,
            "failed": self.failed,
            "rss_kib": self.rss_kib,
            "problems_after": self.problems_after,
            "median_rps": self.rps if self.runs else None,
            "median_p50_ms": self.p50 if self.runs else None,
            "median_p99_ms": self.p99 if self.runs else None,
        }


# results[worker_class][scenario_key][stack_key]
Results = dict[str, dict[str, dict[str, Cell]]]


def load_average() -> str:
    """The 1-minute load average: other work on the machine shows up in the numbers."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def machine_info(
    wrk_version: str,
    versions: dict[str, dict[str, str]],
    pinned: bool,
    load_before: str,
    elapsed_s: float,
) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": _nproc(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version,
        "pinned": pinned,
        "commit": _git_commit(),
        "versions": versions,
        "load": f"{load_before} before, {load_average()} after",
        "elapsed": f"{elapsed_s / 60:.1f} min",
    }


def _nproc() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "aiohttp"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head + (" (aiohttp/ has uncommitted changes)" if dirty else "")


def _fmt_rps(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    if cell.pending:
        return "pending"
    if cell.failed or not cell.runs:
        return "failed"
    text = f"{cell.rps:,.0f}"
    if cell.errors:
        text += f" ({cell.errors} errors)"
    return text


def _fmt_lat(cell: Cell | None) -> str:
    if cell is None or not cell.ok:
        return "—"
    return f"{cell.p50:.2f} / {cell.p99:.2f}"


def _fmt_rss(cell: Cell | None) -> str:
    if cell is None or cell.rss_kib is None:
        return "—"
    return f"{cell.rss_kib / 1024:.1f}"


def round_ratios(ours: Cell, other: Cell) -> list[float]:
    """``ours / other`` requests/s for each round both completed, in round order."""
    return [
        a.requests_per_sec / b.requests_per_sec
        for a, b in zip(ours.runs, other.runs, strict=False)
        if b.requests_per_sec > 0
    ]


def ratio_text(ratios: list[float]) -> str:
    """``1.31 (1.27-1.36)``: the paired ratio (the median), then the lowest and highest."""
    text = f"{statistics.median(ratios):.2f}"
    if len(ratios) > 1:
        text += f" ({min(ratios):.2f}-{max(ratios):.2f})"
    return text


def verdict(scenario: Scenario, ours: Cell | None, real: Cell | None) -> tuple[str, str]:
    """(ratio text, verdict text) for one row."""
    if ours is None or real is None:
        return "—", "—"
    if ours.pending:
        return "—", "pending (see notes)"
    ratios = round_ratios(ours, real)
    if ours.failed or real.failed or not ratios:
        return "—", "failed (see notes)"
    ratio = statistics.median(ratios)
    misses = []
    if ratio < scenario.target_ratio:
        misses.append(f"ratio below {scenario.target_ratio}")
    if ours.p99 > real.p99:
        misses.append("p99 worse")
    if ours.rss_kib is not None and real.rss_kib is not None and ours.rss_kib > real.rss_kib:
        misses.append("RSS larger")
    if ours.errors:
        misses.append("errors under load")
    if ours.problems_after:
        misses.append("wrong answers after load")
    return ratio_text(ratios), ("meets" if not misses else "misses: " + ", ".join(misses))


def render(results: Results, settings: Settings, machine: dict) -> str:
    """The markdown report: the comparison table, the alternative, and the machine."""
    lines = [
        f"Run {machine['date']} on commit {machine['commit']}: {settings.rounds} interleaved "
        f"rounds of {settings.duration:g} s per server and scenario after a "
        f"{settings.warmup:g} s warm-up; wrk with {settings.connections} connections, "
        f"{settings.threads} thread(s). Requests/s and latencies are medians over the rounds. "
        "The ratio is this project / aiohttp 3.14.5, paired by round: the median of the "
        "rounds' ratios, with the lowest and highest round in brackets. Peak RSS is the "
        "worker's VmHWM after all rounds.",
        "",
        "| worker class | scenario | this project req/s | aiohttp 3.14.5 req/s | ratio | "
        "target | p50 / p99 ms (this project) | p50 / p99 ms (aiohttp 3.14.5) | "
        "peak RSS MiB (this / aiohttp) | verdict |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    alt_rows = []
    for worker_class, by_scenario in results.items():
        short = worker_class.rsplit(".", 1)[-1]
        for scenario in SCENARIOS:
            cells = by_scenario.get(scenario.key)
            if cells is None:
                continue
            ours, real = cells.get("ours"), cells.get("real")
            ratio, text = verdict(scenario, ours, real)
            lines.append(
                f"| {short} | {scenario.title} | {_fmt_rps(ours)} | {_fmt_rps(real)} | "
                f"{ratio} | ≥ {scenario.target_ratio} | {_fmt_lat(ours)} | {_fmt_lat(real)} | "
                f"{_fmt_rss(ours)} / {_fmt_rss(real)} | {text} |"
            )
            alt = cells.get("starlette")
            if alt is not None:
                vs = "—"
                ratios = round_ratios(ours, alt) if alt.ok and ours is not None and ours.ok else []
                if ratios:
                    vs = ratio_text(ratios)
                alt_rows.append(
                    f"| {scenario.title} | {_fmt_rps(alt)} | {_fmt_lat(alt)} | "
                    f"{_fmt_rss(alt)} | {vs} (with {short}) |"
                )
    if alt_rows:
        lines += [
            "",
            "What users pick instead, same gunicorn settings (`uvicorn_worker.UvicornWorker`, "
            "uvloop + httptools), measured in the same rounds:",
            "",
            "| scenario | Starlette + uvicorn req/s | p50 / p99 ms | peak RSS MiB | "
            "this project / Starlette |",
            "|---|--:|--:|--:|--:|",
            *alt_rows,
        ]
    notes = _notes(results)
    if notes:
        lines += ["", "Notes from this run:", "", *notes]
    lines += ["", _render_machine(machine, settings)]
    return "\n".join(lines) + "\n"


def _notes(results: Results) -> list[str]:
    """One line per distinct problem, naming the scenarios it hit."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for worker_class, by_scenario in results.items():
        short = worker_class.rsplit(".", 1)[-1]
        for scenario_key, cells in by_scenario.items():
            for stack_key, cell in cells.items():
                what = []
                if cell.pending:
                    what.append(f"pending — {cell.pending}")
                elif cell.failed:
                    what.append(f"failed — {cell.failed}")
                what += [f"after load — {p}" for p in cell.problems_after]
                for text in what:
                    found.setdefault((short, stack_key, text), []).append(scenario_key)
    return [
        f"- {short}, {stack} ({', '.join(keys)}): {text}"
        for (short, stack, text), keys in found.items()
    ]


def _render_machine(machine: dict, settings: Settings) -> str:
    pin = (
        f"server pinned to CPU {settings.server_cpu}, wrk to CPU {settings.client_cpu} (taskset)"
        if machine["pinned"]
        else "not pinned (taskset missing or fewer than 2 CPUs)"
    )
    rows = [
        "Machine:",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores available; {machine['memory']} RAM",
        f"- Linux {machine['kernel']}, Python {machine['python']}, {machine['wrk']}",
        f"- {pin}",
        f"- 1-minute load average {machine['load']} the run ({machine['elapsed']}); "
        "anything above ~1 means other work shared the CPUs",
    ]
    for key, info in machine["versions"].items():
        shown = ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("aiohttp_file",))
        rows.append(f"- `{key}` venv: {shown}")
    return "\n".join(rows)


def write_docs(path: Path, table: str, command: str) -> None:
    """Put ``table`` between the result markers of ``path`` (created from scratch if needed)."""
    block = f"{DOCS_START}\n\nProduced by `{command}`.\n\n{table}\n{DOCS_END}"
    text = path.read_text() if path.exists() else f"# Performance\n\n{DOCS_START}\n{DOCS_END}\n"
    if DOCS_START not in text or DOCS_END not in text:
        text = text.rstrip("\n") + f"\n\n## Latest results\n\n{DOCS_START}\n{DOCS_END}\n"
    pattern = re.compile(re.escape(DOCS_START) + r".*?" + re.escape(DOCS_END), re.S)
    path.write_text(pattern.sub(lambda _m: block, text, count=1))
