"""What RingCentral answers, as frozen values; parsing lives here so clients never pass dicts.

Presence carries the fields of both account modes: legacy accounts report `dndStatus`;
accounts on RingCentral's communication handling service report `dndStatusPersonal` and
`acceptCallQueueCalls` instead. Whichever are absent stay None, which is how the engine tells
the modes apart (`RcPresence.mode`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal

from presence_sync.errors import RingCentralError

__all__ = [
    "CallQueue",
    "CallQueueMember",
    "Extension",
    "RcPresence",
    "RcSubscription",
    "parse_batch_presences",
]

logger = logging.getLogger(__name__)

AccountMode = Literal["legacy", "chs"]


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    return text or None


def _id(item: Any, name: str, what: str) -> str:
    if not isinstance(item, dict):
        raise RingCentralError(f"malformed {what}: expected an object")
    value = item.get(name)
    # RingCentral gives ids as numbers in REST answers and as strings in event bodies.
    if isinstance(value, bool) or value in (None, ""):
        raise RingCentralError(f"malformed {what}: missing {name}")
    return str(value)


def parse_time(text: Any) -> dt.datetime | None:
    """An aware UTC datetime from RingCentral's ISO-8601 (`2026-01-01T00:00:00.000Z`)."""
    if not isinstance(text, str) or not text:
        return None
    cleaned = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = dt.datetime.fromisoformat(cleaned)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 at +14:00, year 9999 at -14:00
        return None


@dataclass(frozen=True)
class Extension:
    """A RingCentral extension and the contact email users are matched by."""

    id: str
    extension_number: str | None
    name: str | None
    email: str | None
    type: str
    status: str
    admin: bool = False  # holds an admin role (needed to edit other extensions' presence)

    @classmethod
    def from_json(cls, item: Any) -> Extension:
        """Parse one extension record."""
        ext_id = _id(item, "id", "extension")
        contact = item.get("contact")
        email = _text(contact, "email") if isinstance(contact, dict) else None
        permissions = item.get("permissions")
        admin = permissions.get("admin") if isinstance(permissions, dict) else None
        return cls(
            admin=isinstance(admin, dict) and admin.get("enabled") is True,
            id=ext_id,
            extension_number=_text(item, "extensionNumber"),
            name=_text(item, "name"),
            email=email.lower() if email else None,
            type=_text(item, "type") or "Unknown",
            status=_text(item, "status") or "Unknown",
        )


@dataclass(frozen=True)
class CallQueue:
    """A call queue (a Department extension) as the call-queue list gives it."""

    id: str
    name: str | None
    extension_number: str | None

    @classmethod
    def from_json(cls, item: Any) -> CallQueue:
        """Parse one call-queue list record."""
        return cls(
            id=_id(item, "id", "call queue"),
            name=_text(item, "name"),
            extension_number=_text(item, "extensionNumber"),
        )


@dataclass(frozen=True)
class CallQueueMember:
    """One member of a call queue: the member's extension id, number and name."""

    id: str
    extension_number: str | None
    name: str | None

    @classmethod
    def from_json(cls, item: Any) -> CallQueueMember:
        """Parse one call-queue member record."""
        return cls(
            id=_id(item, "id", "call queue member"),
            extension_number=_text(item, "extensionNumber"),
            name=_text(item, "name"),
        )


