"""The tab API's JSON: the admin use cases' frozen views in the shapes the tab reads.

Field names are camelCase, times Unix seconds. `presence_sync/web/openapi.py` describes every
shape here, and the API tests check the served answers against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from presence_sync.admin import JobView, Preview, RulesView, UserView
from presence_sync.domain import DEFAULT_RULES, CallRule, TeamsState
from presence_sync.store.models import AuditEntry
from presence_sync.sync.reconciler import PRESENCE_WRITES

__all__ = ["activity_json", "job_json", "person_json", "preview_json", "rules_json"]

_DND = {
    CallRule.ACCEPT_ALL_CALLS: "TakeAllCalls",
    CallRule.NO_QUEUE_CALLS: "DoNotAcceptDepartmentCalls",
    CallRule.NO_CALLS: "DoNotAcceptAnyCalls",
}
_MEETING_AS_CALL = (
    "Teams often reports a meeting as a call: give In a call and In a meeting the same rule "
    "unless you mean them to differ."
)
_NOTES = {TeamsState.IN_A_CALL: _MEETING_AS_CALL, TeamsState.IN_A_MEETING: _MEETING_AS_CALL}
_ADMIN_ACTIONS = {
    "rules.save": "Saved the call presence rules",
    "rules.set": "Changed call presence rules",
    "rules.reset": "Reset the call presence rules to the defaults",
    "rules.customisation": "Turned call presence customisation on or off",
    "rules.preserve_during_inactivity": "Changed preserving RingCentral status during inactivity",
    "sync.disable": "Turned presence sync off for the organisation",
    "sync.enable": "Turned presence sync on for the organisation",
    "job.sync_all": "Started syncing everyone",
    "job.sync_users": "Started syncing selected people",
    "job.unsync_users": "Stopped syncing selected people",
    "job.cancel": "Cancelled a job",
}


def resulting_presence(state: TeamsState, rule: CallRule) -> str:
    """What RingCentral shows while the rule applies (DESIGN §4.3)."""
    user_status = "Offline" if state is TeamsState.OFFLINE else "Busy"
    return f"{user_status} · {rule.label} ({_DND[rule]})"


def rules_json(view: RulesView) -> dict[str, Any]:
    """The rules editor's view."""
    rows = []
    for state in TeamsState:
        rule = CallRule(view.rule_ids[state.value])
        rows.append(
            {
                "state": state.value,
                "label": state.label,
                "rule": rule.value,
                "ruleLabel": rule.label,
                "ringcentral": resulting_presence(state, rule),
                "note": _NOTES.get(state),
            }
        )
    return {
        "version": view.version,
        "syncEnabled": view.sync_enabled,
        "customisation": view.call_presence_customisation,
        "preserveDuringInactivity": view.preserve_during_inactivity,
        "rows": rows,
        "choices": [{"rule": r.value, "label": r.label} for r in CallRule],
        "defaults": DEFAULT_RULES.to_dict(),
    }


def job_json(job: JobView) -> dict[str, Any]:
    """A job as the progress bar and its report show it."""
    return {
        "id": job.id,
        # The contract's words ("sync all"), not the store's identifiers ("sync_all").
        "kind": job.kind.replace("_", " "),
        "status": job.status,
        "requestedBy": job.requested_by,
        "total": job.total,
        "processed": job.processed,
        "synced": job.synced,
        "already": job.already,
        "failed": job.failed,
        "unmatched": job.unmatched,
        "failures": [{"user": user, "reason": reason} for user, reason in job.failures],
        "createdAt": job.created_at,
        "finishedAt": job.finished_at,
        "progress": round(job.progress, 4),
    }


def person_json(user: UserView) -> dict[str, Any]:
    """One row of the people table."""
    rc = None
    if user.rc_extension_id is not None:
        rc = {"extensionId": user.rc_extension_id, "extensionNumber": user.rc_extension_number}
    return {
        "id": user.id,
        "email": user.email,
        "displayName": user.display_name,
        "teams": {"id": user.teams_user_id, "upn": user.upn},
        "ringcentral": rc,
        "linked": user.linked,
        "synced": user.synced,
        "reason": user.reason,
        "lastError": user.last_error,
        "teamsPresence": user.teams,
        "ringcentralPresence": user.ringcentral,
        "lastSyncAt": user.last_sync_at,
    }


def preview_json(preview: Preview) -> dict[str, Any]:
    """How many people `sync all` or `disable` would change."""
    return {
        "kind": preview.kind.replace(" ", "-"),
        "linked": preview.linked,
        "change": preview.change,
        "unchanged": preview.unchanged,
        "unmatched": [{"reason": reason, "count": count} for reason, count in preview.unmatched],
    }


def _write(entry: AuditEntry) -> dict[str, Any]:
    details = entry.details
    side = "teams" if entry.action.startswith("teams") else "ringcentral"
    return {
        "at": entry.at,
        "user": entry.user,
        "side": side,
        "write": _written(details.get("write")),
        "cause": str(details.get("cause") or ""),
        "result": str(details.get("result") or ""),
        "message": str(details.get("message") or ""),
    }


def _written(value: object) -> str:
    # Stored details come back frozen (AuditDetails, a Mapping), not as the dict written.
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v is not None)
    return str(value or "")


def _admin_action(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "summary": _ADMIN_ACTIONS.get(entry.action, entry.action.replace(".", " ")),
    }


def activity_json(
    entries: list[AuditEntry], jobs: list[JobView], limit: int
) -> dict[str, Any]:
    """Recent presence writes (with their cause), jobs and admin actions."""
    writes = [_write(e) for e in entries if e.action in PRESENCE_WRITES][:limit]
    actions = [_admin_action(e) for e in entries if e.action not in PRESENCE_WRITES][:limit]
    return {"writes": writes, "jobs": [job_json(j) for j in jobs], "admin": actions}
