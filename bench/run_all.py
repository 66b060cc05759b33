"""Every benchmark in one run: their JSON in one file, and one table of figure, target, result.

    .venv/bin/python bench/run_all.py [--quick] [--out bench/results/latest.json]

Runs each benchmark under bench/ one after another as a subprocess of the project's
`.venv/bin/python` (never two at once: they share the machine's cores), collects the JSON each
prints, and writes one file with the date, the machine (CPU model and count, memory, load,
Python, the stores used) and every benchmark's command, exit status, time and output. Then it
prints one table of the figures (bench/figures.py): issue 14's targets first, met, missed or not
measured yet, then what the other benchmarks report. ``--quick`` picks small sizes and short
drives so the whole run takes a few minutes on 2 cores; without it each benchmark runs at its
own defaults (about half an hour).

A benchmark that fails (an exit status other than 0, or no JSON) is reported below the table
with its exit status and the tail of its stderr, and the run goes on; figures it would have
given show as not measured. FerretDB (tests/mongo_server.py) is started once for the
propagation runs on the MongoDB path. The exit status is 0 only when every hard target
(commands per change, SQLite propagation p99, 429s, writes ratio, RSS at 50,000) was measured
and met.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from bench.figures import (  # noqa: E402
    FIGURES,
    MISSED,
    Outcome,
    evaluate,
    exit_status,
    parse_output,
    render_table,
)
from tests.mongo_server import FERRETDB_VERSION, MongoServerError, run_ferretdb  # noqa: E402

__all__ = ["BENCHMARKS", "LIBRARIES", "Benchmark", "main"]

PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"
STDERR_TAIL = 2000  # characters of a failed benchmark's stderr kept and shown
STORE_URL = "{store_url}"  # replaced by a database on the FerretDB this run starts
# FerretDB not built or not starting: the runs on it fail, the others go on.
FERRETDB_ERRORS = (MongoServerError, OSError, subprocess.SubprocessError)
QUICK_TIMEOUT = 240.0
FULL_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Benchmark:
    """One benchmark run: its script and its arguments at full size and with --quick."""

    name: str
    script: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    full_only: str | None = None  # why --quick leaves it out (it cannot be made short)

    def args(self, quick: bool) -> tuple[str, ...]:
        """The arguments for this mode."""
        return self.quick if quick else self.full

    @property
    def needs_ferretdb(self) -> bool:
        """Whether it runs on the FerretDB this run starts."""
        return any(STORE_URL in arg for arg in (*self.full, *self.quick))


def _scale(
    name: str, users: int, seconds: str, *extra: str, full_only: str | None = None
) -> Benchmark:
    """A propagation run over a large org: `sync all` timed with limits off, then RSS."""
    args = ("--users", str(users), "--bulk-limits-off", *extra)
    return Benchmark(
        name,
        "propagation.py",
        full=(*args, "--seconds", seconds),
        quick=(*args, "--seconds", "5"),
        full_only=full_only,
    )


# Sandbox people per linked one: about a quarter of a generated org is deliberately mismatched.
PER_LINKED = 1.37
SIGN_INS = "its %d sync accounts take %d minutes to sign in at the product's 10 a minute"


def _ferretdb_propagation(name: str, rate: str) -> Benchmark:
    url = ("--store-url", f"{STORE_URL}{name}")
    return Benchmark(
        name,
        "propagation.py",
        full=("--rate", rate, "--seconds", "15", *url),
        quick=("--rate", rate, "--seconds", "5", *url),
    )


BENCHMARKS: tuple[Benchmark, ...] = (
    # engine.py's propagation and writes parts are the two benchmarks below, run on their own.
    Benchmark(
        "engine",
        "engine.py",
        full=("--no-propagation", "--no-writes"),
        quick=("--events", "20000", "--no-propagation", "--no-writes"),
    ),
    Benchmark("propagation_sqlite", "propagation.py", ("--seconds", "15"), ("--seconds", "5")),
    # Commands are counted where FerretDB keeps up, so every change's commands are in the count.
    _ferretdb_propagation("propagation_ferretdb_commands", "10"),
    _ferretdb_propagation("propagation_ferretdb_rate", "60"),
    # Graph batches notifications at this rate; each person has one change in flight.
    _scale("propagation_1000", 3000, "10", "--rate", "1000"),
    _scale("scale_1000", round(1000 * PER_LINKED), "10"),
    _scale(
        "scale_ferretdb_1000", round(1000 * PER_LINKED), "10", "--store-url", f"{STORE_URL}scale"
    ),
    _scale("scale_10000", round(10_000 * PER_LINKED), "15", full_only=SIGN_INS % (22, 2)),
    _scale("scale_50000", round(50_000 * PER_LINKED), "15", full_only=SIGN_INS % (106, 11)),
    # Its own size even when quick: shorter days squeeze routines under the chaos delays, so
    # changes end before anyone could know and the ratio would measure the squeeze.
    Benchmark("writes", "writes.py"),
    Benchmark(
        "burst",
        "burst.py",
        quick=("--users", "100", "--meetings", "50", "--time-scale", "60", "--hold", "300"),
    ),
    Benchmark(
        "rc_capacity",
        "rc_capacity.py",
        quick=(
            "--sizes",
            "500",
            "--time-scale",
            "30",
            "--meeting-minutes",
            "10",
            "--realtime",
            "20",
        ),
    ),
    Benchmark(
        "detection", "detection.py", quick=("--sizes", "500", "--changes", "10", "--no-baseline")
    ),
    Benchmark("sandbox_reads", "sandbox_reads.py", quick=("--requests", "1000", "--users", "300")),
    Benchmark(
        "store",
        "store.py",
        quick=("--links", "5000", "--lookups", "300", "--mongo-lookups", "10", "--dirty", "300"),
    ),
    Benchmark("tab_people", "tab_people.py", quick=("--pages", "40", "--searches", "20")),
    Benchmark("tab_first_render", "tab_first_render.py", quick=("--loads", "5")),
)

# Modules under bench/ that are not benchmarks of their own, and what they are for.
LIBRARIES = {
    "figures.py": "the figures, their targets and the table (this run's)",
    "needed.py": "writes needed for a scenario (writes.py divides by it)",
    "run_all.py": "this run",
    "sandboxed.py": "the product on the sandbox, connected and synced (burst.py, rc_capacity.py)",
    "write_counts.py": "writes counted at the sandbox and in the audit log (writes.py, burst.py)",
}


@dataclass(frozen=True)
class Finished:
    """One benchmark as it ran."""

    name: str
    command: list[str]
    exit_status: int | None  # None: stopped after its time ran out
    seconds: float
    output: dict[str, Any] | None
    stderr_tail: str | None  # kept when it failed
    skipped: str | None = None  # why it did not run (a full-run-only benchmark in --quick)

    @property
    def failed(self) -> bool:
        """An exit status other than 0, a timeout, or no JSON (a skipped one did not fail)."""
        return self.skipped is None and (self.exit_status != 0 or self.output is None)


def run_benchmark(bench: Benchmark, quick: bool, store_url: str | None, timeout: float) -> Finished:
    """Run one benchmark in a session of its own; on timeout stop that session's processes."""
    args = [arg.replace(STORE_URL, store_url or "") for arg in bench.args(quick)]
    command = [str(PYTHON), f"bench/{bench.script}", *args]
    began = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its sandbox and browser go with it when it is stopped
    )
    status: int | None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        status = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        stderr += f"\n(stopped after {timeout:g} s)"
        status = None
    seconds = round(time.monotonic() - began, 1)
    output = parse_output(stdout)
    failed = status != 0 or output is None
    tail = (stderr.strip() or "(nothing on stderr)")[-STDERR_TAIL:] if failed else None
    return Finished(bench.name, command[1:], status, seconds, output, tail)


