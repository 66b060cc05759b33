"""The /_sandbox/ringcentral control API: act as users in the RingCentral app, steer limits.

- `POST /_sandbox/ringcentral/{email}/call`
  `{"action": "ring"|"connect"|"hold"|"end", "queue": false}`
- `POST /_sandbox/ringcentral/{email}/presence` `{"userStatus", "dndStatus" | "dndStatusPersonal"
  | "acceptCallQueueCalls", "message"}` (validated exactly like the REST PUT)
- `POST /_sandbox/ringcentral/{email}/inbound-call` `{"queue": bool}` → `{"rings", "reason"}`
- `GET|POST /_sandbox/ringcentral/limits` (`{"enabled": bool, "reset": bool, "app_limits":
  {"Medium": 100}}`: an app-wide cap per group over all users; `{}` lifts it)
- `GET /_sandbox/ringcentral/identities`, `POST /_sandbox/ringcentral/identities`
  `{"email", "edit_presence": true}` (a JWT credential for that user, or a change of their right
  to edit others' presence), `POST /_sandbox/ringcentral/identities/{email}/withdraw` (the
  credential deleted and the user's tokens revoked)
- `GET /_sandbox/ringcentral/subscriptions`, `DELETE /_sandbox/ringcentral/subscriptions/{id}`,
  `POST /_sandbox/ringcentral/subscriptions/{id}/blacklist` (as after failed deliveries)
- `GET|POST /_sandbox/ringcentral/permissions` (`{"account_presence": bool}`: whether the admin
  may subscribe to the account-level presence filter; other users never may)
- `GET /_sandbox/ringcentral/call-queues`, `POST /_sandbox/ringcentral/call-queues/{id}/members`
  `{"add": [email, ...], "remove": [email, ...]}` (an admin editing a queue's members)

Bad input answers 400 `{"error": "..."}` naming the problem; unknown emails 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from aiohttp import web

from sandbox.model import CallQueue, Org, RcAccountMode, RcExtension
from sandbox.ringcentral.api import RcApiError, control_error, iso
from sandbox.ringcentral.state import RC_STATE, RingCentralState
from sandbox.ringcentral.status import (
    apply_call,
    apply_update,
    inbound_call_route,
    is_user,
    presence_status,
    validate_update,
)

PREFIX = "/_sandbox/ringcentral"


class _ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as err:
        raise _ControlError(400, "body: not valid JSON") from err
    if not isinstance(body, dict):
        raise _ControlError(400, "body: must be a JSON object")
    return body


def _extension(state: RingCentralState, request: web.Request) -> RcExtension:
    email = request.match_info["email"]
    ext = state.ctx.org.rc_extension_by_email(email)
    if ext is None:
        raise _ControlError(404, f"no RingCentral extension with email {email}")
    if not is_user(ext):
        raise _ControlError(400, f"{email} is a {ext.type} extension, not a user")
    return ext


def _queue_flag(body: dict[str, Any]) -> bool:
    queue = body.get("queue", False)
    if not isinstance(queue, bool):
        raise _ControlError(400, "queue: must be true or false")
    return queue


def describe_extension(mode: RcAccountMode, ext: RcExtension) -> dict[str, Any]:
    """The extension's presence as /_sandbox/state shows it."""
    p = ext.presence
    return {
        "extensionId": ext.id,
        "userStatus": p.user_status,
        "dndStatus": p.dnd_status,
        "dndStatusPersonal": p.dnd_status_personal,
        "acceptCallQueueCalls": p.accept_call_queue_calls,
        "telephonyStatus": p.telephony_status,
        "presenceStatus": presence_status(ext, mode),
        "sequence": p.sequence,
    }


