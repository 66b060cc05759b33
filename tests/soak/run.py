"""The fault soak: an office day on the MongoDB-protocol store while everything goes wrong.

    .venv/bin/python -m tests.soak.run [--full] [--people N] [--seed N]

The sandbox runs as its own process with `--time-scale` compressing the day; the product's
server runs as another (`tests.soak.server`), so it can be killed with SIGKILL and started
again; the store is a FerretDB of the soak's own, so it can be stopped and started again. While
the office day plays, the faults of `FAULT_KINDS` happen one after another, each lifted and
timed until sync works both ways again. At the end the soak checks that every person is right
on both sides (the demo's check), that the sync-all job the first kill interrupted finished,
that no work is left queued, that the server's memory after its last restart grew less than
10 % over its warm-up value, and that every presence write the sandbox accepted matches exactly
one audit entry. Exit status 0 when all of that holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from pymongo import MongoClient

from presence_sync.demo.connect import admin_email, connect_all
from presence_sync.demo.control import SandboxControl, as_person, linked_people
from presence_sync.demo.day import _settle
from presence_sync.demo.driver import play
from presence_sync.demo.expect import Row, baseline_activity, replay
from presence_sync.demo.jobs import synced_links
from presence_sync.demo.sandbox_process import SandboxProcess
from presence_sync.demo.scenario import Step, office_day
from presence_sync.store import AuditEntry, JobStatus, Store, UserLink, open_store
from presence_sync.sync.reconciler import SENDING, UNKNOWN_OUTCOME
from sandbox.timeline import GRAPH_PRESENCE_WRITE, RINGCENTRAL_PRESENCE_PUT
from tests.mongo_server import free_port
from tests.soak.faults import FAULT_KINDS, FaultResult, Probe, Soaking
from tests.soak.processes import ServerProcess, StoreProcess, rss_bytes

__all__ = ["FULL", "SHORT", "SoakPlan", "SoakReport", "main", "run_soak"]

ALREADY_TRUE = "already true"  # the dispatcher's audit message for a write it did not send
AUDIT_WRITES = frozenset({"ringcentral.presence", "teams.session", "teams.session.clear"})
RSS_GROWTH_LIMIT = 0.10


@dataclass(frozen=True)
class SoakPlan:
    """How big, how fast and which faults."""

    people: int
    time_scale: float
    day_hours: float  # sandbox hours of office day, played at `time_scale`
    faults: tuple[str, ...]
    hold: float  # real seconds each burst, spike and chaos window lasts
    store_down: float  # real seconds the store is stopped
    gap: float  # real seconds between faults
    recovery_deadline: float
    settle: float
    warm_up: float  # real seconds after the last restart before the warm-up RSS reading
    reconcile: float = 600.0  # sandbox seconds between reconciliation passes
    setup_timeout: float = 600.0
    seed: int = 13

    @property
    def day_seconds(self) -> float:
        """Real seconds the office day takes."""
        return self.day_hours * 3600 / self.time_scale


_KILL = "server killed and restarted"
_EVERY_OTHER = tuple(k for k in FAULT_KINDS if k != _KILL)
FULL = SoakPlan(
    people=1000,
    time_scale=60,
    day_hours=8,
    faults=(_KILL, _KILL, *_EVERY_OTHER),
    hold=20,
    store_down=30,
    gap=10,
    recovery_deadline=120,
    settle=240,
    warm_up=30,
    # A reconciliation pass re-reads and re-records everyone on both sides. At 60x the
    # product's default (300 s) would mean a pass of 1,000 people every 5 real seconds, far
    # beyond what a store costs in production; 3 sandbox hours (3 real minutes) keeps the
    # store's load per real second near what 1,000 people cost at 1x.
    reconcile=10_800,
)
# Two minutes: every fault, shorter, on 40 people and a 75-minute day.
SHORT = dataclasses.replace(
    FULL, people=40, day_hours=1.25, hold=2, store_down=6, gap=0.3, recovery_deadline=30,
    settle=30, warm_up=5, reconcile=600,
)  # fmt: skip


@dataclass
class SoakReport:
    """What the soak saw, and what is wrong with it."""

    plan: SoakPlan
    faults: list[FaultResult] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> how it ended
    queued: int = -1  # dirty-queue entries left at the end (timers for later are fine)
    overdue: int = -1  # of those, due or claimed longer ago than one reconciliation pass
    rss_warm: int = 0
    rss_end: int = 0
    writes: dict[str, int] = field(default_factory=dict)  # kind -> writes the sandbox accepted
    unmatched: list[str] = field(default_factory=list)  # people whose writes and audit differ
    took: float = 0.0
    setup: float = 0.0
    histories: list[str] = field(default_factory=list)  # what happened to people left wrong
    steps: list[Step] = field(default_factory=list)  # the day as played, for the histories
    started: float = 0.0  # time.monotonic() when the day began (the sandbox's stamps too)

    @property
    def rss_growth(self) -> float:
        """RSS at the end over the warm-up reading, minus one."""
        return self.rss_end / self.rss_warm - 1 if self.rss_warm else float("inf")

    def problems(self) -> list[str]:
        """Every way the soak failed; empty when it passed."""
        found = [f"{f.name}: not recovered" for f in self.faults if f.recovery is None]
        wrong = [r for r in self.rows if not r.ok]
        if not self.rows or wrong:
            found.append(f"{len(wrong)} of {len(self.rows)} people wrong")
            found += [f"  {r.email}: {r.problem}" for r in wrong[:20]]
        found += [f"job {j}: {how}" for j, how in self.jobs.items() if how != "done"]
        if self.overdue != 0:
            found.append(f"{self.overdue} dirty-queue entries stuck past their time")
        if not self.rss_growth < RSS_GROWTH_LIMIT:
            found.append(f"RSS grew {self.rss_growth:.1%} after the last restart")
        if self.unmatched:
            found.append(f"{len(self.unmatched)} people's writes do not match the audit log")
            found += [f"  {u}" for u in self.unmatched[:20]]
        return found

    def lines(self) -> list[str]:
        """The printed report: each fault and its recovery, then the end checks."""
        out = [f"fault soak: {self.plan.people} people, {self.plan.day_hours:g} h office day "
               f"at {self.plan.time_scale:g}x, {self.took:.0f} s (setup {self.setup:.0f} s)"]
        out += [f"  {f.line()}" for f in self.faults]
        right = sum(r.ok for r in self.rows)
        out.append(f"people right on both sides: {right} of {len(self.rows)}")
        out += [f"job {j}: {how}" for j, how in self.jobs.items()]
        out.append(f"dirty-queue entries left: {self.queued} ({self.overdue} stuck)")
        out.append(f"server RSS: {self.rss_warm / 2**20:.1f} MiB warm, "
                   f"{self.rss_end / 2**20:.1f} MiB at the end ({self.rss_growth:+.1%})")
        out.append(f"writes the sandbox accepted: {self.writes}; "
                   f"people whose writes and audit entries differ: {len(self.unmatched)}")
        problems = self.problems()
        out.append("PASSED" if not problems else "FAILED")
        out += problems
        out += self.histories
        return out  # fmt: skip


async def run_soak(plan: SoakPlan, work: Path) -> SoakReport:
    """Run the soak in folder `work` (logs stay there); the report."""
    report = SoakReport(plan)
    began = time.monotonic()
    store_process = StoreProcess(work / "ferretdb")
    await asyncio.to_thread(store_process.start)
    sandbox: SandboxProcess | None = None
    control: SandboxControl | None = None
    server: ServerProcess | None = None
    store: Store | None = None
    try:
        sandbox = await SandboxProcess.start(
            work / "sandbox", port=0, users=plan.people, time_scale=plan.time_scale,
            log_file=work / "sandbox.log",
        )  # fmt: skip
        control = SandboxControl.open(sandbox.base_url, sandbox.ca_file)
        config = await control.config()
        await control.call("POST", "/_sandbox/timeline", {"enabled": True, "limit": 2_000_000})
        data = work / "server"
        data.mkdir(parents=True, exist_ok=True)
        store_url = f"{store_process.uri}soak"
        port = free_port()
        key = Fernet.generate_key().decode()
        server = ServerProcess(
            sandbox.base_url, sandbox.ca_file, port, data, store_url, plan.reconcile, key
        )
        await server.start(connect=True, within=plan.setup_timeout)
        store = open_store(store_url, key)
        await store.open()
        report.setup = time.monotonic() - began
        await _day(plan, report, control, config, server, store_process, store, sandbox, store_url)
        report.writes, report.unmatched, stamped = await _writes_against_audit(control, store)
        wrong = {r.email.lower() for r in report.rows if not r.ok}
        differ = {u.split(" ", 1)[0] for u in report.unmatched}
        if wrong or differ:
            report.histories = await _histories(
                wrong | differ, report.steps, store, stamped, report.started
            )
    finally:
        if server is not None:
            await server.stop()
        if store is not None:
            await store.close()
        if control is not None:
            await control.close()
        if sandbox is not None:
            await sandbox.stop()
        await asyncio.to_thread(store_process.stop)
    report.took = time.monotonic() - began
    return report


async def _day(
    plan: SoakPlan,
    report: SoakReport,
    control: SandboxControl,
    config: dict[str, Any],
    server: ServerProcess,
    store_process: StoreProcess,
    store: Store,
    sandbox: SandboxProcess,
    store_uri: str,
) -> None:
    links = await synced_links(store)
    state = await control.state()
    rc_mode = str(state.get("rc_mode", "legacy"))
    entries = linked_people(state, {link.teams_user_id for link in links if link.teams_user_id})
    baseline = {str(e["teams"]["userPrincipalName"]).lower(): baseline_activity(e) for e in entries}
    people = {p.teams_email.lower(): p for p in map(as_person, entries)}
    present = sorted(k for k in people if baseline[k].teams_choice != "Offline")
    if len(present) < 4:
        raise RuntimeError(f"only {len(present)} linked people are signed in; need at least 4")
    probes = present[:2]
    actors = {k: people[k] for k in present[2:]}
    started = time.monotonic()
    probe = Probe(
        control, people[probes[0]], people[probes[1]], baseline, rc_mode, started,
        plan.recovery_deadline,
    )  # fmt: skip

    async def stop_store() -> None:
        await asyncio.to_thread(store_process.stop)

    async def start_store() -> None:
        await asyncio.to_thread(store_process.start)

    async def kill_server() -> None:
        await server.kill()
        await server.start()

    async def start_job() -> str:
        return await _start_sync_all(control, config, server.url, sandbox.ca_file)

    async def reconsent() -> None:
        accounts = list(config.get("sync_account_candidates", []))[:1]
        await connect_all(
            server.url, store, control, sandbox.ca_file, admin=admin_email(config),
            sync_accounts=accounts,
        )  # fmt: skip

    soaking = Soaking(
        control, probe, plan.hold, plan.time_scale, plan.store_down, stop_store, start_store,
        kill_server, start_job, reconsent, started,
    )  # fmt: skip
    day = [
        dataclasses.replace(step, at=step.at / plan.time_scale)
        for step in office_day(
            list(actors.values()), plan.day_hours * 3600, plan.seed, hold_some=True
        )
    ]
    playing = asyncio.get_running_loop().create_task(
        play(day, actors, control, rc_mode=rc_mode)
    )
    try:
        await _faults(plan, report, soaking, server)
        done = await playing
    finally:
        playing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await playing
    report.faults = soaking.results
    expected = replay([*done, *probe.steps], baseline)
    report.rows = await _settle(control, set(people), expected, rc_mode, plan.settle)
    report.steps, report.started = [*done, *probe.steps], started
    report.rss_end = rss_bytes(server.pid)
    for job_id in soaking.jobs:
        job = await store.get_job(job_id)
        report.jobs[job_id] = _job_outcome(job)
    report.queued = await store.dirty_count()
    now = float((await control.call("GET", "/_sandbox/state?limit=0"))["now"])
    report.overdue = await asyncio.to_thread(_overdue, store_uri, now - plan.reconcile)


async def _histories(
    emails: set[str],
    steps: list[Step],
    store: Store,
    stamped: dict[str, list[tuple[float, str]]],
    started: float,
) -> list[str]:
    """For each person left wrong or whose writes differ from the audit: their day's steps and
    the writes the sandbox accepted (seconds into the day), then the product's audit entries."""
    lines: list[str] = []
    entries = sorted(await _all_audit(store), key=lambda e: e.at)
    for email in sorted(emails):
        lines.append(f"history of {email}:")
        mine = [(s.at, f"step: {s.action}") for s in steps if s.person.lower() == email]
        mine += [(at - started, f"sandbox accepted {what}") for at, what in stamped.get(email, [])]
        lines += [f"  at {at:6.1f} s: {what}" for at, what in sorted(mine)]
        link = await store.get_link_by_email(email)
        if link is not None:
            lines.append(f"  store: teams {link.teams} rc {link.rc}")
            lines.append(f"  engine: {link.engine_state}")
        for entry in entries:
            if str(entry.user or "").lower() == email:
                details = {k: entry.details.get(k) for k in ("result", "message", "cause")}
                lines.append(f"  audit {entry.at:.1f}: {entry.action} {details}")
    return lines


