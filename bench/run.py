#!/usr/bin/env python3
"""One command benchmark: this project vs the real aiohttp 3.14.5 under gunicorn, with wrk.

    python3 bench/run.py                  # full run, 7 rounds, about 12 minutes
    python3 bench/run.py --quick          # smoke run, well under a minute per worker class
    python3 bench/run.py --update-docs    # also refresh docs/performance.md

See bench/README.md for what it measures and how.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import checks, report, servers, venvs, wrk
from benchkit.config import (
    DOCS_FILE,
    EXPECTED,
    OURS,
    REAL,
    RESULTS_DIR,
    SCENARIOS,
    STARLETTE,
    STARLETTE_WORKER,
    WORKER_CLASSES,
    Settings,
    Stack,
)
from benchkit.report import Cell, Results


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Settings()
    parser.add_argument(
        "--rounds", type=int, default=defaults.rounds, help=f"interleaved rounds (default {defaults.rounds})"
    )
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=defaults.warmup, help="warm-up seconds per path")
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument(
        "--worker-class",
        action="append",
        choices=WORKER_CLASSES,
        help="only this worker class (repeatable; default both)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.key for s in SCENARIOS],
        help="only this scenario (repeatable; default all)",
    )
    parser.add_argument("--no-starlette", action="store_true", help="skip uvicorn + Starlette")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, 1 s warm-up")
    parser.add_argument("--reinstall", action="store_true", help="re-run pip in every venv")
    parser.add_argument(
        "--update-docs", action="store_true", help="write the table into docs/performance.md"
    )
    args = parser.parse_args(argv)
    settings = Settings(
        rounds=1 if args.quick else args.rounds,
        duration=2 if args.quick else args.duration,
        warmup=1 if args.quick else args.warmup,
        connections=args.connections,
        threads=args.threads,
        worker_classes=tuple(args.worker_class or WORKER_CLASSES),
        scenarios=tuple(args.scenario or [s.key for s in SCENARIOS]),
        starlette=not args.no_starlette,
    )
    if settings.rounds < 1 or settings.duration < 1:
        parser.error("--rounds and --duration must be at least 1")
    return settings, args


def pinning_cpus(settings: Settings) -> tuple[str | None, str | None]:
    """(server cpu, wrk cpu), or (None, None) when this machine cannot pin."""
    if len(os.sched_getaffinity(0)) < 2 or servers.pin_prefix("0") == []:
        log("note: not pinning (needs taskset and 2 CPUs); numbers will be noisier")
        return None, None
    return settings.server_cpu, settings.client_cpu


def start_stack(
    stack: Stack, worker_class: str, correlated: bool, run_dir: Path, cpu: str | None
) -> tuple[servers.Server | None, str | None]:
    """Start one server; (server, None) or (None, why it could not start)."""
    server = servers.Server(stack, worker_class, correlated, run_dir, cpu)
    try:
        server.start()
    except servers.ServerError as exc:
        server.stop()
        return None, str(exc).splitlines()[0][:300] + _last_error_line(str(exc))
    return server, None


def _last_error_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if "Error" in line or "error" in line:
            return f" ({line.strip()[:200]})"
    return ""


def run_group(
    worker_class: str,
    correlated: bool,
    scenario_keys: list[str],
    stacks: list[Stack],
    settings: Settings,
    wrk_path: str,
    cpus: tuple[str | None, str | None],
    run_dir: Path,
    results: Results,
) -> None:
    """Start each stack's server for one configuration, load it in interleaved rounds, stop."""
    scenarios = [s for s in SCENARIOS if s.key in scenario_keys]
    paths = [s.path for s in scenarios]
    by_scenario = results.setdefault(worker_class, {})
    live: dict[str, servers.Server] = {}
    try:
        for stack in stacks:
            cells = [
                by_scenario.setdefault(s.key, {}).setdefault(stack.key, Cell()) for s in scenarios
            ]
            # Starlette serves its own worker class; it is compared in the uvloop group only.
            wc = STARLETTE_WORKER if stack is STARLETTE else worker_class
            log(f"starting {stack.key} ({wc}{', correlated logging' if correlated else ''})")
            server, why = start_stack(stack, wc, correlated, run_dir, cpus[0])
            if server is None:
                for cell in cells:
                    if stack is OURS:
                        cell.pending = f"server does not start: {why}"
                    else:
                        cell.failed = f"server does not start: {why}"
                continue
            problems = checks.check_server(server, paths)
            if problems:
                log(f"  {stack.key}: wrong answers before load: {problems}")
                for cell in cells:
                    if stack is OURS:
                        cell.pending = "; ".join(problems)[:300]
                    else:
                        cell.failed = "; ".join(problems)[:300]
                server.stop()
                continue
            live[stack.key] = server

        for server in live.values():
            for path in paths:
                log(f"  warm-up {server.tag} {path}")
                wrk.run(
                    wrk_path,
                    server.base_url + path,
                    settings.warmup,
                    settings.connections,
                    settings.threads,
                    cpus[1],
                )

        for rnd in range(settings.rounds):
            # Every other round runs the stacks in reverse order, so none always goes first.
            order = list(live.items())
            if rnd % 2:
                order.reverse()
            for scenario in scenarios:
                for key, server in order:
                    result = wrk.run(
                        wrk_path,
                        server.base_url + scenario.path,
                        settings.duration,
                        settings.connections,
                        settings.threads,
                        cpus[1],
                    )
                    by_scenario[scenario.key][key].runs.append(result)
                    log(
                        f"  round {rnd + 1}/{settings.rounds} {scenario.key:9} {key:9} "
                        f"{result.requests_per_sec:10,.0f} req/s  p99 {result.p99_ms:.2f} ms"
                    )

        for key, server in live.items():
            problems = checks.check_server(server, paths)
            if correlated:
                problems += checks.check_log_counts(server)
            rss = server.peak_rss_kib()
            for scenario in scenarios:
                by_scenario[scenario.key][key].problems_after = problems
                by_scenario[scenario.key][key].rss_kib = rss
            if problems:
                log(f"  {key}: problems after load: {problems}")
    finally:
        for server in live.values():
            server.stop()


