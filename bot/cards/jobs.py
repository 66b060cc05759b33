"""The job card: a bulk job's progress, updated in place, and its report once it ends."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bot.cards.base import (
    Card,
    Element,
    Verb,
    card,
    clip,
    execute,
    facts,
    heading,
    people,
    section,
    text,
)
from presence_sync.admin import JobView

__all__ = ["JOB_FAILURE_ROWS", "JOB_REASON_ROWS", "job_card", "job_title"]

JOB_FAILURE_ROWS: Final = 25  # failed people listed by name; the rest are counted
JOB_REASON_ROWS: Final = 10  # reasons for not being matched, most common first
_USER_BYTES: Final = 120
_REASON_BYTES: Final = 200

_TITLES: Final = {
    "sync_all": "Sync everyone",
    "sync_users": "Sync selected people",
    "unsync_users": "Unsync selected people",
    "disable_all": "Stop syncing everyone",
}
_UNSYNCING: Final = ("unsync_users", "disable_all")
_STATUS: Final = {
    "queued": "Waiting to start",
    "running": "Running",
    "done": "Done",
    "cancelled": "Cancelled",
    "failed": "Stopped by an error",
}
_NO_REASONS: Mapping[str, int] = MappingProxyType({})


def job_title(kind: str) -> str:
    """What a job kind is called in chat."""
    return _TITLES.get(kind, kind.replace("_", " ").capitalize())


def _counts(job: JobView) -> Element:
    switched = "Unsynced" if job.kind in _UNSYNCING else "Synced"
    return facts(
        [
            (switched, f"{job.synced:,}"),
            ("Already in sync", f"{job.already:,}"),
            ("Failed", f"{job.failed:,}"),
            ("Not matched", f"{job.unmatched:,}"),
        ]
    )


def _failures(job: JobView) -> list[Element]:
    if not job.failed:
        return []
    rows = [
        (clip(user, _USER_BYTES), clip(reason, _REASON_BYTES))
        for user, reason in job.failures[:JOB_FAILURE_ROWS]
    ]
    found = [section(f"Failed: {people(job.failed)}")]
    if rows:
        found.append(facts(rows))
    more = job.failed - len(rows)
    if more > 0:
        found.append(text(f"and {people(more)} more.", subtle=True))
    return found


def _unmatched(job: JobView, reasons: Mapping[str, int]) -> list[Element]:
    if not job.unmatched:
        return []
    found = [section(f"Not matched: {people(job.unmatched)}")]
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    rows = [(f"{n:,}", clip(reason, _REASON_BYTES)) for reason, n in ranked[:JOB_REASON_ROWS]]
    rest = sum(n for _, n in ranked[JOB_REASON_ROWS:])
    if rest:
        rows.append((f"{rest:,}", "other reasons"))
    if rows:
        found.append(facts(rows))
    return found


def job_card(job: JobView, *, unmatched_reasons: Mapping[str, int] = _NO_REASONS) -> Card:
    """Progress while the job runs; the report (failures and reasons) once it has ended.

    `unmatched_reasons` counts why people were not matched (reason → people), when known.
    """
    status = _STATUS.get(job.status, job.status)
    body: list[Element] = [heading(f"{job_title(job.kind)}: {status}")]
    if job.status in ("queued", "running"):
        share = f" ({job.progress:.0%})" if job.total else ""
        body += [text(f"{job.processed:,} of {people(job.total)} handled{share}."), _counts(job)]
        return card(body, [execute("Refresh", Verb.JOB_REFRESH, {"job_id": job.id})])
    body += [
        text(f"{job.processed:,} of {people(job.total)} handled.", subtle=True),
        _counts(job),
        *_failures(job),
        *_unmatched(job, unmatched_reasons),
    ]
    actions = []
    if job.failed:
        actions.append(execute("Retry failed", Verb.RETRY, {"job_id": job.id}, style="positive"))
    return card(body, actions)