async def call(request: web.Request) -> web.Response:
    """The user's phone rings, is answered, put on hold or hung up."""
    state = request.app[RC_STATE]
    ext = _extension(state, request)
    body = await _body(request)
    queue = _queue_flag(body)
    try:
        changed = apply_call(ext, str(body.get("action")), queue, iso(state.ctx.clock.now()))
    except ValueError as err:
        raise _ControlError(400, str(err)) from err
    if changed:
        state.presence_changed(ext)
    return web.json_response(describe_extension(state.ctx.org.rc_mode, ext))


async def presence(request: web.Request) -> web.Response:
    """The user changes status or DND in the RingCentral app."""
    state = request.app[RC_STATE]
    ext = _extension(state, request)
    body = await _body(request)
    try:
        changes = validate_update(body, ext, state.ctx.org)
    except RcApiError as err:
        raise _ControlError(400, str(err)) from err
    if apply_update(ext, state.settings_of(ext), changes):
        state.presence_changed(ext)
    return web.json_response(describe_extension(state.ctx.org.rc_mode, ext))


async def restart_sequence(request: web.Request) -> web.Response:
    """RingCentral restarts the extension's presence count: the next change is numbered n + 1."""
    state = request.app[RC_STATE]
    ext = _extension(state, request)
    body = await _body(request)
    sequence = body.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise _ControlError(400, "sequence: must be a whole number, 0 or more")
    ext.presence.sequence = sequence
    return web.json_response(describe_extension(state.ctx.org.rc_mode, ext))


async def inbound_call(request: web.Request) -> web.Response:
    """Whether a new direct or queue call would ring the user right now."""
    state = request.app[RC_STATE]
    ext = _extension(state, request)
    body = await _body(request)
    rings, reason = inbound_call_route(ext, state.ctx.org, _queue_flag(body))
    return web.json_response({"rings": rings, "reason": reason})


async def get_limits(request: web.Request) -> web.Response:
    """Rate-limit configuration and current windows."""
    return web.json_response(request.app[RC_STATE].limiter.snapshot())


async def set_limits(request: web.Request) -> web.Response:
    """Switch rate limits on or off (benchmarks) and optionally forget current windows."""
    limiter = request.app[RC_STATE].limiter
    body = await _body(request)
    unknown = set(body) - {"enabled", "reset", "app_limits"}
    if unknown:
        raise _ControlError(400, f"unknown fields: {sorted(unknown)}")
    for name in ("enabled", "reset"):
        if name in body and not isinstance(body[name], bool):
            raise _ControlError(400, f"{name}: must be true or false")
    if "app_limits" in body:
        caps = body["app_limits"]
        if not isinstance(caps, dict) or any(
            group not in limiter.limits or not isinstance(n, int) or isinstance(n, bool) or n < 1
            for group, n in caps.items()
        ):
            raise _ControlError(
                400, f"app_limits: must map groups {sorted(limiter.limits)} to positive integers"
            )
        limiter.app_limits = dict(caps)
    if "enabled" in body:
        limiter.enabled = body["enabled"]
    if body.get("reset"):
        limiter.reset()
    return web.json_response(limiter.snapshot())


async def list_subscriptions(request: web.Request) -> web.Response:
    """Every live subscription with its delivery counters."""
    state = request.app[RC_STATE]
    now = state.ctx.clock.now()
    records = []
    for sub in state.subscriptions.all():
        info = sub.info(state.base, now)
        info.update(
            {
                "ownerId": sub.owner_id,
                "delivered": sub.delivered,
                "failed": sub.failed,
                "consecutiveFailures": sub.failures,
            }
        )
        records.append(info)
    return web.json_response({"records": records})


async def delete_subscription(request: web.Request) -> web.Response:
    """Remove a subscription behind its owner's back."""
    state = request.app[RC_STATE]
    sub_id = request.match_info["id"]
    if not state.subscriptions.remove(sub_id):
        raise _ControlError(404, f"no subscription {sub_id}")
    return web.json_response({"deleted": sub_id})


