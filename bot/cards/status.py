"""The status cards: the admin's overview, a person's own status, and the connect steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.cards.base import (
    Card,
    Element,
    Verb,
    bold,
    buttons,
    card,
    clip,
    columns,
    execute,
    facts,
    heading,
    open_url,
    people,
    run,
    section,
    text,
)
from bot.cards.jobs import job_title
from bot.cards.rules import rc_result
from presence_sync.admin import JobView, RulesView, StatusView, UserView
from presence_sync.connections.records import (
    MICROSOFT,
    RC_IDENTITY_PREFIX,
    RINGCENTRAL,
    SYNC_ACCOUNT_PREFIX,
    SYNC_ACCOUNTS,
)
from presence_sync.connections.records import state_of as connection_state
from presence_sync.domain import CallRule, TeamsState, parse_rule
from presence_sync.watch.coverage import Coverage

__all__ = ["ConnectUrls", "WriteBudget", "connect_card", "my_status_card", "status_card"]

_REASON_BYTES: Final = 240
_LABEL_BYTES: Final = 160
# Large organisations have a sync account per 650 people; the status lists the first few.
_MAX_CONNECTIONS: Final = 8
_MAX_WARNINGS: Final = 8
_STATE_WORDS: Final = {"connected": "Connected", "broken": "Broken", "missing": "Not connected"}
_STATE_COLORS: Final = {"connected": "Good", "broken": "Attention", "missing": "Warning"}
_RUNNING: Final = ("queued", "running")


@dataclass(frozen=True)
class WriteBudget:
    """How much of RingCentral's presence-write allowance is in use right now."""

    used: int  # writes in the last window, over every identity
    limit: int | None  # writes a window allowed over every identity (None: not known yet)
    window: float = 60.0  # seconds the limit counts over
    identities: int = 1  # RingCentral users presence writes are spread across
    backlog: int = 0  # people with a RingCentral write waiting
    expected_delay: float | None = None  # seconds a new change would wait
    p95_delay: float | None = None  # decision -> write, 95th percentile over the last hour
    advice: str | None = None  # what to do when the delay is above its target


@dataclass(frozen=True)
class ConnectUrls:
    """Where each connect step starts (the caller builds them for this admin)."""

    admin_consent: str
    sync_account: str
    ringcentral: str
    ringcentral_identity: str = ""  # one more RingCentral user writes are spread across