def _overdue(store_uri: str, before: float) -> int:
    """Dirty-queue entries due before `before` (sandbox time) and not claimed since."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(store_uri, serverSelectionTimeoutMS=5000) as client:
        unclaimed = {"$or": [{"claimed_until": None}, {"claimed_until": {"$lt": before}}]}
        query = {"$and": [{"due_at": {"$lt": before}}, unclaimed]}
        return int(client.get_default_database()["dirty"].count_documents(query))


async def _faults(
    plan: SoakPlan, report: SoakReport, soaking: Soaking, server: ServerProcess
) -> None:
    kills = plan.faults.count(_KILL)
    for name in plan.faults:
        result = await soaking.run(name)
        print(f"  {result.line()}", flush=True)
        if name == _KILL:
            kills -= 1
            if kills == 0:
                await asyncio.sleep(plan.warm_up)
                report.rss_warm = rss_bytes(server.pid)
        await asyncio.sleep(plan.gap)


def _job_outcome(job: Any) -> str:
    if job is None:
        return "lost (not in the store)"
    if job.status != JobStatus.DONE:
        return f"{job.status} ({job.processed} of {job.total} processed)"
    if job.processed != job.total:
        return f"done with only {job.processed} of {job.total} processed"
    return "done"


async def _start_sync_all(
    control: SandboxControl, config: dict[str, Any], url: str, ca_file: str
) -> str:
    """Start `sync all` as the admin would in the tab inside Teams; the job's id."""
    admin = admin_email(config)
    token = await control.call(
        "POST", f"/_sandbox/teams/{admin}/sso-token", {"audience": config["app_client_id"]}
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/api/tab/sync-all",
            json={},
            headers={"Authorization": f"Bearer {token['token']}"},
        ) as answer,
    ):
        body = await answer.json()
        if answer.status != 202:
            raise RuntimeError(f"sync all answered {answer.status}: {body}")
    return str(body["job"]["id"])


