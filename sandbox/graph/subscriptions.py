"""Presence change-notification subscriptions: what they watch, how long they live."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.graph.crypto import EncryptionCertificate
from sandbox.graph.errors import iso_time

MAX_IDS = 650
MAX_LIFETIME = 3600.0  # presence subscriptions live at most one hour
REAUTHORIZE_BEFORE = 600.0  # reauthorizationRequired when this much lifetime is left

_ONE = re.compile(r"^/?communications/presences/(?P<id>[^/?'()\s]+)$", re.IGNORECASE)
_MANY = re.compile(
    r"^/?communications/presences\?\$filter=id\s+in\s+\((?P<ids>.*)\)\s*$", re.IGNORECASE
)
_QUOTED = re.compile(r"^\s*'([^']+)'\s*$")


def parse_resource(resource: Any) -> tuple[str, ...]:
    """The user ids a presence resource names; ValueError naming the problem."""
    if not isinstance(resource, str) or not resource.strip():
        raise ValueError("resource is required")
    text = resource.strip()
    one = _ONE.match(text)
    if one:
        return (one.group("id"),)
    many = _MANY.match(text)
    if not many:
        raise ValueError(
            f"resource {text!r} is not supported: use /communications/presences/{{id}} or"
            " /communications/presences?$filter=id in ('id1','id2')"
        )
    ids: list[str] = []
    for part in many.group("ids").split(","):
        quoted = _QUOTED.match(part)
        if not quoted:
            raise ValueError(f"resource filter has a malformed id: {part.strip()!r}")
        ids.append(quoted.group(1))
    if not ids:
        raise ValueError("resource filter names no ids")
    if len(ids) > MAX_IDS:
        raise ValueError(
            f"resource filter names {len(ids)} ids; a presence subscription holds at most {MAX_IDS}"
        )
    return tuple(dict.fromkeys(ids))


@dataclass
class Subscription:
    """One change-notification subscription as Graph stores it."""

    id: str
    app_id: str
    creator_id: str  # the delegated user who created it
    resource: str
    user_ids: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires_at: float  # sandbox seconds
    renewed_at: float
    include_resource_data: bool = False
    certificate: EncryptionCertificate | None = None
    certificate_b64: str | None = None
    latest_tls: str = "v1_2"
    reauthorization_sent: bool = False
    authorized_at: float = 0.0  # sandbox time of the last token that vouched for it
    suspended: bool = False  # its authorization was revoked: nothing is delivered
    delivered: int = 0
    failed_attempts: int = 0
    abandoned: int = 0
    lifecycle_sent: list[str] = field(default_factory=list)

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The subscription resource as Graph returns it."""
        return {
            "@odata.context": f"{base_url}/graph/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": "updated",
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": iso_time(self.expires_at),
            "creatorId": self.creator_id,
            "includeResourceData": self.include_resource_data,
            "latestSupportedTlsVersion": self.latest_tls,
            "encryptionCertificate": self.certificate_b64,
            "encryptionCertificateId": (
                self.certificate.certificate_id if self.certificate else None
            ),
            "notificationUrlAppId": None,
        }

    def control_view(self, now: float) -> dict[str, Any]:
        """What the control API shows about the subscription, delivery counts included."""
        return {
            "id": self.id,
            "applicationId": self.app_id,
            "creatorId": self.creator_id,
            "users": len(self.user_ids),
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "includeResourceData": self.include_resource_data,
            "expirationDateTime": iso_time(self.expires_at),
            "secondsLeft": round(self.expires_at - now, 1),
            "delivered": self.delivered,
            "failedAttempts": self.failed_attempts,
            "abandoned": self.abandoned,
            "lifecycleSent": list(self.lifecycle_sent),
            "suspended": self.suspended,
        }


class SubscriptionBook:
    """All live subscriptions, indexed by id and by watched user."""

    def __init__(self) -> None:
        self._by_id: dict[str, Subscription] = {}
        self._by_user: dict[str, set[str]] = {}

    def __iter__(self) -> Iterator[Subscription]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    @staticmethod
    def new_id() -> str:
        """A fresh subscription id."""
        return str(uuid.uuid4())

    def add(self, sub: Subscription) -> None:
        """Store a validated subscription."""
        self._by_id[sub.id] = sub
        for user_id in sub.user_ids:
            self._by_user.setdefault(user_id, set()).add(sub.id)

    def get(self, sub_id: str) -> Subscription | None:
        """The live subscription with this id."""
        return self._by_id.get(sub_id)

    def remove(self, sub_id: str) -> Subscription | None:
        """Forget a subscription; returns it if it existed."""
        sub = self._by_id.pop(sub_id, None)
        if sub is not None:
            for user_id in sub.user_ids:
                ids = self._by_user.get(user_id)
                if ids is not None:
                    ids.discard(sub_id)
                    if not ids:
                        del self._by_user[user_id]
        return sub

    def watching(self, user_id: str, now: float) -> list[Subscription]:
        """Unexpired, unsuspended subscriptions that include `user_id`."""
        subs = (self._by_id[sub_id] for sub_id in self._by_user.get(user_id, ()))
        return [sub for sub in subs if sub.expires_at > now and not sub.suspended]

    def of_creator(self, app_id: str, creator_id: str) -> Subscription | None:
        """The app's presence subscription created by `creator_id`, if any."""
        for sub in self._by_id.values():
            if sub.app_id == app_id and sub.creator_id == creator_id:
                return sub
        return None

    def visible_to(self, app_id: str, user_id: str | None) -> list[Subscription]:
        """Subscriptions GET /subscriptions lists: the app's, or the delegated user's for it."""
        return [
            sub
            for sub in self._by_id.values()
            if sub.app_id == app_id and (user_id is None or sub.creator_id == user_id)
        ]

    def expire(self, now: float) -> list[Subscription]:
        """Remove and return subscriptions whose time is up."""
        gone = [sub for sub in self._by_id.values() if sub.expires_at <= now]
        for sub in gone:
            self.remove(sub.id)
        return gone

    def newly_suspended(self, revoked_after: float) -> list[Subscription]:
        """Suspend subscriptions authorised before a revocation; lift it if that was undone."""
        hit = []
        for sub in self._by_id.values():
            revoked = sub.authorized_at < revoked_after
            if revoked and not sub.suspended:
                hit.append(sub)
            sub.suspended = revoked
        return hit

    def needing_reauthorization(self, now: float) -> list[Subscription]:
        """Subscriptions with a lifecycle URL that just entered their last minutes."""
        due = []
        for sub in self._by_id.values():
            if sub.reauthorization_sent or not sub.lifecycle_url:
                continue
            # Short-lived subscriptions get the warning halfway, not the moment they start.
            lead = min(REAUTHORIZE_BEFORE, (sub.expires_at - sub.renewed_at) / 2)
            if sub.expires_at - now <= lead:
                sub.reauthorization_sent = True
                due.append(sub)
        return due