def _not_started(bench: Benchmark, quick: bool, reason: str) -> Finished:
    return Finished(
        bench.name, [f"bench/{bench.script}", *bench.args(quick)], None, 0.0, None, reason
    )


def machine() -> dict[str, Any]:
    """CPU model and count, memory, load, Python and SQLite: what the figures depend on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    python = subprocess.run(
        [str(PYTHON), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": python,
        "sqlite": sqlite3.sqlite_version,
    }


def stores(finished: Sequence[Finished]) -> list[str]:
    """The stores the figures were measured on."""
    found = [f"SQLite {sqlite3.sqlite_version} (embedded)"]
    if any(f.name.startswith("propagation_ferretdb") for f in finished):
        found.append(f"FerretDB {FERRETDB_VERSION} (SQLite backend), propagation runs")
    store = next((f.output for f in finished if f.name == "store" and f.output), None)
    if store and "mongo" in store:
        found.append(f"{store['mongo'].get('server', 'MongoDB')}, store benchmark")
    return found


@contextlib.contextmanager
def _ferretdb() -> Iterator[Any]:
    """Start FerretDB on first use; yield a function giving its URI (or raising why not)."""
    with contextlib.ExitStack() as stack:
        state: dict[str, Any] = {}

        def uri() -> str:
            if "error" in state:
                raise state["error"]
            if "uri" not in state:
                try:
                    state["uri"] = stack.enter_context(run_ferretdb())
                except FERRETDB_ERRORS as err:
                    state["error"] = err
                    raise
            return str(state["uri"])

        yield uri


def run_all(quick: bool, timeout: float) -> list[Finished]:
    """Every benchmark, one at a time, with progress on stderr."""
    finished: list[Finished] = []
    with _ferretdb() as ferretdb:
        for n, bench in enumerate(BENCHMARKS, 1):
            print(
                f"[{n}/{len(BENCHMARKS)}] {bench.name}: bench/{bench.script}",
                file=sys.stderr,
                flush=True,
            )
            if quick and bench.full_only:
                finished.append(
                    Finished(
                        bench.name,
                        [f"bench/{bench.script}", *bench.full],
                        None,
                        0.0,
                        None,
                        None,
                        skipped=f"full run only: {bench.full_only}",
                    )
                )
                print(f"    not in --quick: {bench.full_only}", file=sys.stderr, flush=True)
                continue
            store_url = None
            if bench.needs_ferretdb:
                try:
                    store_url = ferretdb()
                except FERRETDB_ERRORS as err:
                    finished.append(_not_started(bench, quick, f"FerretDB did not start: {err}"))
                    continue
            done = run_benchmark(bench, quick, store_url, timeout)
            finished.append(done)
            print(
                f"    {done.seconds:g} s, exit {done.exit_status}"
                + (" (failed)" if done.failed else ""),
                file=sys.stderr,
                flush=True,
            )
    return finished


def report(finished: Sequence[Finished], outcomes: Sequence[Outcome]) -> str:
    """The table, the hard targets' verdict, where missed targets go, and failed benchmarks."""
    hard = [o for o in outcomes if o.hard]
    met = sum(o.met for o in hard)
    missed = sum(o.status == MISSED for o in hard)
    status = exit_status(outcomes)
    lines = [
        render_table(outcomes),
        "",
        f"Hard targets: {met} met, {missed} missed, {len(hard) - met - missed} not measured "
        f"of {len(hard)}: exit {status}.",
    ]
    profiles = [o for o in outcomes if o.status == MISSED and o.details]
    if profiles:
        lines += ["", "Where it goes, for the missed targets:"]
        lines += [f"- {o.figure}: {o.details}" for o in profiles]
    skipped = [f for f in finished if f.skipped]
    if skipped:
        lines += ["", "Not run this time:"]
        lines += [f"- {f.name} ({' '.join(f.command)}): {f.skipped}" for f in skipped]
    failures = [f for f in finished if f.failed]
    if failures:
        lines += ["", "Benchmarks that failed:"]
        for f in failures:
            lines.append(f"- {f.name} ({' '.join(f.command)}): exit {f.exit_status}, stderr ends:")
            lines += [f"    {line}" for line in (f.stderr_tail or "").splitlines()[-15:]]
    return "\n".join(lines)