async def blacklist_subscription(request: web.Request) -> web.Response:
    """Blacklist a subscription now, as a run of failed or slow deliveries would."""
    state = request.app[RC_STATE]
    sub_id = request.match_info["id"]
    sub = state.subscriptions.get(sub_id)
    if sub is None:
        raise _ControlError(404, f"no subscription {sub_id}")
    state.subscriptions.blacklist(sub)
    return web.json_response(sub.info(state.base, state.ctx.clock.now()))


def _permissions(state: RingCentralState) -> dict[str, Any]:
    subs = state.subscriptions
    admin = state.ctx.org.rc_extensions.get(state.admin_id)
    return {
        "account_presence": subs.account_presence,
        "admin": admin.email if admin is not None else None,
    }


async def get_permissions(request: web.Request) -> web.Response:
    """Who may subscribe to the account-level presence filter."""
    return web.json_response(_permissions(request.app[RC_STATE]))


async def set_permissions(request: web.Request) -> web.Response:
    """Grant or withdraw the admin's right to the account-level presence filter."""
    state = request.app[RC_STATE]
    body = await _body(request)
    unknown = set(body) - {"account_presence"}
    if unknown:
        raise _ControlError(400, f"unknown fields: {sorted(unknown)}")
    if "account_presence" in body:
        if not isinstance(body["account_presence"], bool):
            raise _ControlError(400, "account_presence: must be true or false")
        # Existing subscriptions keep their filters, as when RingCentral changes a role.
        state.subscriptions.account_presence = body["account_presence"]
    return web.json_response(_permissions(state))


def _identities(state: RingCentralState) -> list[dict[str, Any]]:
    out = []
    for identity in state.identities.by_extension.values():
        ext = state.ctx.org.rc_extensions.get(identity.extension_id)
        out.append(
            {
                "extension_id": identity.extension_id,
                "email": ext.email if ext is not None else None,
                "jwt": identity.jwt,
                "edit_presence": identity.edit_presence,
                "withdrawn": identity.withdrawn,
                "refused": state.limiter.refused_by_user.get(identity.extension_id, 0),
                "writes": state.presence_writes_by_user.get(identity.extension_id, 0),
            }
        )
    return out


async def list_identities(request: web.Request) -> web.Response:
    """Every JWT credential of the account, with its user's rights."""
    return web.json_response(_identities(request.app[RC_STATE]))


async def set_identity(request: web.Request) -> web.Response:
    """Issue a JWT credential for a user, or change their right to edit others' presence."""
    state = request.app[RC_STATE]
    body = await _body(request)
    unknown = set(body) - {"email", "edit_presence"}
    if unknown:
        raise _ControlError(400, f"unknown fields: {sorted(unknown)}")
    email = body.get("email")
    if not isinstance(email, str) or not email:
        raise _ControlError(400, "email: the user's email is required")
    edit = body.get("edit_presence", True)
    if not isinstance(edit, bool):
        raise _ControlError(400, "edit_presence: must be true or false")
    ext = state.ctx.org.rc_extension_by_email(email)
    if ext is None:
        raise _ControlError(404, f"no RingCentral extension with email {email}")
    if not is_user(ext):
        raise _ControlError(400, f"{email} is a {ext.type} extension, not a user")
    known = state.identities.by_extension.get(ext.id)
    if known is not None and not known.withdrawn:
        known.edit_presence = edit
    else:
        state.identities.issue(ext.id, edit_presence=edit)
    return web.json_response(next(i for i in _identities(state) if i["extension_id"] == ext.id))


async def withdraw_identity(request: web.Request) -> web.Response:
    """Delete a user's JWT credential and revoke every token they hold."""
    state = request.app[RC_STATE]
    ext = _extension(state, request)
    identity = state.identities.by_extension.get(ext.id)
    if identity is None:
        raise _ControlError(404, f"{ext.email} has no JWT credential")
    identity.withdrawn = True
    revoked = state.tokens.withdraw(ext.id)
    return web.json_response({"extension_id": ext.id, "revoked_tokens": revoked})


