"""Conversions between records and plain dicts, shared by the SQLite and MongoDB stores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from presence_sync.errors import ValidationError
from presence_sync.store.models import (
    LINK_PATCHABLE,
    AuditDetails,
    ConnectionDetails,
    JobFailure,
    LinkState,
    OrgSettings,
    RcObservation,
    SubscriptionDetails,
    SyncMode,
    TeamsObservation,
    normalise_email,
)

__all__ = [
    "audit_details_from_json",
    "audit_details_to_json",
    "check_link_changes",
    "connection_details_from_json",
    "connection_details_to_dict",
    "connection_details_to_json",
    "dumps",
    "failures_from_list",
    "failures_to_list",
    "rc_from_dict",
    "rc_to_dict",
    "search_text",
    "settings_from_dict",
    "settings_to_dict",
    "subscription_details_from_json",
    "subscription_details_to_json",
    "teams_from_dict",
    "teams_to_dict",
]


def dumps(value: Any) -> str:
    """Compact JSON for dict columns."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def teams_to_dict(obs: TeamsObservation) -> dict[str, Any]:
    """A Teams observation as a plain dict."""
    return {
        "availability": obs.availability,
        "activity": obs.activity,
        "sequence": obs.sequence,
        "observed_at": obs.observed_at,
    }


def teams_from_dict(data: Mapping[str, Any] | None) -> TeamsObservation | None:
    """A Teams observation from `teams_to_dict` output."""
    if not data:
        return None
    return TeamsObservation(
        availability=data["availability"],
        activity=data["activity"],
        sequence=data["sequence"],
        observed_at=float(data["observed_at"]),
    )


def rc_to_dict(obs: RcObservation) -> dict[str, Any]:
    """A RingCentral observation as a plain dict."""
    return {
        "user_status": obs.user_status,
        "dnd_status": obs.dnd_status,
        "dnd_status_personal": obs.dnd_status_personal,
        "accept_call_queue_calls": obs.accept_call_queue_calls,
        "telephony_status": obs.telephony_status,
        "sequence": obs.sequence,
        "observed_at": obs.observed_at,
        "verified": obs.verified,
    }


def rc_from_dict(data: Mapping[str, Any] | None) -> RcObservation | None:
    """A RingCentral observation from `rc_to_dict` output."""
    if not data:
        return None
    return RcObservation(
        user_status=data["user_status"],
        dnd_status=data["dnd_status"],
        dnd_status_personal=data["dnd_status_personal"],
        accept_call_queue_calls=data["accept_call_queue_calls"],
        telephony_status=data["telephony_status"],
        sequence=data["sequence"],
        observed_at=float(data["observed_at"]),
        verified=bool(data.get("verified", False)),
    )


def settings_to_dict(settings: OrgSettings) -> dict[str, Any]:
    """Org settings (without the version) as a plain dict."""
    return {
        "sync_mode": settings.sync_mode.value,
        "call_presence_customisation": settings.call_presence_customisation,
        "rules": dict(settings.rules),
        "preserve_during_inactivity": settings.preserve_during_inactivity,
    }


def settings_from_dict(data: Mapping[str, Any], version: int) -> OrgSettings:
    """Org settings from `settings_to_dict` output and the stored version."""
    return OrgSettings(
        sync_mode=SyncMode(data["sync_mode"]),
        call_presence_customisation=bool(data["call_presence_customisation"]),
        rules=dict(data["rules"]),
        preserve_during_inactivity=bool(data["preserve_during_inactivity"]),
        version=version,
    )


def _plain(value: Any) -> Any:
    """A details value as JSON takes it: tuples as lists, frozen mappings as dicts."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _noted(details: ConnectionDetails | SubscriptionDetails) -> dict[str, Any]:
    """The fields of `details` that hold something, by name (unset ones are left out)."""
    noted: dict[str, Any] = {}
    for item in fields(details):
        value = getattr(details, item.name)
        if value != item.default:
            noted[item.name] = _plain(value)
    return noted


def _known(cls: type[ConnectionDetails] | type[SubscriptionDetails], text: str) -> dict[str, Any]:
    """The keys of stored details JSON that `cls` has fields for (others are ignored)."""
    data = json.loads(text) if text else {}
    names = {item.name for item in fields(cls)}
    return {k: v for k, v in data.items() if k in names and v is not None}


def connection_details_to_dict(details: ConnectionDetails) -> dict[str, Any]:
    """Connection details as a plain dict of the fields noted (also what admins are shown)."""
    return _noted(details)


def connection_details_to_json(details: ConnectionDetails) -> str:
    """Connection details as stored."""
    return dumps(_noted(details))


def connection_details_from_json(text: str) -> ConnectionDetails:
    """Connection details from their stored JSON (any release's: the keys never changed)."""
    return ConnectionDetails(**_known(ConnectionDetails, text))


def subscription_details_to_json(details: SubscriptionDetails) -> str:
    """Subscription details as stored."""
    return dumps(_noted(details))


def subscription_details_from_json(text: str) -> SubscriptionDetails:
    """Subscription details from their stored JSON."""
    return SubscriptionDetails(**_known(SubscriptionDetails, text))


def audit_details_to_json(details: AuditDetails) -> str:
    """Audit details as stored."""
    return dumps(_plain(details))


def audit_details_from_json(text: str) -> AuditDetails:
    """Audit details from their stored JSON."""
    return AuditDetails(json.loads(text))


def failures_to_list(failures: tuple[JobFailure, ...] | list[JobFailure]) -> list[dict[str, str]]:
    """Job failures as plain dicts."""
    return [{"user": f.user, "reason": f.reason} for f in failures]


def failures_from_list(data: list[Mapping[str, Any]] | None) -> tuple[JobFailure, ...]:
    """Job failures from `failures_to_list` output."""
    return tuple(JobFailure(user=f["user"], reason=f["reason"]) for f in data or ())


def search_text(email: str, upn: str | None, mail: str | None, display_name: str) -> str:
    """What a text search over links looks in: lower-case names and addresses."""
    return " ".join(p.lower() for p in (email, upn or "", mail or "", display_name) if p)


def check_link_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an `update_link` patch and bring values into stored form."""
    unknown = set(changes) - LINK_PATCHABLE
    if unknown:
        raise ValidationError(f"link fields that cannot be changed: {', '.join(sorted(unknown))}")
    clean = dict(changes)
    if "email" in clean:
        clean["email"] = normalise_email(clean["email"])
    if "state" in clean:
        clean["state"] = LinkState(clean["state"]).value
    if "sync_enabled" in clean:
        clean["sync_enabled"] = bool(clean["sync_enabled"])
    return clean
