"""RingCentral presence as data: enums, the computed presenceStatus, bodies, validation, calls.

Nothing here does I/O; routes and the control API share these rules.

Account modes. Legacy accounts carry DND in `dndStatus`. On accounts with RingCentral's
newer communication handling service ("chs"), RingCentral documents `dndStatus` as "not
applicable for User extensions": personal DND is `dndStatusPersonal` and queue calls are
switched by `acceptCallQueueCalls`. Because RingCentral calls it not applicable (rather than
invalid), a chs PUT of `dndStatus` for a User extension is validated and then ignored, and
reads never return it; the product detects the mode from which fields reads carry.

presenceStatus (RingCentral: "aggregated, calculated from a number of sources"), as read here:
Offline when userStatus is Offline; otherwise Busy while any call is active (ringing, connected,
on hold), when userStatus is Busy, or when the user is in DND (DoNotAcceptAnyCalls in the
account's DND field); otherwise Available. Non-User extensions always read Offline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sandbox.model import Org, RcAccountMode, RcExtension
from sandbox.ringcentral.api import invalid_parameter

USER_STATUSES = ("Offline", "Busy", "Available")
DND_STATUSES = (
    "TakeAllCalls",
    "DoNotAcceptDepartmentCalls",
    "TakeDepartmentCallsOnly",
    "DoNotAcceptAnyCalls",
    "Unknown",
)
DND_PERSONAL_STATUSES = ("TakeAllCalls", "DoNotAcceptAnyCalls", "Unknown")
DEPARTMENT_DND = ("DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly")
CALLER_ID_VISIBILITY = ("All", "None", "PermittedUsers")
CALL_ACTIONS = {"ring": "Ringing", "connect": "CallConnected", "hold": "OnHold", "end": "NoCall"}
MAX_MESSAGE = 250  # RingCentral caps custom status messages; longer ones are refused


@dataclass
class PresenceSettings:
    """Presence fields RingCentral stores that the shared model does not carry."""

    message: str = ""
    allow_see_my_presence: bool = True
    ring_on_monitored_call: bool = False
    pick_up_calls_on_hold: bool = False
    caller_id_visibility: str = "All"


def is_user(ext: RcExtension) -> bool:
    """Whether RingCentral keeps real presence for this extension (User extensions only)."""
    return ext.type == "User"


def is_queue_member(org: Org, ext: RcExtension) -> bool:
    """Whether the extension belongs to any call queue."""
    if ext.queue_ids:
        return True
    return any(ext.id in queue.member_ids for queue in org.call_queues.values())


def in_dnd(ext: RcExtension, mode: RcAccountMode) -> bool:
    """Whether the user has switched on Do Not Disturb (no calls at all)."""
    p = ext.presence
    field = p.dnd_status_personal if mode == "chs" else p.dnd_status
    return field == "DoNotAcceptAnyCalls"


def presence_status(ext: RcExtension, mode: RcAccountMode) -> str:
    """RingCentral's computed presenceStatus (see the module docstring)."""
    if not is_user(ext):
        return "Offline"
    p = ext.presence
    if p.user_status == "Offline":
        return "Offline"
    if p.telephony_status != "NoCall" or p.user_status == "Busy" or in_dnd(ext, mode):
        return "Busy"
    return "Available"


def extension_ref(ext: RcExtension, base: str, account_id: str) -> dict[str, Any]:
    """The `extension` object embedded in presence answers."""
    return {
        "id": int(ext.id),
        "uri": f"{base}/restapi/v1.0/account/{account_id}/extension/{ext.id}",
        "extensionNumber": ext.extension_number,
    }


def _calls(ext: RcExtension, sip: bool) -> list[dict[str, Any]]:
    calls = [dict(call) for call in ext.presence.active_calls]
    if sip:
        for call in calls:
            call["sipData"] = {
                "toTag": f"to-{call['id']}",
                "fromTag": f"from-{call['id']}",
                "remoteUri": f"sip:{call.get('from', 'unknown')}@sip.ringcentral.example",
                "localUri": f"sip:{ext.extension_number}@sip.ringcentral.example",
            }
    return calls


