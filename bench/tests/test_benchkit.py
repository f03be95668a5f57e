"""The harness's own logic: reading wrk, judging a row, filling the docs page.

Run with ``python -m pytest bench/tests``; no server or wrk is started here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import report, wrk
from benchkit.config import SCENARIOS
from benchkit.report import Cell

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:40211/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms  512.40us   9.87ms   80.12%
    Req/Sec    24.61k     1.02k   26.01k    76.00%
  Latency Distribution
     50%    2.16ms
     75%    2.80ms
     90%    3.10ms
     99%  812.00us
  122456 requests in 5.00s, 18.35MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  24491.20
Transfer/sec:      3.67MB
"""


def test_wrk_output_is_read_in_milliseconds() -> None:
    result = wrk.parse(WRK_OUTPUT)

    assert result.requests_per_sec == 24491.20
    assert result.p50_ms == pytest.approx(2.16)
    assert result.p99_ms == pytest.approx(0.812)
    assert result.requests == 122456
    assert result.non_2xx == 7
    assert result.socket_errors == 3


def test_wrk_output_without_errors_counts_none() -> None:
    clean = "\n".join(
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )

    result = wrk.parse(clean)

    assert (result.non_2xx, result.socket_errors) == (0, 0)


def test_unreadable_wrk_output_is_an_error() -> None:
    with pytest.raises(wrk.WrkError):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_never_targets_a_non_loopback_address() -> None:
    with pytest.raises(wrk.WrkError, match="non-loopback"):
        wrk.run("wrk", "http://192.0.2.1:80/", 1, 1, 1, None)


def cell(rps: float, p99: float, rss: int) -> Cell:
    return Cell(runs=[wrk.WrkResult(rps, p99 / 2, p99, int(rps), 0, 0)], rss_kib=rss)


def test_a_row_meets_its_target_only_on_throughput_latency_and_memory() -> None:
    plaintext = SCENARIOS[0]

    assert report.verdict(plaintext, cell(3000, 1.0, 100), cell(1000, 2.0, 200)) == (
        "3.00",
        "meets",
    )
    ratio, text = report.verdict(plaintext, cell(1200, 3.0, 300), cell(1000, 2.0, 200))
    assert ratio == "1.20"
    assert text == "misses: ratio below 1.5, p99 worse, RSS larger"


def test_a_pending_row_is_reported_not_failed() -> None:
    ours = Cell(pending="server does not start")

    assert report.verdict(SCENARIOS[3], ours, cell(1000, 2.0, 200)) == (
        "—",
        "pending (see notes)",
    )


def rounds(*rps: float) -> Cell:
    return Cell(runs=[wrk.WrkResult(r, 1.0, 2.0, int(r), 0, 0) for r in rps], rss_kib=100)


def test_the_ratio_pairs_each_round_so_a_slow_spell_hits_both_sides() -> None:
    # Round 2 ran while the machine was slow for both stacks; round 3 only for the other.
    ours = rounds(1300, 650, 1300)
    other = rounds(1000, 500, 1000)

    assert report.round_ratios(ours, other) == [1.3, 1.3, 1.3]
    ratio, text = report.verdict(SCENARIOS[0], ours, other)
    assert (ratio, text) == ("1.30 (1.30-1.30)", "misses: ratio below 1.5")


def test_the_ratio_shows_the_spread_of_the_rounds() -> None:
    ratio, _ = report.verdict(SCENARIOS[0], rounds(1500, 2000, 1600), rounds(1000, 1000, 1000))

    assert ratio == "1.60 (1.50-2.00)"


def test_medians_over_rounds() -> None:
    rounds = Cell(runs=[wrk.WrkResult(r, 1.0, 2.0, 1, 0, 0) for r in (10.0, 30.0, 20.0)])

    assert rounds.rps == 20.0


def test_docs_page_keeps_its_prose_around_the_results(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    page.write_text(
        f"# Performance\n\nIntro.\n\n{report.DOCS_START}\nold\n{report.DOCS_END}\n\nTail.\n"
    )

    report.write_docs(page, "| new table |\n", "python3 bench/run.py")

    text = page.read_text()
    assert "old" not in text
    assert "| new table |" in text
    assert text.startswith("# Performance\n\nIntro.")
    assert text.endswith("Tail.\n")
