"""Conversions between records and plain dicts, shared by the SQLite and MongoDB stores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from presence_sync.errors import ValidationError
from presence_sync.store.models import (
    LINK_PATCHABLE,
    JobFailure,
    LinkState,
    OrgSettings,
    RcObservation,
    SyncMode,
    TeamsObservation,
    normalise_email,
)

__all__ = [
    "check_link_changes",
    "dumps",
    "failures_from_list",
    "failures_to_list",
    "rc_from_dict",
    "rc_to_dict",
    "search_text",
    "settings_from_dict",
    "settings_to_dict",
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