def _interval(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + " s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}".rstrip("0").rstrip(".") + " min"
    return f"{seconds / 3600:.1f}".rstrip("0").rstrip(".") + " h"


def _connection_rows(view: StatusView) -> list[Element]:
    rows: list[Element] = []
    for kind, state, reason in view.connections[:_MAX_CONNECTIONS]:
        described = connection_state(kind, None, "")
        rows.append(
            columns(
                ("stretch", [text(clip(described.label, _LABEL_BYTES))]),
                ("auto", [text(_STATE_WORDS.get(state, state), color=_STATE_COLORS.get(state))]),
            )
        )
        if reason:
            rows.append(text(clip(reason, _REASON_BYTES), subtle=True))
        if state != "connected" and described.fix:
            rows.append(text(f"To fix: {described.fix}. Or type connect.", subtle=True))
    more = len(view.connections) - _MAX_CONNECTIONS
    if more > 0:
        rows.append(text(f"and {more:,} more; type connect to see them all.", subtle=True))
    return rows


def _coverage_rows(coverage: Coverage | None) -> list[Element]:
    if coverage is None:
        return [text("Not known yet: the watchers are starting.", subtle=True)]
    polled = f"{people(coverage.by_polling)} by polling"
    if coverage.poll_interval is not None:
        polled += f" every {_interval(coverage.poll_interval)}"
    lines = [f"{people(coverage.by_notification)} by Teams notification, {polled}."]
    if coverage.fast_polling and coverage.poll_interval is not None:
        lines.append(f"Everyone is also read every {_interval(coverage.poll_interval)}.")
    lines.append(
        f"Everyone is checked on both sides every {_interval(coverage.reconcile_interval)}."
    )
    if not coverage.ringcentral_subscription:
        lines.append("RingCentral changes are only seen on that check: its webhook is not set up.")
    return [text(line) for line in lines]


def _job_rows(job: JobView) -> tuple[list[Element], list[Element]]:
    """The job's lines, and its button."""
    title = job_title(job.kind)
    if job.status in _RUNNING:
        share = f" ({job.progress:.0%})" if job.total else ""
        line = f"{title}: {job.processed:,} of {people(job.total)} handled{share}."
        return [text(line)], [execute("Job progress", Verb.JOB_REFRESH, {"job_id": job.id})]
    line = (
        f"Last job, {title}: {job.status}, {job.synced:,} synced, {job.already:,} already in "
        f"sync, {job.failed:,} failed, {job.unmatched:,} unmatched."
    )
    return [text(line)], [run("Report", f"report {job.id}")]


def _budget_rows(budget: WriteBudget) -> list[Element]:
    per = "a minute" if budget.window == 60 else f"per {_interval(budget.window)}"
    allowed = f"{budget.limit:,}" if budget.limit is not None else "not known yet"
    who = f"{budget.identities:,} RingCentral identit{'y' if budget.identities == 1 else 'ies'}"
    rows = [text(f"{budget.used:,} of {allowed} {per} in use, over {who}.")]
    waiting = f"{people(budget.backlog)} waiting" if budget.backlog else "Nobody waiting"
    if budget.expected_delay is not None and budget.backlog:
        waiting += f"; a new change is written in about {_interval(budget.expected_delay)}"
    if budget.p95_delay is not None:
        waiting += f". 95% of writes in the last hour waited {_interval(budget.p95_delay)} or less"
    rows.append(text(waiting + "."))
    if budget.advice:
        rows.append(text(clip(budget.advice, 2 * _REASON_BYTES), color="Attention"))
    return rows


def _other_warnings(view: StatusView) -> list[str]:
    """The warnings the connections part does not already show with their fix."""
    about_connections = tuple(f"{kind} is " for kind, _, _ in view.connections)
    return [w for w in view.warnings if not w.startswith(about_connections)]


def status_card(view: StatusView, budget: WriteBudget | None = None) -> Card:
    """Connections, people, how they are watched, RingCentral writes, the job, warnings."""
    body = [heading("Presence Sync status")]
    if not view.sync_enabled:
        body.append(
            text("Syncing is off for everyone. Type enable to turn it back on.", color="Warning")
        )
    body += [section("Connections"), *_connection_rows(view)]
    body.append(section("People"))
    counts = [
        ("Synced", f"{view.synced:,}"),
        ("On both platforms", f"{view.linked:,}"),
        ("Not matched", f"{view.unmatched:,}"),
    ]
    if view.pending_users:
        counts.append(("Waiting to be checked", f"{view.pending_users:,}"))
    body.append(facts(counts))
    coverage = view.coverage if isinstance(view.coverage, Coverage) else None
    body += [section("How changes are seen"), *_coverage_rows(coverage)]
    if budget is not None:
        body += [section("RingCentral writes"), *_budget_rows(budget)]
    actions = [run("Refresh", "status"), run("Users", "users")]
    if view.last_job is not None:
        lines, job_actions = _job_rows(view.last_job)
        body += [section("Job"), *lines]
        actions += job_actions
    warnings = _other_warnings(view)
    if warnings:
        body.append(section("Needs attention"))
        shown = warnings[:_MAX_WARNINGS]
        body += [text(f"- {clip(w, _REASON_BYTES)}", color="Attention") for w in shown]
        if len(warnings) > len(shown):
            body.append(text(f"and {len(warnings) - len(shown):,} more.", subtle=True))
    if any(state != "connected" for _, state, _ in view.connections):
        actions.append(run("Connect", "connect"))
    return card(body, actions)


def _default_rows(rules: RulesView) -> list[tuple[str, str]]:
    rows = [
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("Do not disturb, presenting", "Do not disturb: no calls"),
        ("Away, Be right back", "no change"),
        ("Offline", "Offline"),
    ]
    if rules.preserve_during_inactivity:
        rows.append(("Idle or Teams closed", "no change"))
    return rows


def _ruled_rows(rules: RulesView, queue_member: bool | None) -> list[tuple[str, str]]:
    rows = [("Available", "Available"), ("Do not disturb, presenting", "Do not disturb: no calls")]
    for state in TeamsState:
        rule = parse_rule(rules.rule_ids.get(state.value, CallRule.ACCEPT_ALL_CALLS.value))
        if rule is CallRule.NO_QUEUE_CALLS and queue_member is False:
            rule = CallRule.ACCEPT_ALL_CALLS  # outside call queues there are no queue calls
        rows.append((state.label, rc_result(state, rule)))
    return rows


def my_status_card(user: UserView | None, rules: RulesView) -> Card:
    """A person's own status: synced or not, and what their Teams states do in RingCentral."""
    body = [heading("Your presence sync")]
    if user is None or not user.linked:
        why = user.reason if user is not None and user.reason else "I could not match you."
        body += [
            text(f"Presence Sync cannot sync you: {clip(why, _REASON_BYTES)}"),
            text("Ask a Presence Sync admin if you think this is wrong.", subtle=True),
        ]
        return card(body)
    if not rules.sync_enabled:
        body.append(text("Syncing is off for everyone right now.", color="Warning"))
    elif user.synced:
        body.append(text("Your presence is synced.", color="Good"))
    else:
        body.append(text("Your presence is not synced. Ask a Presence Sync admin to sync you."))
    if user.last_error:
        body.append(text(f"Last problem: {clip(user.last_error, _REASON_BYTES)}", subtle=True))
    ruled = rules.call_presence_customisation
    body.append(section("What your Teams status does in RingCentral"))
    rows = _ruled_rows(rules, user.call_queue_member) if ruled else _default_rows(rules)
    body.append(facts(rows))
    body.append(text("A RingCentral call shows you as In a call in Teams.", subtle=True))
    return card(body)


def _steps(urls: ConnectUrls) -> list[tuple[str, str, str]]:
    """(connection kind, button title, url) for each connect step, in order."""
    return [
        (MICROSOFT, "Grant admin consent", urls.admin_consent),
        (SYNC_ACCOUNTS, "Authorise a sync account", urls.sync_account),
        (RINGCENTRAL, "Sign in to RingCentral", urls.ringcentral),
    ]


def _state_of_step(view: StatusView, kind: str) -> tuple[str, Sequence[str]]:
    """The step's state, and the reasons behind it."""
    if kind == SYNC_ACCOUNTS:
        accounts = [c for c in view.connections if c[0].startswith(SYNC_ACCOUNT_PREFIX)]
        if accounts:
            good = all(state == "connected" for _, state, _ in accounts)
            reasons = [f"{k[len(SYNC_ACCOUNT_PREFIX) :]}: {r}" for k, _, r in accounts if r]
            return ("connected" if good else "broken"), reasons
    for found, state, reason in view.connections:
        if found == kind:
            return state, [reason] if reason else []
    return "missing", []


def connect_card(view: StatusView, urls: ConnectUrls) -> Card:
    """Each connection's state, with a button that opens its next step."""
    body = [heading("Connect Presence Sync")]
    for number, (kind, title, url) in enumerate(_steps(urls), 1):
        state, reasons = _state_of_step(view, kind)
        label = clip(connection_state(kind, None, "").label, _LABEL_BYTES)
        body.append(
            columns(
                ("stretch", [text(bold(f"{number}. {label}"))]),
                ("auto", [text(_STATE_WORDS.get(state, state), color=_STATE_COLORS.get(state))]),
            )
        )
        body += [text(clip(reason, _REASON_BYTES), subtle=True) for reason in reasons[:5]]
        if kind == MICROSOFT:
            body.append(text("Sign in as a Global Administrator.", subtle=True))
        if state != "connected":
            body.append(buttons(open_url(title, url)))
        elif kind == SYNC_ACCOUNTS:
            # Each sync account carries one Graph subscription of up to 650 people.
            body.append(buttons(open_url("Add another sync account", url)))
        elif kind == RINGCENTRAL:
            body += _identity_rows(view, urls)
    return card(body, [run("Status", "status")])


def _identity_rows(view: StatusView, urls: ConnectUrls) -> list[Element]:
    """More RingCentral users writes are spread over: 40 more writes a minute each."""
    found = [c for c in view.connections if c[0].startswith(RC_IDENTITY_PREFIX)]
    rows: list[Element] = []
    for kind, state, reason in found[:_MAX_CONNECTIONS]:
        label = clip(connection_state(kind, None, "").label, _LABEL_BYTES)
        rows.append(
            columns(
                ("stretch", [text(label)]),
                ("auto", [text(_STATE_WORDS.get(state, state), color=_STATE_COLORS.get(state))]),
            )
        )
        if reason:
            rows.append(text(clip(reason, _REASON_BYTES), subtle=True))
    rows.append(
        text(
            "Each RingCentral identity adds 40 presence writes a minute for busy hours. Sign "
            "in as another RingCentral admin with the Edit Presence permission, or paste a JWT "
            "credential in the tab's overview.",
            subtle=True,
        )
    )
    if urls.ringcentral_identity:
        rows.append(buttons(open_url("Add a RingCentral identity", urls.ringcentral_identity)))
    return rows
