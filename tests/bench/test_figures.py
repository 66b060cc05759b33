"""The figures bench/run_all.py reports, decided from canned benchmark output (bench/figures.py).

The fixtures are the JSON the benchmarks printed in a quick run on a loaded 2-core machine
(tests/fixtures/bench/<run>.json); each test changes only what it is about.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.figures import (
    FIGURES,
    MET,
    MISSED,
    NOT_MEASURED,
    NOT_MEASURED_YET,
    REPORTED,
    Outcome,
    evaluate,
    exit_status,
    parse_output,
    render_table,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bench"
BY_KEY = {figure.key: figure for figure in FIGURES}
ISSUE_14 = [
    "commands_per_change",
    "idle_commands",
    "propagation_sqlite",
    "propagation_ferretdb",
    "propagation_1000",
    "realtime_under_bulk",
    "bulk_sync_10000",
    "bulk_sync_other",
    "bulk_sync_rate",
    "throttled",
    "rss_10000",
    "rss_50000",
    "writes_ratio",
    "polling_baseline",
]
HARD = {"commands_per_change", "propagation_sqlite", "throttled", "rss_50000", "writes_ratio"}


@pytest.fixture
def outputs() -> dict[str, Any]:
    """Every run's output as the quick run printed it."""
    return {path.stem: json.loads(path.read_text()) for path in FIXTURES.glob("*.json")}


def status(key: str, outputs: dict[str, Any]) -> Outcome:
    return evaluate(BY_KEY[key], outputs)


def test_every_target_of_the_issue_is_a_figure_and_exactly_the_five_are_hard() -> None:
    assert [f.key for f in FIGURES][: len(ISSUE_14)] == ISSUE_14
    assert {f.key for f in FIGURES if f.hard} == HARD


def test_the_quick_run_misses_commands_and_sqlite_latency_and_cannot_pass(
    outputs: dict[str, Any],
) -> None:
    found = {f.key: evaluate(f, outputs) for f in FIGURES}
    assert found["commands_per_change"].status == MISSED
    assert found["commands_per_change"].result.startswith("34.4 per change")
    assert "find links 10.9" in found["commands_per_change"].details
    assert found["propagation_sqlite"].status == MISSED  # p99 1,144 ms on the loaded machine
    assert found["throttled"].status == MET
    assert found["writes_ratio"].status == MET
    assert found["rss_50000"].status == NOT_MEASURED  # the full run only
    assert found["idle_commands"].status == REPORTED
    assert exit_status(found.values()) == 1


@pytest.mark.parametrize(("per_change", "verdict"), [(8.0, MET), (8.1, MISSED), (34.4, MISSED)])
def test_commands_per_change_at_most_eight(
    outputs: dict[str, Any], per_change: float, verdict: str
) -> None:
    outputs["propagation_ferretdb_commands"]["mongo_commands"]["per_change_less_idle"] = per_change
    assert status("commands_per_change", outputs).status == verdict


def test_a_command_count_with_changes_unfinished_is_not_a_measurement(
    outputs: dict[str, Any],
) -> None:
    run = outputs["propagation_ferretdb_commands"]
    run["mongo_commands"]["per_change_less_idle"] = 5.0  # looks met, but 3 changes never ended
    run["lost"] = 3
    found = status("commands_per_change", outputs)
    assert found.status == NOT_MEASURED
    assert "3 of 50 changes unfinished" in found.result
    assert not found.met


def _sqlite(outputs: dict[str, Any], **changes: Any) -> Outcome:
    run = outputs["propagation_sqlite"]
    for name, value in changes.items():
        if name == "p99_ms":
            run["webhook_arrival_to_rc_put"]["p99_ms"] = value
        else:
            run[name] = value
    return status("propagation_sqlite", outputs)


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"p99_ms": 49.9}, MET),
        ({"p99_ms": 50.0}, MISSED),
        ({"p99_ms": 20.0, "lost": 1}, MISSED),
        ({"p99_ms": 20.0, "achieved_changes_per_second": 90.0}, MISSED),  # did not drive 100/s
        ({"p99_ms": 20.0, "target_changes_per_second": 50.0}, MISSED),  # not at 100/s at all
        ({"p99_ms": 20.0, "achieved_changes_per_second": 95.0}, MET),
    ],
)
def test_sqlite_propagation_is_met_only_below_50_ms_at_100_per_second_with_none_lost(
    outputs: dict[str, Any], changes: dict[str, Any], verdict: str
) -> None:
    assert _sqlite(outputs, **changes).status == verdict


def test_a_propagation_run_where_no_change_arrived_is_not_measured(
    outputs: dict[str, Any],
) -> None:
    outputs["propagation_sqlite"]["webhook_arrival_to_rc_put"] = {"count": 0}
    found = status("propagation_sqlite", outputs)
    assert found.status == NOT_MEASURED
    assert "no change reached RingCentral" in found.result


def test_ferretdb_rate_is_judged_at_sixty_per_second(outputs: dict[str, Any]) -> None:
    run = outputs["propagation_ferretdb_rate"]
    assert status("propagation_ferretdb", outputs).status == MISSED
    run.update(achieved_changes_per_second=59.0, lost=0, sent=295)
    run["webhook_arrival_to_rc_put"]["p99_ms"] = 41.0
    assert status("propagation_ferretdb", outputs).status == MET
    assert not BY_KEY["propagation_ferretdb"].hard


