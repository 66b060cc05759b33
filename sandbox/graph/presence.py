"""Graph's presence routes: reads, bulk reads, app sessions and the preferred presence."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from sandbox.graph.aggregate import (
    PREFERRED_PAIRS,
    SET_PRESENCE_PAIRS,
    Aggregate,
    canonical_activity,
    canonical_availability,
    parse_duration,
    sequence_number,
)
from sandbox.graph.auth import Caller, permission
from sandbox.graph.errors import GraphRequestError, bad_request, json_body, not_found
from sandbox.graph.state import PREFIX, GraphState
from sandbox.model import TeamsUser
from sandbox.timeline import GRAPH_PRESENCE_WRITE

MAX_IDS = 650
MIN_SESSION = 5 * 60.0
MAX_SESSION = 4 * 3600.0
DAY = 86400.0
READ = permission(
    app="Presence.Read.All Presence.ReadWrite.All",
    delegated="Presence.Read Presence.Read.All Presence.ReadWrite Presence.ReadWrite.All",
)
WRITE = permission(
    app="Presence.ReadWrite.All", delegated="Presence.ReadWrite Presence.ReadWrite.All"
)


def presence_json(user_id: str, agg: Aggregate, sequence: int | None) -> dict[str, Any]:
    """A presence resource as Graph returns it."""
    return {
        "id": user_id,
        "availability": agg.availability,
        "activity": agg.activity,
        "statusMessage": None,
        "outOfOfficeSettings": {"message": None, "isOutOfOffice": False},
        "sequenceNumber": None if sequence is None else sequence_number(sequence),
    }


def _pair(body: dict[str, Any], allowed: frozenset[tuple[str, str]], what: str) -> tuple[str, str]:
    raw_availability = body.get("availability")
    raw_activity = body.get("activity")
    if not isinstance(raw_availability, str) or not isinstance(raw_activity, str):
        raise bad_request(f"{what} needs 'availability' and 'activity' strings")
    availability = canonical_availability(raw_availability) or raw_availability
    activity = canonical_activity(raw_activity) or raw_activity
    if (availability, activity) not in allowed:
        pairs = ", ".join(f"{a}/{b}" for a, b in sorted(allowed))
        raise bad_request(
            f"The availability/activity pair {raw_availability}/{raw_activity} is not allowed"
            f" for {what}; allowed pairs: {pairs}."
        )
    return availability, activity


def _duration(body: dict[str, Any], default: float, low: float, high: float) -> float:
    raw = body.get("expirationDuration")
    if raw is None:
        return default
    try:
        seconds = parse_duration(raw)
    except ValueError as err:
        raise bad_request(str(err)) from err
    if not low <= seconds <= high:
        raise bad_request(
            f"expirationDuration {raw} is out of range: it must be between"
            f" PT{int(low // 60)}M and PT{int(high // 3600)}H."
        )
    return seconds


def setup_presence(app: web.Application, state: GraphState) -> None:
    """Mount the presence routes."""
    hub = state.hub

    def user_of(request: web.Request) -> TeamsUser:
        key = request.match_info["id"]
        user = state.directory.find(key)
        if user is None:
            raise not_found(f"User '{key}' was not found.", code="NotFound")
        return user

    def wrote(user: TeamsUser, what: str) -> None:
        state.ctx.recorder.timeline.stamp(GRAPH_PRESENCE_WRITE, user.id, detail=what)

    def read(request: web.Request, user: TeamsUser) -> web.Response:
        agg = hub.refresh(user)
        metadata = f"{state.base(request)}{PREFIX}/$metadata"
        body = {
            "@odata.context": f"{metadata}#users('{user.id}')/presence/$entity",
            **presence_json(user.id, agg, user.presence.sequence),
        }
        return web.json_response(body)

    async def get_presence(request: web.Request, caller: Caller) -> web.StreamResponse:
        return read(request, user_of(request))

    async def my_presence(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = state.directory.find(caller.object_id)
        if caller.app_only or user is None:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        return read(request, user)

    async def get_many(request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request("'ids' must be an array of user id strings")
        if not ids:
            raise bad_request("'ids' must name at least one user")
        if len(ids) > MAX_IDS:
            raise bad_request(
                f"Too many ids: {len(ids)} given; getPresencesByUserId accepts at most {MAX_IDS}."
            )
        value = []
        for user_id in dict.fromkeys(ids):
            try:
                uuid.UUID(user_id)
            except ValueError as err:
                raise bad_request(f"'{user_id}' is not a valid user id (a GUID).") from err
            user = state.ctx.org.teams_users.get(user_id)
            if user is None:
                unknown = Aggregate("PresenceUnknown", "PresenceUnknown")
                value.append(presence_json(user_id, unknown, None))
            else:
                value.append(presence_json(user.id, hub.refresh(user), user.presence.sequence))
        metadata = f"{state.base(request)}{PREFIX}/$metadata"
        return web.json_response(
            {"@odata.context": f"{metadata}#Collection(microsoft.graph.presence)", "value": value}
        )

    async def set_presence(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        body = await json_body(request)
        session_id = body.get("sessionId")
        if session_id != caller.app_id:
            raise bad_request(
                f"sessionId must be the calling application's client id ({caller.app_id});"
                f" got {session_id!r}."
            )
        availability, activity = _pair(body, SET_PRESENCE_PAIRS, "setPresence")
        seconds = _duration(body, MIN_SESSION, MIN_SESSION, MAX_SESSION)
        hub.set_app_session(user, caller.app_id, availability, activity, seconds)
        wrote(user, "setPresence")
        return web.Response(status=200)

    async def clear_presence(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        body = await json_body(request)
        session_id = body.get("sessionId")
        if session_id != caller.app_id:
            raise bad_request(
                f"sessionId must be the calling application's client id ({caller.app_id});"
                f" got {session_id!r}."
            )
        if not hub.clear_app_session(user, caller.app_id):
            wrote(user, "clearPresence (no session)")
            raise GraphRequestError(
                404, "NotFound", f"No presence session {session_id} exists for this user."
            )
        wrote(user, "clearPresence")
        return web.Response(status=200)

    async def set_preferred(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        body = await json_body(request)
        availability, activity = _pair(body, PREFERRED_PAIRS, "setUserPreferredPresence")
        default = DAY if availability in ("DoNotDisturb", "Busy") else 7 * DAY
        seconds = _duration(body, default, MIN_SESSION, 30 * DAY)
        hub.set_preferred(user, availability, activity, seconds)
        wrote(user, "setUserPreferredPresence")
        return web.Response(status=200)

    async def clear_preferred(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        hub.clear_preferred(user)
        wrote(user, "clearUserPreferredPresence")
        return web.Response(status=200)

    async def set_status_message(request: web.Request, caller: Caller) -> web.StreamResponse:
        user_of(request)
        body = await json_body(request)
        if not isinstance(body.get("statusMessage"), dict):
            raise bad_request("'statusMessage' must be an object")
        # Status messages are accepted but not modelled: the product never reads them back.
        return web.Response(status=200)

    state.add(app, "GET", "/me/presence", my_presence, READ)
    state.add(app, "GET", "/users/{id}/presence", get_presence, READ)
    state.add(app, "GET", "/communications/presences/{id}", get_presence, READ)
    state.add(app, "POST", "/communications/getPresencesByUserId", get_many, READ)
    state.add(app, "POST", "/users/{id}/presence/setPresence", set_presence, WRITE)
    state.add(app, "POST", "/users/{id}/presence/clearPresence", clear_presence, WRITE)
    state.add(app, "POST", "/users/{id}/presence/setUserPreferredPresence", set_preferred, WRITE)
    state.add(
        app, "POST", "/users/{id}/presence/clearUserPreferredPresence", clear_preferred, WRITE
    )
    state.add(app, "POST", "/users/{id}/presence/setStatusMessage", set_status_message, WRITE)
