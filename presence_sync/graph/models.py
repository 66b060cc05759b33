"""What Microsoft Graph answers, as frozen values; parsing lives here so clients never pass dicts.

Parsers are lenient about what Graph adds over time (unknown fields are ignored, unknown enum
values kept as text) and strict about what the product relies on (a user or presence without
an `id` is a malformed answer: `GraphError`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from presence_sync.errors import GraphError

__all__ = [
    "PRESENCE_BATCH",
    "SESSION_MAX",
    "SESSION_MIN",
    "DeltaPage",
    "DirectoryRole",
    "GraphUser",
    "InstalledApp",
    "Presence",
    "Subscription",
    "collection_values",
    "format_time",
    "iso_duration",
    "parse_time",
    "presence_resource",
    "presence_resource_ids",
    "presence_subscription_body",
    "session_duration",
]

PRESENCE_BATCH = 650  # getPresencesByUserId and subscription resources take at most 650 ids
SESSION_MIN = dt.timedelta(minutes=5)  # setPresence's expirationDuration range
SESSION_MAX = dt.timedelta(hours=4)


def parse_time(text: Any) -> dt.datetime:
    """An aware UTC datetime from Graph's ISO-8601 (up to 7 fractional digits, Z or offset)."""
    if not isinstance(text, str) or not text.strip():
        raise GraphError(f"expected an ISO-8601 timestamp, got {text!r}")
    cleaned = text.strip()
    if cleaned[-1] in "Zz":
        cleaned = cleaned[:-1] + "+00:00"
    if "." in cleaned:
        # Graph writes 7 fractional digits; Python reads at most 6.
        head, _, tail = cleaned.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        rest = tail[len(digits) :]
        cleaned = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        moment = dt.datetime.fromisoformat(cleaned)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError) as err:  # OverflowError: past year 9999 once in UTC
        raise GraphError(f"expected an ISO-8601 timestamp, got {text!r}") from err


def format_time(moment: dt.datetime) -> str:
    """Graph's request format for a timestamp: ISO-8601 UTC with a Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and value else None


def _required(item: Any, name: str, what: str) -> str:
    if not isinstance(item, dict):
        raise GraphError(f"malformed {what}: expected an object")
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise GraphError(f"malformed {what}: missing {name}")
    return value


@dataclass(frozen=True)
class GraphUser:
    """An Entra ID user as the product needs it: identity and the addresses used for matching."""

    id: str
    display_name: str | None
    user_principal_name: str | None
    mail: str | None
    account_enabled: bool | None  # None when not selected

    @classmethod
    def from_json(cls, item: Any) -> GraphUser:
        """Parse one `user` resource."""
        user_id = _required(item, "id", "user")
        enabled = item.get("accountEnabled")
        return cls(
            id=user_id,
            display_name=_text(item, "displayName"),
            user_principal_name=_text(item, "userPrincipalName"),
            mail=_text(item, "mail"),
            account_enabled=enabled if isinstance(enabled, bool) else None,
        )

    @property
    def emails(self) -> frozenset[str]:
        """The lower-cased addresses RingCentral contacts are matched against."""
        return frozenset(a.lower() for a in (self.user_principal_name, self.mail) if a)


@dataclass(frozen=True)
class DeltaPage:
    """One complete round of `/users/delta`: changes, removals and the link for next time."""

    users: tuple[GraphUser, ...]
    removed_ids: tuple[str, ...]
    delta_link: str
    full: bool = False  # lists everyone (first round, or Graph forgot the old link's state)


@dataclass(frozen=True)
class DirectoryRole:
    """An activated directory role a user holds (e.g. Global Administrator)."""

    id: str
    display_name: str | None
    role_template_id: str | None

    @classmethod
    def from_json(cls, item: Any) -> DirectoryRole:
        """Parse one `directoryRole` entry of `memberOf`."""
        return cls(
            id=_required(item, "id", "directoryRole"),
            display_name=_text(item, "displayName"),
            role_template_id=_text(item, "roleTemplateId"),
        )


@dataclass(frozen=True)
class Presence:
    """A Teams user's aggregated presence; enum values are kept as Graph sent them."""

    id: str
    availability: str
    activity: str
    sequence_number: str | None = None  # sorts in version order, compare as text per length
    status_message: str | None = None
    out_of_office: bool = False

    @classmethod
    def from_json(cls, item: Any) -> Presence:
        """Parse one `presence` resource (also the decrypted body of a rich notification)."""
        user_id = _required(item, "id", "presence")
        message = item.get("statusMessage")
        text = None
        if isinstance(message, dict):
            body = message.get("message")
            if isinstance(body, dict) and isinstance(body.get("content"), str):
                text = body["content"] or None
        ooo = item.get("outOfOfficeSettings")
        sequence = item.get("sequenceNumber")
        return cls(
            id=user_id,
            availability=_text(item, "availability") or "PresenceUnknown",
            activity=_text(item, "activity") or "PresenceUnknown",
            sequence_number=str(sequence) if sequence not in (None, "") else None,
            status_message=text,
            out_of_office=bool(isinstance(ooo, dict) and ooo.get("isOutOfOffice")),
        )