@dataclass(frozen=True)
class RcPresence:
    """An extension's presence, from a REST read or a presence event body."""

    extension_id: str
    user_status: str | None = None
    presence_status: str | None = None
    telephony_status: str | None = None
    meeting_status: str | None = None
    dnd_status: str | None = None  # legacy accounts
    dnd_status_personal: str | None = None  # communication handling service accounts
    accept_call_queue_calls: bool | None = None  # communication handling service accounts
    sequence: int | None = None  # present in events, absent in REST reads
    active_calls: int | None = None  # when detailed telephony state was asked for
    # When RingCentral reported it (epoch s): an event's own timestamp, or for a REST read the
    # moment it was asked for (set by the reader; the answer is no older than that, but may be
    # much newer: retried, or held back for its budget).
    reported_at: float | None = None

    @property
    def mode(self) -> AccountMode:
        """Which account mode the fields show."""
        if self.dnd_status_personal is not None or self.accept_call_queue_calls is not None:
            return "chs"
        return "legacy"

    @property
    def in_call(self) -> bool:
        """Whether a call is ringing, connected or on hold."""
        return self.telephony_status in {"CallConnected", "Ringing", "OnHold"}

    @classmethod
    def from_json(cls, item: Any, extension_id: str | None = None) -> RcPresence:
        """Parse a PresenceInfoResponse or a presence event body."""
        if not isinstance(item, dict):
            raise RingCentralError("malformed presence: expected an object")
        ext = item.get("extension")
        if extension_id is None:
            if isinstance(ext, dict) and ext.get("id") not in (None, ""):
                extension_id = str(ext["id"])
            else:
                extension_id = _id(item, "extensionId", "presence")
        accept = item.get("acceptCallQueueCalls")
        sequence = item.get("sequence")
        calls = item.get("activeCalls")
        total = item.get("totalActiveCalls")
        if isinstance(calls, list):
            active: int | None = len(calls)
        elif isinstance(total, int) and not isinstance(total, bool):
            active = total
        else:
            active = None
        return cls(
            extension_id=extension_id,
            user_status=_text(item, "userStatus"),
            presence_status=_text(item, "presenceStatus"),
            telephony_status=_text(item, "telephonyStatus"),
            meeting_status=_text(item, "meetingStatus"),
            dnd_status=_text(item, "dndStatus"),
            dnd_status_personal=_text(item, "dndStatusPersonal"),
            accept_call_queue_calls=accept if isinstance(accept, bool) else None,
            sequence=sequence
            if isinstance(sequence, int) and not isinstance(sequence, bool)
            else None,
            active_calls=active,
        )


@dataclass(frozen=True)
class RcSubscription:
    """A RingCentral webhook subscription."""

    id: str
    status: str
    event_filters: tuple[str, ...]
    expiration: dt.datetime | None
    expires_in: int | None
    address: str | None
    blacklisted: bool = False

    @classmethod
    def from_json(cls, item: Any) -> RcSubscription:
        """Parse a SubscriptionInfo."""
        sub_id = _id(item, "id", "subscription")
        filters = item.get("eventFilters")
        delivery = item.get("deliveryMode")
        expires_in = item.get("expiresIn")
        status = _text(item, "status") or "Unknown"
        return cls(
            id=sub_id,
            status=status,
            event_filters=tuple(str(f) for f in filters) if isinstance(filters, list) else (),
            expiration=parse_time(item.get("expirationTime")),
            expires_in=expires_in if isinstance(expires_in, int) else None,
            address=_text(delivery, "address") if isinstance(delivery, dict) else None,
            blacklisted=status == "Blacklisted" or "blacklistedData" in item,
        )

    @property
    def usable(self) -> bool:
        """Whether RingCentral still delivers to it (active, not blacklisted)."""
        return self.status == "Active" and not self.blacklisted


def parse_batch_presences(status: int, content_type: str, body: bytes) -> list[RcPresence]:
    """Presences from a batch GET answer, in either 207 form RingCentral documents.

    `multipart/mixed` (the default): a first part `{"response": [{"status", ...}]}` then one
    JSON part per id; `application/vnd.ringcentral.multipart+json`: one array of
    `{"resourceId", "status", "body"}`. Ids RingCentral could not read are left out.
    """
    if status == 200:
        # A one-id "batch" is a plain answer.
        return [RcPresence.from_json(_json(body))]
    if content_type.startswith("multipart/"):
        parts = _multipart_parts(content_type, body)
        statuses = parts[0].get("response") if parts and isinstance(parts[0], dict) else None
        if not isinstance(statuses, list) or len(statuses) != len(parts) - 1:
            raise RingCentralError("malformed multipart presence answer")
        items = [
            (s.get("status") if isinstance(s, dict) else None, part)
            for s, part in zip(statuses, parts[1:], strict=True)
        ]
    else:
        data = _json(body)
        if not isinstance(data, list):
            raise RingCentralError("malformed batch presence answer")
        items = [(d.get("status"), d.get("body")) for d in data if isinstance(d, dict)]
    found: list[RcPresence] = []
    for item_status, item in items:
        if item_status == 200 and isinstance(item, dict):
            found.append(RcPresence.from_json(item))
        else:
            logger.info("ringcentral batch presence item answered %s", item_status)
    return found


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as err:
        raise RingCentralError("RingCentral answered with a body that is not JSON") from err


def _multipart_parts(content_type: str, body: bytes) -> list[Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts: list[Any] = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        parts.append(_json(payload) if isinstance(payload, bytes) and payload else None)
    return parts