def render(
    ext: RcExtension,
    settings: PresenceSettings,
    mode: RcAccountMode,
    base: str,
    account_id: str,
    detailed: bool = False,
    sip: bool = False,
) -> dict[str, Any]:
    """The GET presence body (PresenceInfoResponse) of one extension."""
    body: dict[str, Any] = {
        "uri": f"{base}/restapi/v1.0/account/{account_id}/extension/{ext.id}/presence",
        "extension": extension_ref(ext, base, account_id),
        "presenceStatus": presence_status(ext, mode),
    }
    if not is_user(ext):
        # RingCentral omits telephonyStatus, message, userStatus and dndStatus for these.
        return body
    p = ext.presence
    body.update(
        {
            "telephonyStatus": p.telephony_status,
            "userStatus": p.user_status,
            "meetingStatus": p.meeting_status,
            "message": settings.message,
            "allowSeeMyPresence": settings.allow_see_my_presence,
            "callerIdVisibility": settings.caller_id_visibility,
            "ringOnMonitoredCall": settings.ring_on_monitored_call,
            "pickUpCallsOnHold": settings.pick_up_calls_on_hold,
        }
    )
    if mode == "chs":
        body["dndStatusPersonal"] = p.dnd_status_personal
        body["acceptCallQueueCalls"] = p.accept_call_queue_calls
    else:
        body["dndStatus"] = p.dnd_status
    if detailed:
        body["activeCalls"] = _calls(ext, sip)
    return body


def event_body(
    ext: RcExtension,
    settings: PresenceSettings,
    mode: RcAccountMode,
    owner_id: str,
    detailed: bool,
) -> dict[str, Any]:
    """The `body` of a presence event (DetailedExtensionPresenceEventBody)."""
    p = ext.presence
    body: dict[str, Any] = {
        "extensionId": ext.id,
        "telephonyStatus": p.telephony_status,
        "sequence": p.sequence,
        "presenceStatus": presence_status(ext, mode),
        "userStatus": p.user_status,
        "meetingStatus": p.meeting_status,
        "allowSeeMyPresence": settings.allow_see_my_presence,
        "ringOnMonitoredCall": settings.ring_on_monitored_call,
        "pickUpCallsOnHold": settings.pick_up_calls_on_hold,
        "totalActiveCalls": len(p.active_calls),
        "ownerId": owner_id,
    }
    if mode == "chs":
        body["dndStatusPersonal"] = p.dnd_status_personal
        body["acceptCallQueueCalls"] = p.accept_call_queue_calls
    else:
        body["dndStatus"] = p.dnd_status
    if detailed:
        body["activeCalls"] = _calls(ext, sip=False)
    return body


def _enum(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    if name not in body:
        return None
    value = body[name]
    if value not in allowed:
        raise invalid_parameter(name, value, f"must be one of {', '.join(allowed)}")
    return str(value)


def _flag(body: dict[str, Any], name: str) -> bool | None:
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, bool):
        raise invalid_parameter(name, value, "must be a boolean")
    return value


def validate_update(body: dict[str, Any], ext: RcExtension, org: Org) -> dict[str, Any]:
    """The changes a PresenceInfoRequest asks for, keyed by model field; RcApiError if refused."""
    mode = org.rc_mode
    changes: dict[str, Any] = {}
    user_status = _enum(body, "userStatus", USER_STATUSES)
    dnd = _enum(body, "dndStatus", DND_STATUSES)
    personal = _enum(body, "dndStatusPersonal", DND_PERSONAL_STATUSES)
    accept_queue = _flag(body, "acceptCallQueueCalls")
    visibility = _enum(body, "callerIdVisibility", CALLER_ID_VISIBILITY)
    if "message" in body:
        message = body["message"]
        if not isinstance(message, str) or len(message) > MAX_MESSAGE:
            raise invalid_parameter(
                "message", message, f"must be a string of at most {MAX_MESSAGE}"
            )
        changes["message"] = message
    for name, field in (
        ("allowSeeMyPresence", "allow_see_my_presence"),
        ("ringOnMonitoredCall", "ring_on_monitored_call"),
        ("pickUpCallsOnHold", "pick_up_calls_on_hold"),
    ):
        flag = _flag(body, name)
        if flag is not None:
            changes[field] = flag
    if visibility is not None:
        changes["caller_id_visibility"] = visibility
    if user_status is not None:
        changes["user_status"] = user_status
    if mode == "legacy":
        # Legacy accounts know nothing of the chs fields; RingCentral ignores unknown fields.
        if dnd is not None:
            if dnd in DEPARTMENT_DND and not is_queue_member(org, ext):
                raise invalid_parameter(
                    "dndStatus", dnd, "applicable only for members of a call queue (Department)"
                )
            changes["dnd_status"] = dnd
    else:
        # chs: dndStatus is "not applicable for User extensions", so it is ignored (see above).
        if personal is not None:
            changes["dnd_status_personal"] = personal
        if accept_queue is not None:
            changes["accept_call_queue_calls"] = accept_queue
    return changes


