"""The figures `bench/run_all.py` reports: each one's target, how it is read, and the table.

Issue 14's targets, and the figures the other benchmarks print, are read here from the
benchmarks' parsed JSON by pure functions, so every decision can be checked on canned output.
A figure is *met* or *missed* against its target, *reported* when it has no target, *not
measured yet* when no benchmark measures it, and *not measured* when the benchmark that would
measure it failed or gave a figure that cannot be trusted (changes still unfinished when a count
was taken). Only *met* is met: a hard target that is not measured fails the run as a missed one
does, so a figure nobody measured can never pass for a kept promise.

    Outputs = {benchmark run name: its parsed JSON, or None when it gave none}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FIGURES",
    "Figure",
    "Outcome",
    "Reading",
    "Unmeasurable",
    "evaluate",
    "exit_status",
    "parse_output",
    "render_table",
]

MET, MISSED, REPORTED = "met", "missed", "reported"
NOT_MEASURED_YET, NOT_MEASURED = "not measured yet", "not measured"

COMMANDS_PER_CHANGE = 8.0
P99_MS = 50.0
SQLITE_RATE = 100.0
FERRETDB_RATE = 60.0
ACHIEVED_SHARE = 0.95  # a run that offered R changes/s must have sent at least 95 % of R
DECIDE_PER_SECOND = 50_000
DETECTION_P50_S = 1.0
DETECTION_PEOPLE = 500
SANDBOX_READS_PER_SECOND = 1_000
RC_CAPACITY_P95_S = 60.0  # issue 15: a Busy lands within a minute at the top of the hour
BULK_SYNC_10000_S = 60.0
RSS_50000_MB = 300.0

Output = Mapping[str, Any]
Outputs = Mapping[str, Output | None]


class Unmeasurable(Exception):
    """A benchmark ran but its output cannot give this figure; the message says why."""


@dataclass(frozen=True)
class Reading:
    """What one figure's output says: the result text and whether the target is met."""

    result: str
    met: bool | None  # None: a figure without a target, reported only
    details: str = ""  # where the time or the commands go, shown when a target is missed


@dataclass(frozen=True)
class Figure:
    """One line of the table: a figure, its target, and the benchmark runs it reads."""

    key: str
    name: str
    target: str
    hard: bool = False
    runs: tuple[str, ...] = ()  # benchmark runs it reads; none: no benchmark measures it yet
    read: Callable[..., Reading] | None = None  # called with each run's output, in order


@dataclass(frozen=True)
class Outcome:
    """A figure as this run found it."""

    key: str
    figure: str
    target: str
    hard: bool
    status: str
    result: str
    details: str = ""

    @property
    def met(self) -> bool:
        """True only when the target was measured and met."""
        return self.status == MET