@pytest.mark.parametrize(("burst", "day", "verdict"), [(0, 0, MET), (2, 0, MISSED), (0, 1, MISSED)])
def test_any_429_with_limits_on_misses(
    outputs: dict[str, Any], burst: int, day: int, verdict: str
) -> None:
    outputs["burst"]["ringcentral_429s"] = burst
    outputs["writes"]["runs"][1]["writes"]["ringcentral"]["throttled"] = day
    found = status("throttled", outputs)
    assert found.status == verdict
    assert found.result.startswith(f"{burst + day} (burst {burst}")


def test_writes_ratio_must_be_exactly_one_on_both_days(outputs: dict[str, Any]) -> None:
    chaos = outputs["writes"]["runs"][1]
    chaos["writes"].update(issued=33, ratio=1.031)
    chaos["people_with_more_writes_than_needed"] = 1
    found = status("writes_ratio", outputs)
    assert found.status == MISSED
    assert "duplicated_and_reordered 1.03 (33/32)" in found.result
    assert "1 people got more writes than needed" in found.details


def test_a_day_that_needed_no_writes_gives_no_ratio(outputs: dict[str, Any]) -> None:
    outputs["writes"]["runs"][0]["writes"]["ratio"] = None
    assert status("writes_ratio", outputs).status == NOT_MEASURED


def test_a_failed_benchmark_leaves_its_figures_not_measured_and_fails_the_run(
    outputs: dict[str, Any],
) -> None:
    outputs["writes"] = None  # the benchmark printed no JSON
    found = {f.key: evaluate(f, outputs) for f in FIGURES}
    assert found["writes_ratio"].status == NOT_MEASURED
    assert found["writes_ratio"].result == "writes gave no figures (see below)"
    assert found["throttled"].status == NOT_MEASURED  # reads the office days too
    assert exit_status(found.values()) == 1


def test_output_without_a_needed_key_is_not_measured_rather_than_a_crash(
    outputs: dict[str, Any],
) -> None:
    del outputs["burst"]["ringcentral_429s"]
    found = status("throttled", outputs)
    assert found.status == NOT_MEASURED
    assert "ringcentral_429s" in found.result


def _outcome(key: str, state: str, hard: bool = True) -> Outcome:
    return Outcome(key, key, "t", hard, state, "r")


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([MET, MET], 0),
        ([MET, MISSED], 1),
        ([MET, NOT_MEASURED_YET], 1),
        ([MET, NOT_MEASURED], 1),
    ],
)
def test_exit_status_is_zero_only_when_every_hard_target_is_met(
    states: list[str], expected: int
) -> None:
    outcomes = [_outcome(f"h{n}", s) for n, s in enumerate(states)]
    outcomes.append(_outcome("soft", MISSED, hard=False))  # a soft miss never fails the run
    assert exit_status(outcomes) == expected


def test_only_met_counts_as_met() -> None:
    assert [_outcome("x", s).met for s in (MET, MISSED, REPORTED, NOT_MEASURED_YET)] == [
        True,
        False,
        False,
        False,
    ]


def test_a_figure_no_benchmark_measures_is_not_measured_yet_whatever_ran(
    outputs: dict[str, Any],
) -> None:
    for key in ("realtime_under_bulk", "bulk_sync_rate", "polling_baseline"):
        found = status(key, outputs)
        assert (found.status, found.result) == (NOT_MEASURED_YET, "no benchmark measures it yet")


def test_the_table_lists_every_figure_once_with_its_target_and_status(
    outputs: dict[str, Any],
) -> None:
    outcomes = [evaluate(f, outputs) for f in FIGURES]
    table = render_table(outcomes).splitlines()
    assert [c.strip() for c in table[0].strip("|").split("|")] == [
        "figure",
        "target",
        "result",
        "status",
    ]
    body = table[2:]
    assert len(body) == len(FIGURES)
    for figure, row in zip(FIGURES, body, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        found = evaluate(figure, outputs)
        target = f"{figure.target} (hard)" if figure.hard else figure.target
        assert cells == [figure.name, target, found.result, found.status]
    assert len({len(line) for line in table}) == 1  # aligned columns


def test_a_pipe_in_a_result_does_not_break_the_table() -> None:
    table = render_table([Outcome("k", "a | b", "t", False, REPORTED, "x|y")])
    row = table.splitlines()[2]
    assert [c.strip() for c in row.strip("|").split("|")] == ["a / b", "t", "x/y", "reported"]


def test_parse_output_takes_the_json_a_benchmark_printed_after_other_lines() -> None:
    printed = "warming up\nsynced 118\n" + json.dumps({"a": 1, "b": {"c": 2}}, indent=2) + "\n"
    assert parse_output(printed) == {"a": 1, "b": {"c": 2}}


@pytest.mark.parametrize(
    "printed", ["", "Traceback (most recent call last):\n  boom", "[1, 2]", "{"]
)
def test_parse_output_gives_nothing_without_a_json_object(printed: str) -> None:
    assert parse_output(printed) is None