async def _writes_against_audit(
    control: SandboxControl, store: Store
) -> tuple[dict[str, int], list[str], dict[str, list[tuple[float, str]]]]:
    """Writes the sandbox accepted per kind, people whose count differs from the audit, and
    each person's accepted writes (monotonic time, what).

    Kinds are the audit's actions; a clearPresence that found no session left (it expired
    during an outage) is the sandbox's record of that clear, so it counts as one. An entry of
    unknown outcome (the server was killed with the write under way) matches one write or none.
    """
    owner: dict[tuple[str, str], str] = {}
    for link in await _all_links(store):
        if link.teams_user_id:
            owner[GRAPH_PRESENCE_WRITE, link.teams_user_id] = link.email
        if link.rc_extension_id:
            owner[RINGCENTRAL_PRESENCE_PUT, link.rc_extension_id] = link.email
    accepted: Counter[tuple[str, str]] = Counter()
    stamped: dict[str, list[tuple[float, str]]] = {}
    after = 0
    while True:
        page = await control.call("GET", f"/_sandbox/timeline?after={after}")
        for stamp in page["stamps"]:
            kind = _write_kind(stamp["kind"], stamp["detail"])
            if kind is not None:
                who = owner.get((stamp["kind"], stamp["subject"]), stamp["subject"])
                accepted[kind, who] += 1
                stamped.setdefault(who.lower(), []).append(
                    (float(stamp["at"]), f"{kind} {stamp['detail']}")
                )
        if page["next"] == after:
            break
        after = page["next"]
    audited: Counter[tuple[str, str]] = Counter()
    # Writes the server was killed holding: the sandbox may or may not have taken each.
    unknown: Counter[tuple[str, str]] = Counter()
    for entry in await _all_audit(store):
        if entry.action not in AUDIT_WRITES:
            continue
        result, key = entry.details.get("result"), (entry.action, str(entry.user).lower())
        if result == "applied" and entry.details.get("message") != ALREADY_TRUE:
            audited[key] += 1
        elif result in (UNKNOWN_OUTCOME, SENDING):
            unknown[key] += 1
    totals = Counter[str]()
    for (kind, _who), count in accepted.items():
        totals[kind] += count
    totals["unknown outcome"] = sum(unknown.values())
    unmatched = [
        f"{who} {kind}: sandbox accepted {accepted[kind, who]}, audit has {audited[kind, who]}"
        + (f" (and {unknown[kind, who]} of unknown outcome)" if unknown[kind, who] else "")
        for kind, who in sorted(set(accepted) | set(audited))
        if not audited[kind, who] <= accepted[kind, who] <= audited[kind, who] + unknown[kind, who]
    ]
    return dict(totals), unmatched, stamped