def parse_output(stdout: str) -> dict[str, Any] | None:
    """The JSON object a benchmark printed (the last one, after any other lines), or None."""
    text = stdout.strip()
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n" and text[i + 1 : i + 2] == "{"]
    for start in reversed(starts):
        try:
            found = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def evaluate(figure: Figure, outputs: Outputs) -> Outcome:
    """Decide one figure from the runs' outputs."""

    def outcome(status: str, result: str, details: str = "") -> Outcome:
        return Outcome(figure.key, figure.name, figure.target, figure.hard, status, result, details)

    if not figure.runs or figure.read is None:
        return outcome(NOT_MEASURED_YET, "no benchmark measures it yet")
    missing = [run for run in figure.runs if outputs.get(run) is None]
    if missing:
        return outcome(NOT_MEASURED, f"{', '.join(missing)} gave no figures (see below)")
    try:
        reading = figure.read(*(outputs[run] for run in figure.runs))
    except Unmeasurable as err:
        return outcome(NOT_MEASURED, str(err))
    except (KeyError, IndexError, TypeError, ValueError) as err:
        return outcome(NOT_MEASURED, f"output lacks what this figure needs ({err!r})")
    if reading.met is None:
        status = NOT_MEASURED if figure.hard else REPORTED
    else:
        status = MET if reading.met else MISSED
    return outcome(status, reading.result, reading.details)


def exit_status(outcomes: Iterable[Outcome]) -> int:
    """0 when every hard target was measured and met, else 1."""
    return 0 if all(o.met for o in outcomes if o.hard) else 1


def render_table(outcomes: Iterable[Outcome]) -> str:
    """The one table: figure, target, result, and met / missed / reported / not measured."""
    rows = [["figure", "target", "result", "status"]]
    for o in outcomes:
        target = f"{o.target} (hard)" if o.hard else o.target
        rows.append([o.figure, target, o.result, o.status])
    cells = [[cell.replace("|", "/") for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _n(value: float) -> str:
    """A figure as people read it: thousands separated, at most three significant decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.3g}"


def _run_line(run: Output) -> str:
    return (
        f"at {_n(run['achieved_changes_per_second'])}/s sent of "
        f"{_n(run['target_changes_per_second'])}/s offered, {run['lost']} lost of {run['sent']}"
    )


def _sustained(run: Output, rate: float) -> bool:
    offered = float(run["target_changes_per_second"])
    return (
        offered >= rate
        and float(run["achieved_changes_per_second"]) >= ACHIEVED_SHARE * offered
        and int(run["lost"]) == 0
    )


def _latency(run: Output, rate: float) -> Reading:
    """p99 webhook arrival → RingCentral PUT under `P99_MS` with every change sent and done."""
    timed = run["webhook_arrival_to_rc_put"]
    if not timed["count"]:
        raise Unmeasurable(f"no change reached RingCentral ({_run_line(run)})")
    wider = run["teams_change_to_rc_put"]
    return Reading(
        result=(
            f"p99 {_n(timed['p99_ms'])} ms (p50 {_n(timed['p50_ms'])}, "
            f"p95 {_n(timed['p95_ms'])}) {_run_line(run)}"
        ),
        met=_sustained(run, rate) and float(timed["p99_ms"]) < P99_MS,
        details=(
            f"p50 {_n(timed['p50_ms'])} ms from webhook arrival, "
            f"{_n(run['notification_to_rc_put']['p50_ms'])} ms from the sandbox's POST, "
            f"{_n(wider['p50_ms'])} ms from the Teams change; "
            f"{run.get('skipped_no_idle_user', 0)} changes skipped (no idle person)"
        ),
    )


def _thousand(run: Output) -> Reading:
    """At 1,000 changes/s: every change sent and done, and no wait growing over the run."""
    timed = run["teams_change_to_rc_put"]
    if not timed["count"]:
        raise Unmeasurable(f"no change reached RingCentral ({_run_line(run)})")
    backlog = run["backlog"]
    return Reading(
        result=(
            f"p99 {_n(timed['p99_ms'])} ms Teams change → PUT (p50 {_n(timed['p50_ms'])}); "
            f"p50 first third {_n(backlog['first_third_p50_ms'])} ms, last third "
            f"{_n(backlog['last_third_p50_ms'])} ms {_run_line(run)}"
        ),
        met=_sustained(run, float(run["target_changes_per_second"])) and not backlog["growing"],
        details=(
            f"p99 from webhook arrival {_n(run['webhook_arrival_to_rc_put']['p99_ms'])} ms; "
            f"{run.get('skipped_no_idle_user', 0)} changes skipped (no idle person)"
        ),
    )


def _commands(run: Output) -> Reading:
    counted = run["mongo_commands"]
    if int(run["lost"]):
        raise Unmeasurable(
            f"{run['lost']} of {run['sent']} changes unfinished, so the count falls short"
        )
    per = float(counted["per_change_less_idle"])
    top = sorted(counted["by_command"].items(), key=lambda kv: -kv[1])[:6]
    return Reading(
        result=(
            f"{_n(per)} per change ({_n(counted['per_change'])} with the idle load) "
            f"at {_n(run['achieved_changes_per_second'])}/s"
        ),
        met=per <= COMMANDS_PER_CHANGE,
        details="per change: " + ", ".join(f"{name} {_n(n)}" for name, n in top),
    )


def _idle_commands(run: Output) -> Reading:
    return Reading(f"{_n(run['mongo_commands']['idle_per_second'])} commands/s", None)


def _throttled(burst: Output, writes: Output) -> Reading:
    in_burst = int(burst["ringcentral_429s"])
    days = [
        sum(int(side["throttled"]) for side in (r["writes"]["ringcentral"], r["writes"]["teams"]))
        for r in writes["runs"]
    ]
    total = in_burst + sum(days)
    return Reading(
        result=f"{total} (burst {in_burst}; office days {' and '.join(map(str, days))})",
        met=total == 0,
    )


def _writes_ratio(writes: Output) -> Reading:
    parts, details, met = [], [], True
    for run in writes["runs"]:
        counted = run["writes"]
        if counted["ratio"] is None:
            raise Unmeasurable(f"the {run['run']} day needed no writes")
        met = met and float(counted["ratio"]) == 1.0
        parts.append(
            f"{run['run']} {counted['ratio']:.2f} ({counted['issued']}/{counted['needed']})"
        )
        more, fewer = (
            run["people_with_more_writes_than_needed"],
            run["people_with_fewer_writes_than_needed"],
        )
        if more or fewer:
            details.append(
                f"{run['run']}: {more} people got more writes than needed, {fewer} fewer"
            )
    return Reading(
        result=f"{', '.join(parts)}; {writes['actors']} people",
        met=met,
        details="; ".join(details),
    )


def _sync_all(run: Output) -> str:
    bulk = run["sync_all"]
    return (
        f"{_n(bulk['seconds'])} s for {bulk['people']:,} people ({_n(bulk['people_per_second'])}/s,"
        f" {bulk['failed']} failed, limits {bulk['limits']})"
    )


def _bulk_sync(run: Output) -> Reading:
    bulk = run["sync_all"]
    if bulk["limits"] != "off":
        raise Unmeasurable("sync all ran under the sandbox's limits")
    return Reading(
        result=f"{_sync_all(run)}, {run['store']}",
        met=float(bulk["seconds"]) < BULK_SYNC_10000_S and int(bulk["failed"]) == 0,
        details=f"directory refresh before it {_n(bulk['directory_refresh_seconds'])} s",
    )


def _bulk_sync_other(*runs: Output) -> Reading:
    return Reading("; ".join(f"{run['store']}: {_sync_all(run)}" for run in runs), None)


def _rss_text(run: Output) -> str:
    rss = run["rss_mb"]
    timed = run["webhook_arrival_to_rc_put"]
    return (
        f"{_n(rss['idle'])} MB idle, {_n(rss['drive_peak'])} MB at "
        f"{_n(run['achieved_changes_per_second'])} changes/s ({run['linked_and_synced']:,} synced"
        f", p99 {_n(timed['p99_ms'])} ms)"
    )


def _rss(run: Output) -> Reading:
    return Reading(_rss_text(run), None)


def _rss_50000(run: Output) -> Reading:
    rss = run["rss_mb"]
    if int(run["linked_and_synced"]) < 50_000 * ACHIEVED_SHARE:
        raise Unmeasurable(f"only {run['linked_and_synced']:,} people were synced")
    peak = max(float(rss["idle"]), float(rss["drive_peak"]))
    return Reading(_rss_text(run), met=peak < RSS_50000_MB)


def _decide(engine: Output) -> Reading:
    rate = int(engine["decide"]["calls_per_second"])
    return Reading(f"{_n(rate)} calls/s", rate >= DECIDE_PER_SECOND)


def _detection(detection: Output) -> Reading:
    runs = [r for r in detection["runs"] if r["mode"].startswith("fast polling")]
    if not runs:
        raise Unmeasurable("no run with fast polling")
    run = min(runs, key=lambda r: abs(int(r["linked_users"]) - DETECTION_PEOPLE))
    result = (
        f"p50 {_n(run['p50_s'])} s, p90 {_n(run['p90_s'])} s at {_n(run['linked_users'])} people "
        f"({run['changes']} changes)"
    )
    if int(run["linked_users"]) != DETECTION_PEOPLE:
        return Reading(result, None)
    return Reading(result, float(run["p50_s"]) <= DETECTION_P50_S)


def _burst(burst: Output) -> Reading:
    wrong = sum(
        len(burst[k]) for k in ("never_busy", "not_back_to_available", "changed_again_after")
    )
    return Reading(
        result=(
            f"start → Busy p95 {_n(burst['start_to_busy_s']['p95'])} s, end → Available p95 "
            f"{_n(burst['end_to_available_s']['p95'])} s (sandbox time, "
            f"{burst['synced_people_moved']} people); writes {burst['ringcentral_writes_issued']}"
            f"/{burst['ringcentral_writes_needed']} needed; {wrong} left wrong"
        ),
        met=None,
    )


def _rc_capacity(capacity: Output) -> Reading:
    """Per (people, identities): start → Busy p95; met when every run with more than one
    identity kept it under a minute, and no run drew a 429."""
    runs = capacity["runs"]
    parts = [
        f"{r['users']:,} people, {r['identities']} RingCentral "
        f"identit{'y' if r['identities'] == 1 else 'ies'}: "
        f"p95 {_n(r['start_to_busy_s']['p95'])} s, {r['ringcentral_429s']} 429s"
        for r in runs
    ]
    scaled = [r for r in runs if r["identities"] > 1]
    met = None
    if scaled:
        met = all(
            (r["start_to_busy_s"]["p95"] or 0) < RC_CAPACITY_P95_S and not r["ringcentral_429s"]
            for r in scaled
        ) and not any(r["ringcentral_429s"] for r in runs)
    return Reading(result="; ".join(parts), met=met)


def _sandbox_reads(reads: Output) -> Reading:
    graph = float(reads["graph_presence_get"]["per_second"])
    rc = float(reads["ringcentral_presence_get"]["per_second"])
    return Reading(
        f"Graph {_n(graph)}/s, RingCentral {_n(rc)}/s", min(graph, rc) >= SANDBOX_READS_PER_SECOND
    )


def _store(side: str) -> Callable[[Output], Reading]:
    def read(store: Output) -> Reading:
        found = store[side]
        kind = f"{found['server']}, " if "server" in found else ""
        return Reading(
            result=(
                f"{kind}{_n(store['links'])} links: upsert {_n(found['bulk_upsert_s'])} s, "
                f"lookup p99 {_n(found['lookup_by_teams_id']['p99_ms'])} ms, dirty queue "
                f"{_n(found['dirty_queue']['mark_claim_ack_per_s'])}/s"
            ),
            met=None,
        )

    return read


def _tab_people(tab: Output) -> Reading:
    return Reading(
        f"page p95 {_n(tab['page']['p95_ms'])} ms, filtered p95 "
        f"{_n(tab['filtered_page']['p95_ms'])} ms, search p95 {_n(tab['search']['p95_ms'])} ms "
        f"({_n(tab['people'])} people)",
        None,
    )


def _tab_render(tab: Output) -> Reading:
    return Reading(
        f"first paint p50 {_n(tab['first_contentful_paint']['p50_ms'])} ms, overview p50 "
        f"{_n(tab['overview_rendered']['p50_ms'])} / p95 {_n(tab['overview_rendered']['p95_ms'])}"
        f" ms, {_n(tab['bundle_gzip_kib'])} KiB gzip",
        None,
    )


FIGURES: tuple[Figure, ...] = (
    # Issue 14's targets, in its order.
    Figure(
        "commands_per_change",
        "MongoDB commands per Teams change (FerretDB, echo included, idle load taken off)",
        f"≤ {COMMANDS_PER_CHANGE:g}",
        hard=True,
        runs=("propagation_ferretdb_commands",),
        read=_commands,
    ),
    Figure(
        "idle_commands",
        "MongoDB commands per second with nothing changing",
        "reported",
        runs=("propagation_ferretdb_commands",),
        read=_idle_commands,
    ),
    Figure(
        "propagation_sqlite",
        "Propagation p99 on SQLite, webhook arrival → RingCentral PUT, limits off",
        f"< {P99_MS:g} ms at {SQLITE_RATE:g} changes/s, none lost",
        hard=True,
        runs=("propagation_sqlite",),
        read=lambda run: _latency(run, SQLITE_RATE),
    ),
    Figure(
        "propagation_ferretdb",
        "Propagation on FerretDB: rate sustained with p99 < 50 ms",
        f"≥ {FERRETDB_RATE:g} changes/s",
        runs=("propagation_ferretdb_rate",),
        read=lambda run: _latency(run, FERRETDB_RATE),
    ),
    Figure(
        "propagation_1000",
        "Propagation at 1,000 changes/s on SQLite (Graph batching notifications)",
        "backlog does not grow; p99 reported",
        runs=("propagation_1000",),
        read=_thousand,
    ),
    Figure(
        "realtime_under_bulk",
        "Real-time change while a 10,000-person sync all runs under real limits",
        "written within one slot interval of the next slot",
    ),
    Figure(
        "bulk_sync_10000",
        "sync all wall time, 10,000 people, SQLite, limits off",
        f"< {BULK_SYNC_10000_S:g} s",
        runs=("scale_10000",),
        read=_bulk_sync,
    ),
    Figure(
        "bulk_sync_other",
        "sync all wall time, 1,000 and 50,000 people; FerretDB; limits off",
        "reported",
        runs=("scale_1000", "scale_50000", "scale_ferretdb_1000"),
        read=_bulk_sync_other,
    ),
    Figure(
        "bulk_sync_rate",
        "RingCentral write rate during sync all, limits on",
        "≥ 95 % of the allowed rate",
    ),
    Figure(
        "throttled",
        "429s with the sandbox's real limits on (burst, office days)",
        "0",
        hard=True,
        runs=("burst", "writes"),
        read=_throttled,
    ),
    Figure(
        "rss_10000",
        "Server RSS, 10,000 linked people, idle and at 100 changes/s",
        "reported",
        runs=("scale_10000",),
        read=_rss,
    ),
    Figure(
        "rss_50000",
        "Server RSS, 50,000 linked people, idle and at 100 changes/s",
        f"< {RSS_50000_MB:g} MB",
        hard=True,
        runs=("scale_50000",),
        read=_rss_50000,
    ),
    Figure(
        "writes_ratio",
        "Writes issued ÷ needed, office day, clean and duplicated + reordered",
        "1.00",
        hard=True,
        runs=("writes",),
        read=_writes_ratio,
    ),
    Figure(
        "polling_baseline",
        "Baseline: the same changes through a 30-second polling design",
        "reported, for comparison",
    ),
    # What the other benchmarks print, with the targets they print themselves.
    Figure(
        "decide",
        "decide() calls per second on one core",
        f"≥ {DECIDE_PER_SECOND:,}/s",
        runs=("engine",),
        read=_decide,
    ),
    Figure(
        "detection",
        "Teams change → observation in the store (notifications 2-9 s late)",
        f"p50 ≤ {DETECTION_P50_S:g} s at {DETECTION_PEOPLE} people",
        runs=("detection",),
        read=_detection,
    ),
    Figure(
        "burst",
        "Top-of-the-hour burst under RingCentral's real limits",
        "reported",
        runs=("burst",),
        read=_burst,
    ),
    Figure(
        "rc_capacity",
        "Top-of-the-hour burst, a quarter of the people in a minute: change → RingCentral write",
        f"p95 < {RC_CAPACITY_P95_S:g} s with enough identities, 0 429s",
        runs=("rc_capacity",),
        read=_rc_capacity,
    ),
    Figure(
        "sandbox_reads",
        "Presence reads the sandbox serves",
        f"≥ {SANDBOX_READS_PER_SECOND:,}/s",
        runs=("sandbox_reads",),
        read=_sandbox_reads,
    ),
    Figure("store_sqlite", "Store, SQLite", "reported", runs=("store",), read=_store("sqlite")),
    Figure(
        "store_mongo", "Store, MongoDB protocol", "reported", runs=("store",), read=_store("mongo")
    ),
    Figure(
        "tab_people",
        "Tab people route, server time",
        "reported",
        runs=("tab_people",),
        read=_tab_people,
    ),
    Figure(
        "tab_first_render",
        "Tab first render in Chromium, cache off",
        "reported",
        runs=("tab_first_render",),
        read=_tab_render,
    ),
)
