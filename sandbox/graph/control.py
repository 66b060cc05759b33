"""Control routes under /_sandbox/ that act as Teams users, admins of the directory, or Graph.

No auth (core refuses non-loopback peers for all of /_sandbox/). Bad input answers 400 with
`{"error": "..."}` naming the problem and changes nothing; unknown emails answer 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.graph.aggregate import (
    ACTIVITIES,
    AVAILABILITIES,
    canonical_activity,
    canonical_availability,
)
from sandbox.graph.directory import user_json
from sandbox.graph.state import GraphState
from sandbox.graph.view import describe
from sandbox.model import TeamsUser

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_DEFAULT_ACTIVITY = {"AvailableIdle": "Inactive", "BusyIdle": "Inactive"}


class ControlError(Exception):
    """Bad control input; answered as `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as err:
        raise ControlError(400, f"body is not valid JSON: {err}") from err
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _user(state: GraphState, email: str) -> TeamsUser:
    user = state.ctx.org.teams_user_by_email(email)
    if user is None:
        raise ControlError(404, f"no Teams user with email {email!r}")
    return user


ControlRoute = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guard(handler: ControlRoute) -> ControlRoute:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ControlError as err:
            return web.json_response({"error": err.message}, status=err.status)
        return response

    return wrapped


def _admin_view(user: TeamsUser) -> dict[str, Any]:
    return {
        **user_json(user, ("id", "displayName", "userPrincipalName", "mail", "accountEnabled")),
        "roles": list(user.roles),
    }


def setup_control(app: web.Application, state: GraphState) -> None:
    """Mount the Graph-owned control routes."""
    hub = state.hub

    async def teams_presence(request: web.Request) -> web.StreamResponse:
        user = _user(state, request.match_info["email"])
        body = await _body(request)
        raw_availability = body.get("availability")
        if not isinstance(raw_availability, str):
            raise ControlError(400, f"availability is required; one of {list(AVAILABILITIES)}")
        availability = canonical_availability(raw_availability)
        if availability is None:
            raise ControlError(
                400, f"availability {raw_availability!r} is unknown; one of {list(AVAILABILITIES)}"
            )
        raw_activity = body.get("activity")
        activity = None
        if raw_activity is not None:
            activity = canonical_activity(raw_activity) if isinstance(raw_activity, str) else None
            if activity is None:
                raise ControlError(
                    400, f"activity {raw_activity!r} is unknown; one of {list(ACTIVITIES)}"
                )
        elif availability != "Offline":
            activity = _DEFAULT_ACTIVITY.get(availability, availability)
        if availability == "Offline" and activity not in (None, "Offline", "OffWork"):
            raise ControlError(
                400,
                "Offline goes with no activity or Offline (sign out) or OffWork (appear offline),"
                f" not {activity}",
            )
        if availability == "PresenceUnknown":
            raise ControlError(400, "a Teams client cannot choose PresenceUnknown")
        hub.client_presence(user, availability, activity)
        return web.json_response(describe(state.ctx, user))

    async def meeting(request: web.Request) -> web.StreamResponse:
        user = _user(state, request.match_info["email"])
        body = await _body(request)
        action = body.get("action")
        if action not in ("start", "end", "present", "stop-presenting"):
            raise ControlError(400, "action must be 'start', 'end', 'present' or 'stop-presenting'")
        hub.meeting(user, action)
        return web.json_response(describe(state.ctx, user))

    async def call(request: web.Request) -> web.StreamResponse:
        user = _user(state, request.match_info["email"])
        body = await _body(request)
        action = body.get("action")
        conference = body.get("conference", False)
        if action not in ("start", "end"):
            raise ControlError(400, "action must be 'start' or 'end'")
        if not isinstance(conference, bool):
            raise ControlError(400, "conference must be true or false")
        hub.call(user, action, conference)
        return web.json_response(describe(state.ctx, user))

    async def add_user(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        upn = body.get("userPrincipalName") or body.get("email")
        if not isinstance(upn, str) or "@" not in upn:
            raise ControlError(
                400, "userPrincipalName (or email) is required and must be an address"
            )
        if state.ctx.org.teams_user_by_email(upn) is not None:
            raise ControlError(409, f"a Teams user with email {upn!r} already exists")
        user = TeamsUser(
            id=str(body.get("id") or uuid.uuid4()),
            display_name=str(body.get("displayName") or upn.split("@")[0]),
            user_principal_name=upn,
            mail=_optional_str(body, "mail", default=upn),
            account_enabled=_bool(body, "accountEnabled", default=True),
            roles=_roles(body, default=[]),
        )
        if user.id in state.ctx.org.teams_users:
            raise ControlError(409, f"a Teams user with id {user.id!r} already exists")
        state.directory.add(user)
        hub.refresh(user)
        return web.json_response(_admin_view(user), status=201)

    async def change_user(request: web.Request) -> web.StreamResponse:
        user = _user(state, request.match_info["email"])
        body = await _body(request)
        unknown = set(body) - {
            "displayName",
            "mail",
            "accountEnabled",
            "userPrincipalName",
            "roles",
        }
        if unknown:
            raise ControlError(400, f"unknown fields: {sorted(unknown)}")
        display_name = body.get("displayName", user.display_name)
        upn = body.get("userPrincipalName", user.user_principal_name)
        if not isinstance(display_name, str) or not isinstance(upn, str) or "@" not in upn:
            raise ControlError(
                400, "displayName and userPrincipalName must be strings (UPN an address)"
            )
        other = state.ctx.org.teams_user_by_email(upn)
        if other is not None and other is not user:
            raise ControlError(409, f"another Teams user already has email {upn!r}")
        mail = _optional_str(body, "mail", default=user.mail)
        enabled = _bool(body, "accountEnabled", default=user.account_enabled)
        roles = _roles(body, default=user.roles)
        user.display_name, user.user_principal_name, user.mail = display_name, upn, mail
        user.account_enabled, user.roles = enabled, roles
        state.directory.touch(user.id)
        return web.json_response(_admin_view(user))

    async def remove_user(request: web.Request) -> web.StreamResponse:
        user = _user(state, request.match_info["email"])
        state.directory.remove(user.id)
        hub.forget(user.id)
        return web.Response(status=204)

    async def forget_delta(request: web.Request) -> web.StreamResponse:
        # As when Graph loses sync state: every delta link given out so far stops working.
        state.directory.epoch += 1
        return web.json_response({"epoch": state.directory.epoch})

    async def limits(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            body = await _body(request)
            unknown = set(body) - {"requests_per_30s", "notification_delay_ms", "batch_window_ms"}
            if unknown:
                raise ControlError(400, f"unknown fields: {sorted(unknown)}")
            budget = state.budget.limit
            if "requests_per_30s" in body:
                budget = body["requests_per_30s"]
                if budget is not None and (type(budget) is not int or budget < 1):
                    raise ControlError(400, "requests_per_30s must be a positive integer or null")
            delay = state.notifier.limits.delay_ms
            if "notification_delay_ms" in body:
                delay = _delay_range(body["notification_delay_ms"])
            window = state.notifier.limits.batch_window_ms
            if "batch_window_ms" in body:
                window = body["batch_window_ms"]
                if type(window) not in (int, float) or not 0 <= window <= 60_000:
                    raise ControlError(400, "batch_window_ms must be between 0 and 60000")
            state.budget.limit = budget
            state.notifier.limits.delay_ms = delay
            state.notifier.limits.batch_window_ms = float(window)
        return web.json_response(
            {
                "requests_per_30s": state.budget.limit,
                "used_in_window": state.budget.used(state.ctx.org.tenant_id),
                "notification_delay_ms": list(state.notifier.limits.delay_ms),
                "batch_window_ms": state.notifier.limits.batch_window_ms,
            }
        )

    async def subscriptions(request: web.Request) -> web.StreamResponse:
        now = state.ctx.clock.now()
        if request.method in ("POST", "DELETE"):
            body = await _body(request) if request.method == "POST" else {"remove_all": True}
            if body.get("remove_all") is not True:
                raise ControlError(400, 'send {"remove_all": true} to remove every subscription')
            for sub in state.book:
                state.book.remove(sub.id)
                state.notifier.lifecycle(sub, "subscriptionRemoved", removed=True)
        return web.json_response({"value": [sub.control_view(now) for sub in state.book]})

    async def remove_subscription(request: web.Request) -> web.StreamResponse:
        sub = state.book.remove(request.match_info["id"])
        if sub is None:
            raise ControlError(404, f"no subscription {request.match_info['id']!r}")
        state.notifier.lifecycle(sub, "subscriptionRemoved", removed=True)
        return web.Response(status=204)

    async def lifecycle(request: web.Request) -> web.StreamResponse:
        sub = state.book.get(request.match_info["id"])
        if sub is None:
            raise ControlError(404, f"no subscription {request.match_info['id']!r}")
        event = request.match_info.get("event") or (await _body(request)).get("event")
        if event not in LIFECYCLE_EVENTS:
            raise ControlError(400, f"event must be one of {list(LIFECYCLE_EVENTS)}")
        if not sub.lifecycle_url:
            raise ControlError(400, "the subscription has no lifecycleNotificationUrl")
        if event == "subscriptionRemoved":
            state.book.remove(sub.id)
        state.notifier.lifecycle(sub, event, removed=event == "subscriptionRemoved")
        return web.json_response(sub.control_view(state.ctx.clock.now()), status=202)

    routes = [
        ("POST", "/_sandbox/teams/users", add_user),
        ("PATCH", "/_sandbox/teams/users/{email}", change_user),
        ("DELETE", "/_sandbox/teams/users/{email}", remove_user),
        ("POST", "/_sandbox/teams/{email}/presence", teams_presence),
        ("POST", "/_sandbox/teams/{email}/meeting", meeting),
        ("POST", "/_sandbox/teams/{email}/call", call),
        ("POST", "/_sandbox/graph/delta/forget", forget_delta),
        ("GET", "/_sandbox/graph/limits", limits),
        ("POST", "/_sandbox/graph/limits", limits),
        ("GET", "/_sandbox/graph/subscriptions", subscriptions),
        ("POST", "/_sandbox/graph/subscriptions", subscriptions),
        ("DELETE", "/_sandbox/graph/subscriptions", subscriptions),
        ("DELETE", "/_sandbox/graph/subscriptions/{id}", remove_subscription),
        ("POST", "/_sandbox/graph/subscriptions/{id}/lifecycle", lifecycle),
        ("POST", "/_sandbox/graph/subscriptions/{id}/{event:missed}", lifecycle),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guard(handler))


def _optional_str(body: dict[str, Any], name: str, default: str | None) -> str | None:
    if name not in body:
        return default
    value = body[name]
    if value is not None and not isinstance(value, str):
        raise ControlError(400, f"{name} must be a string or null")
    return value


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ControlError(400, f"{name} must be true or false")
    return value


def _roles(body: dict[str, Any], default: list[str]) -> list[str]:
    value = body.get("roles", default)
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ControlError(400, "roles must be a list of directory role names")
    return list(value)


def _delay_range(value: Any) -> tuple[float, float]:
    valid = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
        and value[0] <= value[1]
    )
    if not valid:
        raise ControlError(
            400, "notification_delay_ms must be [min, max] milliseconds, 0 <= min <= max"
        )
    return (float(value[0]), float(value[1]))