def _write_kind(stamp: str, detail: str) -> str | None:
    """The audit action a timeline stamp is the sandbox's record of, if it is a write."""
    if stamp == RINGCENTRAL_PRESENCE_PUT:
        return "ringcentral.presence"
    if stamp == GRAPH_PRESENCE_WRITE:
        return "teams.session.clear" if detail.startswith("clear") else "teams.session"
    return None


async def _all_links(store: Store) -> list[UserLink]:
    links: list[UserLink] = []
    cursor: str | None = None
    while True:
        page = await store.list_links(after=cursor, limit=500)
        links.extend(page.links)
        cursor = page.next_cursor
        if cursor is None:
            return links


async def _all_audit(store: Store) -> Iterable[AuditEntry]:
    entries: list[AuditEntry] = []
    before: float | None = None
    while True:
        page = await store.list_audit(limit=500, before=before)
        entries.extend(page)
        if len(page) < 500:
            return entries
        before = page[-1].at


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.soak.run", description=__doc__)
    parser.add_argument("--full", action="store_true", help="1,000 people and an 8-hour day")
    parser.add_argument("--people", type=int, help="people in the sandbox org")
    parser.add_argument("--seed", type=int, help="office-day seed")
    parser.add_argument("--keep", type=Path, help="keep logs in this folder")
    args = parser.parse_args(argv)
    plan = FULL if args.full else SHORT
    if args.people:
        plan = dataclasses.replace(plan, people=args.people)
    if args.seed is not None:
        plan = dataclasses.replace(plan, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(run_soak(plan, work))
    print("\n".join(report.lines()))
    return 0 if not report.problems() else 1


if __name__ == "__main__":
    sys.exit(main())
