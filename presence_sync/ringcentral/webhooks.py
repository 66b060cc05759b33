"""RingCentral webhook deliveries: presence events parsed into frozen models.

A body that is not JSON or lacks the envelope fields raises `ValidationError` (answered 400),
and so does any field no genuine event holds: an extension id that is not a number, a
sequence outside 0..2^63-1 (the store's integers), a status that is not a word, a timestamp
outside 2000..2100. Events are verified only after parsing, so this is also what keeps a
forged or corrupted but verified event out of the inbox worker. Events on other topics are
returned as `None`: known but ignored, answered 2xx.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from presence_sync.errors import RingCentralError, ValidationError
from presence_sync.ringcentral.models import RcPresence, parse_time
from presence_sync.untrusted import checked_text, parse_json

__all__ = ["RcPresenceEvent", "is_presence_event", "parse_presence_event"]

MAX_TEXT = 512  # an event path with its query; ids and uuids are far shorter
MAX_SEQUENCE = 2**63 - 1  # RingCentral's counters are 64-bit signed, as the store's integers
MAX_CALLS = 10_000
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
_EXTENSION_ID = re.compile(r"[0-9]{1,20}")  # RingCentral ids are 64-bit numbers
_SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
_STATUS = re.compile(r"[A-Za-z]{1,64}")  # Available, CallConnected, TakeAllCalls, ...

_PRESENCE_EVENT = re.compile(
    r"^/restapi/v1\.0/account/[^/?]+/(?:extension/[^/?]+/)?presence(?:\?.*)?$"
)


@dataclass(frozen=True)
class RcPresenceEvent:
    """One presence event: who, what RingCentral says now, and its sequence number."""

    uuid: str
    subscription_id: str
    event: str
    presence: RcPresence


def is_presence_event(event: str) -> bool:
    """Whether an event filter or event path is about presence (extension or account)."""
    return bool(_PRESENCE_EVENT.match(event))


def _text(payload: dict[str, Any], name: str, shape: re.Pattern[str] | None = None) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"the RingCentral event has no {name}")
    return checked_text(value, f"the RingCentral event's {name}", limit=MAX_TEXT, pattern=shape)


def _checked(presence: RcPresence, content: dict[str, Any]) -> RcPresence:
    """Refuse what no genuine event holds, before it can reach the inbox, store or engine."""
    what = "the RingCentral presence event"
    if not _EXTENSION_ID.fullmatch(presence.extension_id):
        raise ValidationError(f"{what} names an extension id that is not a RingCentral id")
    sequence = content.get("sequence")
    if sequence is not None and (
        not isinstance(sequence, int)
        or isinstance(sequence, bool)
        or not 0 <= sequence <= MAX_SEQUENCE
    ):
        raise ValidationError(f"{what} has a sequence that is not a number from 0 to 2^63-1")
    for name, value in (
        ("userStatus", presence.user_status),
        ("presenceStatus", presence.presence_status),
        ("telephonyStatus", presence.telephony_status),
        ("meetingStatus", presence.meeting_status),
        ("dndStatus", presence.dnd_status),
        ("dndStatusPersonal", presence.dnd_status_personal),
    ):
        if value is not None and not _STATUS.fullmatch(value):
            raise ValidationError(f"{what} has a {name} that is not a RingCentral status")
    if presence.active_calls is not None and not 0 <= presence.active_calls <= MAX_CALLS:
        raise ValidationError(f"{what} has a call count out of range")
    return presence


def _event_time(value: Any) -> float | None:
    """The event's own time (ISO 8601) in epoch seconds; None when absent."""
    if value is None:
        return None
    moment = parse_time(value)
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise ValidationError(
            "the RingCentral event's timestamp is not a time between 2000 and 2100"
        )
    return moment.timestamp()


def parse_presence_event(body: bytes) -> RcPresenceEvent | None:
    """The presence event in a delivery, None for other topics; ValidationError if malformed."""
    payload = parse_json(body, "the RingCentral event")
    if not isinstance(payload, dict):
        raise ValidationError("the RingCentral event is not an object")
    event = _text(payload, "event")
    subscription_id = _text(payload, "subscriptionId", _SUBSCRIPTION_ID)
    if not is_presence_event(event):
        return None
    content = payload.get("body")
    if not isinstance(content, dict):
        raise ValidationError("the RingCentral presence event has no body")
    try:
        presence = _checked(RcPresence.from_json(content), content)
    except RingCentralError as err:
        raise ValidationError(f"the RingCentral presence event is malformed: {err}") from err
    # When RingCentral made the event, not when it reached us: a late echo of our own write
    # must read as older than the writes we made since (DESIGN §4.4).
    presence = replace(presence, reported_at=_event_time(payload.get("timestamp")))
    uuid = payload.get("uuid")
    return RcPresenceEvent(
        uuid=checked_text(uuid, "the RingCentral event's uuid", limit=MAX_TEXT)
        if uuid not in (None, "")
        else "",
        subscription_id=subscription_id,
        event=event,
        presence=presence,
    )