PRESENCE_FIELDS = ("user_status", "dnd_status", "dnd_status_personal", "accept_call_queue_calls")


def apply_update(ext: RcExtension, settings: PresenceSettings, changes: dict[str, Any]) -> bool:
    """Apply validated changes; whether anything actually changed."""
    changed = False
    for field, value in changes.items():
        target: Any = ext.presence if field in PRESENCE_FIELDS else settings
        if getattr(target, field) != value:
            setattr(target, field, value)
            changed = True
    return changed


def apply_call(ext: RcExtension, action: str, queue: bool, now_iso: str) -> bool:
    """Move the extension's (single) inbound call through ring/connect/hold/end.

    Raises ValueError naming the problem; returns whether telephony state changed.
    """
    if action not in CALL_ACTIONS:
        raise ValueError(f"action: must be one of {', '.join(CALL_ACTIONS)}")
    p = ext.presence
    status = CALL_ACTIONS[action]
    if action == "end":
        if not p.active_calls:
            raise ValueError("action: end needs an active call")
        p.active_calls.clear()
        p.telephony_status = "NoCall"
        return True
    if action == "hold" and not p.active_calls:
        raise ValueError("action: hold needs an active call")
    if not p.active_calls:
        session = str(uuid.uuid4().int % 10**11)
        p.active_calls.append(
            {
                "id": f"Y3s{uuid.uuid4().hex[:24]}",
                "direction": "Inbound",
                "from": "+16505550100",
                "fromName": "Caller",
                "to": ext.extension_number,
                "toName": ext.name,
                "startTime": now_iso,
                "telephonyStatus": status,
                "sessionId": session,
                "telephonySessionId": f"s-{uuid.uuid4().hex[:20]}",
                "partyId": f"p-{uuid.uuid4().hex[:20]}-1",
                "queueCall": queue,
            }
        )
    else:
        call = p.active_calls[0]
        if call["telephonyStatus"] == status:
            return False
        call["telephonyStatus"] = status
    p.telephony_status = status
    return True


def inbound_call_route(ext: RcExtension, org: Org, queue: bool) -> tuple[bool, str]:
    """Whether a new inbound call (direct or through a queue) would ring this user, and why."""
    if not is_user(ext) or ext.status != "Enabled":
        return False, f"extension is {ext.type} / {ext.status}, not an enabled user"
    if queue and not is_queue_member(org, ext):
        return False, "not a member of any call queue"
    p = ext.presence
    if org.rc_mode == "chs":
        if p.dnd_status_personal == "DoNotAcceptAnyCalls":
            return False, "dndStatusPersonal is DoNotAcceptAnyCalls"
        if queue and not p.accept_call_queue_calls:
            return False, "acceptCallQueueCalls is false"
        return True, "rings (userStatus does not block calls)"
    dnd = p.dnd_status
    if dnd == "DoNotAcceptAnyCalls":
        return False, "dndStatus is DoNotAcceptAnyCalls"
    if queue and dnd == "DoNotAcceptDepartmentCalls":
        return False, "dndStatus is DoNotAcceptDepartmentCalls"
    if not queue and dnd == "TakeDepartmentCallsOnly":
        return False, "dndStatus is TakeDepartmentCallsOnly"
    return True, "rings (userStatus does not block calls)"
