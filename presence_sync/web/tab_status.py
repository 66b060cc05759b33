"""The tab's overview: each connection with its next step, coverage, budget and warnings."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from presence_sync.admin import Admin
from presence_sync.connections import (
    MICROSOFT,
    RINGCENTRAL,
    SYNC_ACCOUNTS,
    Connections,
    ConnectionState,
    sync_account_upn,
)
from presence_sync.connections.records import RC_IDENTITY_PREFIX
from presence_sync.store.base import Store
from presence_sync.web.identities import identity_json
from presence_sync.web.tab_views import job_json

if TYPE_CHECKING:
    from bot.service import TeamsBot

__all__ = ["status_json"]

_ACTIONS = {MICROSOFT: "consent", SYNC_ACCOUNTS: "sync-account", RINGCENTRAL: "ringcentral"}


def _connection(state: ConnectionState) -> dict[str, Any]:
    # The row /api/connections answers, with "no fix" as null for the tab.
    body = state.to_json()
    body["fix"] = body["fix"] or None
    return body


def _note(text: str, since: float | None = None) -> dict[str, Any]:
    """A warning with no step to open."""
    return {"text": text, "action": None, "since": since}


def _microsoft(state: ConnectionState) -> dict[str, Any]:
    details = state.details
    return {
        **_connection(state),
        "tenantId": details.get("tenant"),
        "consentedBy": details.get("consented_by"),
        "permissions": list(details.get("roles") or ()),
    }


def _ringcentral(state: ConnectionState, connections: Connections) -> dict[str, Any]:
    details = state.details
    method = details.get("method")
    account = details.get("name") or details.get("email")
    if account and details.get("extension_number"):
        account = f"{account} (ext. {details['extension_number']})"
    return {
        **_connection(state),
        "mode": method if method in ("jwt", "oauth") else None,
        "account": account,
        "jwtConfigured": bool(connections.settings.ringcentral_jwt),
        "oauthConfigured": connections.settings.ringcentral_configured,
    }


def _warning(state: ConnectionState, action: str | None) -> dict[str, Any]:
    when = ""
    if state.since:
        when = " at " + time.strftime("%H:%M UTC", time.gmtime(state.since))
    verb = "is not set up" if state.state == "missing" else "stopped working" + when
    text = f"{state.label} {verb}"
    if state.reason:
        text += f": {state.reason}"
    if state.fix:
        text += f" — {state.fix}"
    return {"text": text, "action": action, "since": state.since}


async def status_json(
    admin: Admin, connections: Connections, store: Store, bot: TeamsBot
) -> dict[str, Any]:
    """The overview's JSON."""
    view = await admin.status()
    states = await connections.status()
    subscriptions = await store.list_subscriptions("graph")
    now = time.time()
    covers: dict[str, int] = {}
    for sub in subscriptions:
        if sub.owner and sub.expires_at > now:
            covers[sub.owner.lower()] = covers.get(sub.owner.lower(), 0) + len(sub.details.user_ids)
    # The connections' status always has a Microsoft and a RingCentral row, set up or not.
    microsoft: dict[str, Any] | None = None
    ringcentral: dict[str, Any] | None = None
    accounts: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for state in states:
        upn = sync_account_upn(state.kind)
        if upn is not None:
            accounts.append({**_connection(state), "upn": upn, "covers": covers.get(upn, 0)})
        elif state.kind == MICROSOFT:
            microsoft = _microsoft(state)
        elif state.kind == RINGCENTRAL:
            ringcentral = _ringcentral(state, connections)
        elif state.kind.startswith(RC_IDENTITY_PREFIX):
            identities.append(identity_json(state))
        if state.state != "connected" or (state.kind == MICROSOFT and state.reason):
            action = "sync-account" if upn is not None else _ACTIONS.get(state.kind)
            warnings.append(_warning(state, action))
    if not view.sync_enabled:
        warnings.append(_note("Presence sync is turned off for the organisation"))
    if view.last_job is not None and view.last_job.status == "failed":
        failed = view.last_job
        warnings.append(_note(f"The last job ({failed.kind}) failed", failed.finished_at))
    if view.undelivered_notices:
        warnings.append(_note(f"{view.undelivered_notices} notices could not be delivered"))
    coverage = view.coverage
    budget = await bot.write_budget()
    if budget is not None and budget.advice:
        warnings.append({"text": budget.advice, "action": "ringcentral-identity", "since": None})
    return {
        "syncEnabled": view.sync_enabled,
        "microsoft": microsoft,
        "syncAccounts": accounts,
        "ringcentral": ringcentral,
        "ringcentralIdentities": identities,
        "counts": {
            "linked": view.linked,
            "unmatched": view.unmatched,
            "synced": view.synced,
            "pendingUsers": view.pending_users,
        },
        "coverage": None
        if coverage is None
        else {
            "notified": coverage.by_notification,
            "polled": coverage.by_polling,
            "pollIntervalSeconds": coverage.poll_interval,
            "reconcileIntervalSeconds": coverage.reconcile_interval,
        },
        "writeBudget": None
        if budget is None
        else {
            "used": budget.used,
            "limit": budget.limit,
            "windowSeconds": budget.window,
            "queued": view.pending_users,
            "identities": budget.identities,
            "backlog": budget.backlog,
            "expectedDelaySeconds": budget.expected_delay,
            "p95DelaySeconds": budget.p95_delay,
            "advice": budget.advice,
        },
        "warnings": warnings,
        "lastJob": job_json(view.last_job) if view.last_job is not None else None,
    }
