"""How a Teams user's presence looks in /_sandbox/state: aggregate, sessions, preferred."""

from __future__ import annotations

from typing import Any

from sandbox.context import SandboxContext
from sandbox.graph.aggregate import (
    AppSession,
    ClientSession,
    aggregate,
    effective,
    live_sessions,
    sequence_number,
)
from sandbox.graph.errors import iso_time
from sandbox.model import TeamsUser


def describe(ctx: SandboxContext, user: TeamsUser) -> dict[str, Any]:
    """The user's Teams presence for /_sandbox/state, computed at the current sandbox time."""
    now = ctx.clock.now()
    presence = user.presence
    shown = aggregate(presence, now)
    sessions = []
    for session in live_sessions(presence, now):
        contributes = effective(session, presence, now)
        entry: dict[str, Any] = {
            "sessionId": session.session_id,
            "availability": contributes.availability,
            "activity": contributes.activity,
            "expiresAt": None if session.expires_at is None else iso_time(session.expires_at),
        }
        if isinstance(session, AppSession):
            entry["refreshedAt"] = iso_time(session.refreshed_at)
        if isinstance(session, ClientSession) and session.presenting:
            entry["presenting"] = True
        sessions.append(entry)
    preferred = presence.preferred
    preferred_view = None
    if preferred is not None and (preferred.expires_at is None or preferred.expires_at > now):
        preferred_view = {
            "availability": preferred.availability,
            "activity": preferred.activity,
            "expiresAt": None if preferred.expires_at is None else iso_time(preferred.expires_at),
        }
    return {
        "availability": shown.availability,
        "activity": shown.activity,
        "sessions": sessions,
        "preferred": preferred_view,
        "inMeeting": presence.in_meeting,
        "inCall": presence.in_call or presence.in_conference_call,
        "sequenceNumber": sequence_number(presence.sequence),
    }