def prune_runs(keep: int) -> None:
    """Keep only the newest ``keep`` run directories (their logs can be large)."""
    old = sorted(RESULTS_DIR.glob("run-*"))[:-keep]
    for run in old:
        for path in run.iterdir():
            path.unlink()
        run.rmdir()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    settings, args = parse_args(argv)
    # Ctrl-C and TERM both end the run through the same cleanup (SIGINT may arrive ignored
    # when started in the background, so it is set explicitly).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    run_dir = RESULTS_DIR / time.strftime("run-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    prune_runs(keep=3)
    started, load_before = time.monotonic(), report.load_average()
    try:
        wrk_path = wrk.ensure_wrk(log)
        stacks = [OURS, REAL] + ([STARLETTE] if settings.starlette else [])
        versions = {}
        for stack in stacks:
            venvs.ensure(stack, log, reinstall=args.reinstall)
            versions[stack.venv.name] = venvs.probe(stack)
        cpus = pinning_cpus(settings)
        results: Results = {}
        plain = [s.key for s in SCENARIOS if not s.correlated and s.key in settings.scenarios]
        logged = [s.key for s in SCENARIOS if s.correlated and s.key in settings.scenarios]
        for worker_class in settings.worker_classes:
            group_stacks = [OURS, REAL]
            if settings.starlette and "UVLoop" in worker_class:
                group_stacks.append(STARLETTE)
            if plain:
                run_group(
                    worker_class,
                    False,
                    plain,
                    group_stacks,
                    settings,
                    wrk_path,
                    cpus,
                    run_dir,
                    results,
                )
            if logged:
                run_group(
                    worker_class,
                    True,
                    logged,
                    [OURS, REAL],
                    settings,
                    wrk_path,
                    cpus,
                    run_dir,
                    results,
                )
        machine = report.machine_info(
            wrk.wrk_version(wrk_path),
            versions,
            cpus[0] is not None,
            load_before,
            time.monotonic() - started,
        )
        table = report.render(results, settings, machine)
    except KeyboardInterrupt:
        log("interrupted: servers stopped")
        return 130
    except (venvs.SetupError, wrk.WrkError, servers.ServerError) as exc:
        log(f"error: {exc}")
        return 2
    finally:
        servers.stop_all()

    print(table)
    (RESULTS_DIR / "latest.md").write_text(table)
    raw = {
        k: {s: {st: c.as_dict() for st, c in v.items()} for s, v in d.items()}
        for k, d in results.items()
    }
    (RESULTS_DIR / "latest.json").write_text(
        json.dumps({"settings": vars(settings), "machine": machine, "results": raw}, indent=2)
    )
    log(f"wrote {RESULTS_DIR / 'latest.md'} (logs in {run_dir})")
    if args.update_docs:
        command = "python3 bench/run.py " + " ".join(
            shlex.quote(a) for a in argv if a != "--update-docs"
        )
        report.write_docs(DOCS_FILE, table, command.strip())
        log(f"updated {DOCS_FILE}")
    return 0


assert set(EXPECTED) >= {s.path for s in SCENARIOS}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
