"""RingCentral webhook deliveries: presence events parsed into frozen models.

A body that is not JSON or lacks the envelope fields raises `ValidationError` (answered 400).
Events on other topics are returned as `None`: known but ignored, answered 2xx.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from presence_sync.errors import RingCentralError, ValidationError
from presence_sync.ringcentral.models import RcPresence, parse_time

__all__ = ["RcPresenceEvent", "is_presence_event", "parse_presence_event"]

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


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"the RingCentral event has no {name}")
    return value



def parse_presence_event(body: bytes) -> RcPresenceEvent | None:
    """The presence event in a delivery, None for other topics; ValidationError if malformed."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValidationError("the RingCentral event is not JSON") from err
    if not isinstance(payload, dict):
        raise ValidationError("the RingCentral event is not an object")
    event = _text(payload, "event")
    subscription_id = _text(payload, "subscriptionId")
    if not is_presence_event(event):
        return None
    content = payload.get("body")
    if not isinstance(content, dict):
        raise ValidationError("the RingCentral presence event has no body")
    try:
        presence = RcPresence.from_json(content)
    except RingCentralError as err:
        raise ValidationError(f"the RingCentral presence event is malformed: {err}") from err
    # When RingCentral made the event, not when it reached us: a late echo of our own write
    # must read as older than the writes we made since (DESIGN §4.4).
    # The event's own time (ISO 8601), in epoch seconds; None when absent or unreadable.
    moment = parse_time(payload.get("timestamp"))
    presence = replace(presence, reported_at=None if moment is None else moment.timestamp())
    return RcPresenceEvent(
        uuid=str(payload.get("uuid") or ""),
        subscription_id=subscription_id,
        event=event,
        presence=presence,
    )
