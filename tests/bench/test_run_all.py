"""bench/run_all.py: every benchmark run, failures reported, one JSON file and one table.

The slow test runs the whole `--quick` run (a few minutes on 2 cores) into a temporary file, so
the committed bench/results/latest.json stays the run README quotes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.figures import FIGURES, MET, evaluate
from bench.run_all import BENCHMARKS, LIBRARIES, Benchmark, report, run_benchmark

REPO = Path(__file__).resolve().parents[2]
RUN_ALL = [sys.executable, "bench/run_all.py"]


def test_every_script_under_bench_is_run_or_named_as_a_library() -> None:
    scripts = {path.name for path in (REPO / "bench").glob("*.py")}
    run = {bench.script for bench in BENCHMARKS}
    assert scripts == run | set(LIBRARIES), "a benchmark under bench/ is left out of run_all"
    assert not run & set(LIBRARIES)


def test_every_figure_reads_benchmarks_that_run() -> None:
    names = {bench.name for bench in BENCHMARKS}
    assert len(names) == len(BENCHMARKS)
    for figure in FIGURES:
        assert set(figure.runs) <= names, figure.key


def test_a_benchmark_that_fails_is_reported_with_its_exit_status_and_stderr() -> None:
    missing = Benchmark("gone", "no_such_benchmark.py")
    done = run_benchmark(missing, quick=True, store_url=None, timeout=60)
    assert done.failed
    assert done.exit_status == 2
    assert done.output is None
    assert "no_such_benchmark.py" in (done.stderr_tail or "")
    text = report([done], [evaluate(f, {"gone": None}) for f in FIGURES])
    assert "Benchmarks that failed:\n- gone (bench/no_such_benchmark.py): exit 2" in text
    assert "No such file or directory" in text


def test_a_benchmark_out_of_time_is_stopped_and_reported() -> None:
    # A full decide() run takes seconds; half a second is not enough.
    slow = Benchmark("engine", "engine.py", quick=("--events", "5000000", "--no-propagation"))
    done = run_benchmark(slow, quick=True, store_url=None, timeout=0.5)
    assert done.exit_status is None
    assert done.failed
    assert "(stopped after 0.5 s)" in (done.stderr_tail or "")
    assert done.seconds < 20


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--timeout", "0"], "--timeout must be more than 0 seconds, not 0"),
        (["--timeout", "-3"], "--timeout must be more than 0 seconds, not -3"),
        (["--out", "bench"], "--out bench is a folder"),
        (["--quik"], "unrecognized arguments: --quik"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    tmp_path: Path, args: list[str], complaint: str
) -> None:
    out = tmp_path / "latest.json"
    given = [*args, "--out", str(out)] if "--out" not in args else args
    answer = subprocess.run(
        [*RUN_ALL, *given], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 2
    assert complaint in answer.stderr
    assert "[1/" not in answer.stderr  # no benchmark started
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_quick_run_writes_every_figure_and_exits_by_the_hard_targets(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    answer = subprocess.run(
        [*RUN_ALL, "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=850,
    )
    found = json.loads(out.read_text())
    assert found["mode"] == "quick"
    assert found["date"]
    machine = found["machine"]
    assert machine["cpus"] >= 1
    assert machine["cpu_model"]
    assert machine["memory_gib"] > 0
    assert machine["python"].startswith("3.")
    assert any(s.startswith("SQLite") for s in found["stores"])
    assert [b["name"] for b in found["benchmarks"]] == [b.name for b in BENCHMARKS]
    assert [f["key"] for f in found["figures"]] == [f.key for f in FIGURES]

    lines = answer.stdout.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == len(FIGURES) + 2  # one table: header, rule, a row per figure
    for figure, row in zip(found["figures"], table[2:], strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == figure["figure"]
        assert cells[1] == (f"{figure['target']} (hard)" if figure["hard"] else figure["target"])
        assert cells[3] == figure["status"]

    hard = [f for f in found["figures"] if f["hard"]]
    assert len(hard) == 5
    all_met = all(f["status"] == MET for f in hard)
    assert answer.returncode == (0 if all_met else 1), answer.stdout[-3000:]
    assert found["exit_status"] == answer.returncode
    # RSS at 50,000 people is measured by the full run only: a quick run cannot claim the hard
    # targets met.
    rss = next(f for f in found["figures"] if f["key"] == "rss_50000")
    assert rss["status"] == "not measured"
    assert answer.returncode == 1
    skipped = {b["name"] for b in found["benchmarks"] if b["skipped"]}
    assert skipped == {b.name for b in BENCHMARKS if b.full_only}
    assert "Not run this time:\n- scale_10000 (" in answer.stdout
    for bench in found["benchmarks"]:
        if bench["exit_status"] != 0 or bench["output"] is None:
            assert f"- {bench['name']} (" in answer.stdout