def results(
    finished: Sequence[Finished], outcomes: Sequence[Outcome], quick: bool, host: dict[str, Any]
) -> dict[str, Any]:
    """Everything the run found, for bench/results/latest.json."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": {**host, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "stores": stores(finished),
        "exit_status": exit_status(outcomes),
        "figures": [{**asdict(o), "met": o.met} for o in outcomes],
        "benchmarks": [asdict(f) for f in finished],
    }


def main(argv: list[str] | None = None) -> int:
    """Run everything, write the results, print the table; 1 unless every hard target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes in all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds each benchmark may take"
    )
    args = parser.parse_args(argv)
    if not PYTHON.is_file():
        parser.error(f"{PYTHON} is missing: run scripts/setup first")
    if args.out.exists() and args.out.is_dir():
        parser.error(f"--out {args.out} is a folder: name the JSON file to write")
    if args.timeout is not None and args.timeout <= 0:
        parser.error(f"--timeout must be more than 0 seconds, not {args.timeout:g}")
    timeout = args.timeout or (QUICK_TIMEOUT if args.quick else FULL_TIMEOUT)
    host = machine()
    finished = run_all(args.quick, timeout)
    outputs = {f.name: f.output for f in finished}
    outcomes = [evaluate(figure, outputs) for figure in FIGURES]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results(finished, outcomes, args.quick, host), indent=2) + "\n")
    print(report(finished, outcomes))
    print(f"\nResults: {args.out}")
    return exit_status(outcomes)


if __name__ == "__main__":
    raise SystemExit(main())