def describe_queue(org: Org, queue: CallQueue) -> dict[str, Any]:
    """A call queue with its members' emails, as the control API shows it."""
    members = [org.rc_extensions[m] for m in queue.member_ids if m in org.rc_extensions]
    return {
        "id": queue.id,
        "name": queue.name,
        "extensionNumber": queue.extension_number,
        "members": [m.email or m.id for m in members],
    }


async def list_queues(request: web.Request) -> web.Response:
    """Every call queue and who is in it."""
    org = request.app[RC_STATE].ctx.org
    queues = sorted(org.call_queues.values(), key=lambda q: q.extension_number)
    return web.json_response({"records": [describe_queue(org, q) for q in queues]})


def _emails(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _ControlError(400, f"{name}: must be a list of emails")
    return value


async def edit_queue_members(request: web.Request) -> web.Response:
    """An admin adds people to a call queue or removes them, as in the admin portal."""
    state = request.app[RC_STATE]
    org = state.ctx.org
    queue = org.call_queues.get(request.match_info["id"])
    if queue is None:
        raise _ControlError(404, f"no call queue {request.match_info['id']}")
    body = await _body(request)
    unknown = set(body) - {"add", "remove"}
    if unknown:
        raise _ControlError(400, f"unknown fields: {sorted(unknown)}")
    changes: list[tuple[RcExtension, bool]] = []
    for name, join in (("add", True), ("remove", False)):
        for email in _emails(body, name):
            ext = org.rc_extension_by_email(email)
            if ext is None:
                raise _ControlError(404, f"no RingCentral extension with email {email}")
            if not is_user(ext):
                raise _ControlError(400, f"{email} is a {ext.type} extension, not a user")
            changes.append((ext, join))
    # Validated first, applied after: a refused request changes nothing.
    for ext, join in changes:
        if join:
            if ext.id not in queue.member_ids:
                queue.member_ids.append(ext.id)
            if queue.id not in ext.queue_ids:
                ext.queue_ids.append(queue.id)
        else:
            if ext.id in queue.member_ids:
                queue.member_ids.remove(ext.id)
            if queue.id in ext.queue_ids:
                ext.queue_ids.remove(queue.id)
    return web.json_response(describe_queue(org, queue))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guard(handler: Handler) -> Handler:
    @wraps(handler)
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _ControlError as err:
            return control_error(err.status, str(err))

    return run


def add_routes(app: web.Application) -> None:
    """Mount the control routes."""
    app.router.add_post(f"{PREFIX}/limits", _guard(set_limits))
    app.router.add_get(f"{PREFIX}/limits", _guard(get_limits))
    app.router.add_get(f"{PREFIX}/subscriptions", _guard(list_subscriptions))
    app.router.add_delete(f"{PREFIX}/subscriptions/{{id}}", _guard(delete_subscription))
    app.router.add_post(f"{PREFIX}/subscriptions/{{id}}/blacklist", _guard(blacklist_subscription))
    app.router.add_get(f"{PREFIX}/identities", _guard(list_identities))
    app.router.add_post(f"{PREFIX}/identities", _guard(set_identity))
    app.router.add_post(f"{PREFIX}/identities/{{email}}/withdraw", _guard(withdraw_identity))
    app.router.add_get(f"{PREFIX}/permissions", _guard(get_permissions))
    app.router.add_post(f"{PREFIX}/permissions", _guard(set_permissions))
    app.router.add_get(f"{PREFIX}/call-queues", _guard(list_queues))
    app.router.add_post(f"{PREFIX}/call-queues/{{id}}/members", _guard(edit_queue_members))
    app.router.add_post(f"{PREFIX}/{{email}}/call", _guard(call))
    app.router.add_post(f"{PREFIX}/{{email}}/presence", _guard(presence))
    app.router.add_post(f"{PREFIX}/{{email}}/inbound-call", _guard(inbound_call))
    app.router.add_post(f"{PREFIX}/{{email}}/sequence", _guard(restart_sequence))