@dataclass(frozen=True)
class Subscription:
    """A Graph change-notification subscription."""

    id: str
    resource: str
    change_type: str
    notification_url: str
    expiration: dt.datetime
    client_state: str | None = None
    lifecycle_notification_url: str | None = None
    include_resource_data: bool = False
    encryption_certificate_id: str | None = None
    creator_id: str | None = None  # the delegated user (sync account) who owns it

    @classmethod
    def from_json(cls, item: Any) -> Subscription:
        """Parse one `subscription` resource."""
        return cls(
            id=_required(item, "id", "subscription"),
            resource=_required(item, "resource", "subscription"),
            change_type=_text(item, "changeType") or "updated",
            notification_url=_required(item, "notificationUrl", "subscription"),
            expiration=parse_time(item.get("expirationDateTime")),
            client_state=_text(item, "clientState"),
            lifecycle_notification_url=_text(item, "lifecycleNotificationUrl"),
            include_resource_data=bool(item.get("includeResourceData")),
            encryption_certificate_id=_text(item, "encryptionCertificateId"),
            creator_id=_text(item, "creatorId"),
        )

    @property
    def user_ids(self) -> tuple[str, ...]:
        """The user ids a presence subscription's resource names, in order."""
        return presence_resource_ids(self.resource)


@dataclass(frozen=True)
class InstalledApp:
    """The product's Teams app installed in a user's personal scope."""

    id: str
    teams_app_id: str | None

    @classmethod
    def from_json(cls, item: Any) -> InstalledApp:
        """Parse one `userScopeTeamsAppInstallation`, with `teamsApp` or `teamsAppDefinition`."""
        install_id = _required(item, "id", "installed app")
        app_id = None
        for key in ("teamsApp", "teamsAppDefinition"):
            nested = item.get(key)
            if isinstance(nested, dict):
                app_id = _text(nested, "id") if key == "teamsApp" else _text(nested, "teamsAppId")
                if app_id:
                    break
        return cls(id=install_id, teams_app_id=app_id)


def presence_resource(user_ids: list[str] | tuple[str, ...]) -> str:
    """The subscription resource for presence of `user_ids` (one id, or a filter of up to 650)."""
    if len(user_ids) == 1:
        return f"/communications/presences/{user_ids[0]}"
    quoted = ",".join(f"'{uid}'" for uid in user_ids)
    return f"/communications/presences?$filter=id in ({quoted})"


def presence_resource_ids(resource: str) -> tuple[str, ...]:
    """The user ids named by a presence subscription resource (inverse of `presence_resource`)."""
    path, _, query = resource.partition("?")
    if not query:
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        return (tail,) if tail and tail != "presences" else ()
    start, end = query.find("("), query.rfind(")")
    if start < 0 or end < start:
        return ()
    parts = (p.strip().strip("'\"") for p in query[start + 1 : end].split(","))
    return tuple(p for p in parts if p)


def presence_subscription_body(
    *,
    user_ids: Sequence[str],
    notification_url: str,
    lifecycle_notification_url: str | None,
    client_state: str,
    expiration: dt.datetime,
    include_resource_data: bool,
    certificate: str | None,
    certificate_id: str | None,
) -> dict[str, Any]:
    """The JSON creating a presence subscription; ValueError when Graph would refuse it."""
    if not 0 < len(user_ids) <= PRESENCE_BATCH:
        raise ValueError(f"a presence subscription covers 1 to {PRESENCE_BATCH} users")
    body: dict[str, Any] = {
        "changeType": "updated",
        "resource": presence_resource(list(user_ids)),
        "notificationUrl": notification_url,
        "clientState": client_state,
        "expirationDateTime": format_time(expiration),
        "includeResourceData": include_resource_data,
    }
    if lifecycle_notification_url:
        body["lifecycleNotificationUrl"] = lifecycle_notification_url
    if include_resource_data:
        if not certificate or not certificate_id:
            raise ValueError("rich notifications need an encryption certificate and its id")
        body["encryptionCertificate"] = certificate
        body["encryptionCertificateId"] = certificate_id
    return body


def collection_values(page: Any) -> list[Any]:
    """The `value` list of a Graph collection answer."""
    values = page.get("value") if isinstance(page, dict) else None
    if not isinstance(values, list):
        raise GraphError("Graph answered a collection without a value list")
    return values


def iso_duration(span: dt.timedelta) -> str:
    """An ISO-8601 duration (PT#H#M#S) for Graph's expirationDuration."""
    total = max(0, int(span.total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    text += f"{seconds}S" if seconds or total == 0 else ""
    return text


def session_duration(span: dt.timedelta) -> str:
    """setPresence's expirationDuration for `span`, clamped to Graph's 5 minutes to 4 hours."""
    return iso_duration(min(max(span, SESSION_MIN), SESSION_MAX))
