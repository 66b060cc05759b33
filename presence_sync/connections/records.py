"""The stored connection records: kinds, the status shown to admins, broken-connection alerts.

One `Connection` record per provider link: `microsoft` (the tenant's admin consent),
`microsoft-sync-account:<upn>` (one per delegated sync account, holding that account's slice
of the MSAL token cache), `ringcentral` (the SDK's auth data) and
`ringcentral-identity:<extension id>` (one per extra RingCentral user presence writes are
spread across, holding its JWT credential, if any, and its tokens). Secrets are sealed by the
store. `details.since` is when the state last changed (secret refreshes do not move it);
`details.generation` counts (re)connections, so every replica notices a reconnect and
rebuilds its clients.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from presence_sync.notices.texts import HEALTH_ALERT
from presence_sync.store import (
    SYSTEM,
    AuditDetails,
    AuditEntry,
    Connection,
    ConnectionDetails,
    ConnectionStatus,
    Store,
)
from presence_sync.store.codec import connection_details_to_dict

__all__ = [
    "HEALTH_ALERT",
    "MICROSOFT",
    "RC_IDENTITY_PREFIX",
    "RINGCENTRAL",
    "SYNC_ACCOUNTS",
    "SYNC_ACCOUNT_PREFIX",
    "ConnectionBook",
    "ConnectionState",
    "rc_identity_extension",
    "rc_identity_kind",
    "sync_account_kind",
    "sync_account_upn",
]

logger = logging.getLogger(__name__)

MICROSOFT = "microsoft"
RINGCENTRAL = "ringcentral"
SYNC_ACCOUNT_PREFIX = "microsoft-sync-account:"
RC_IDENTITY_PREFIX = "ringcentral-identity:"
SYNC_ACCOUNTS = "microsoft-sync-accounts"  # the status row shown while there are none
# The key pair Graph encrypts rich presence notifications with (made by watch/certificate.py).
GRAPH_CERTIFICATE = "graph-encryption-certificate"
# Until an admin role directory exists, alerts with no known admin go to this role address,
# which the notice sender resolves to the organisation's admins.
ADMINS_ROLE = "role:admins"

_LABELS = {
    MICROSOFT: "Microsoft (admin consent)",
    SYNC_ACCOUNTS: "Microsoft sync accounts",
    RINGCENTRAL: "RingCentral",
    GRAPH_CERTIFICATE: "Graph notification encryption key",
}
_FIXES = {
    MICROSOFT: "In the Presence Sync tab, step 1: grant admin consent as a Global Administrator",
    RINGCENTRAL: "In the Presence Sync tab, press Connect RingCentral",
}
_SYNC_FIX = "In the Presence Sync tab, step 2: authorise a sync account"
_IDENTITY_FIX = (
    "In the Presence Sync tab's overview, add the RingCentral identity again (its JWT "
    "credential or a sign-in), or remove it"
)


def sync_account_kind(upn: str) -> str:
    """The record kind of a sync account (UPNs are compared case-insensitively)."""
    return f"{SYNC_ACCOUNT_PREFIX}{upn.strip().lower()}"


def sync_account_upn(kind: str) -> str | None:
    """The UPN in a sync-account kind, or None for other kinds."""
    return kind[len(SYNC_ACCOUNT_PREFIX) :] if kind.startswith(SYNC_ACCOUNT_PREFIX) else None


def rc_identity_kind(extension_id: str) -> str:
    """The record kind of an extra RingCentral identity."""
    return f"{RC_IDENTITY_PREFIX}{extension_id.strip()}"


def rc_identity_extension(kind: str) -> str | None:
    """The extension id in an identity kind, or None for other kinds."""
    return kind[len(RC_IDENTITY_PREFIX) :] if kind.startswith(RC_IDENTITY_PREFIX) else None


@dataclass(frozen=True)
class ConnectionState:
    """One connection as an admin sees it: state, why, since when, and how to fix it."""

    kind: str
    label: str
    state: str  # "missing" | "connected" | "broken"
    reason: str | None
    since: float | None
    fix: str
    details: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON form `GET /api/connections` answers."""
        return {
            "kind": self.kind,
            "label": self.label,
            "state": self.state,
            "reason": self.reason,
            "since": self.since,
            # A connected row keeps its fix only while a reason (e.g. a permission) remains.
            "fix": self.fix if self.state != "connected" or self.reason else "",
            "details": dict(self.details),
        }


def _public_details(details: ConnectionDetails) -> dict[str, Any]:
    return {k: v for k, v in connection_details_to_dict(details).items() if k != "generation"}


def state_of(kind: str, record: Connection | None, missing_reason: str) -> ConnectionState:
    """The admin's view of a record (or of its absence)."""
    upn = sync_account_upn(kind)
    label = f"Microsoft sync account {upn}" if upn else _LABELS.get(kind, kind)
    fix = _SYNC_FIX if upn or kind == SYNC_ACCOUNTS else _FIXES.get(kind, "")
    extension = rc_identity_extension(kind)
    if extension is not None:
        who = (record.details.email or record.details.name) if record is not None else None
        label = f"RingCentral identity {who or extension}"
        fix = _IDENTITY_FIX
    if record is None:
        return ConnectionState(kind, label, "missing", missing_reason, None, fix, {})
    since = record.details.since if record.details.since is not None else record.updated_at
    return ConnectionState(
        kind,
        label,
        str(record.status),
        record.reason,
        float(since) if since is not None else None,
        fix,
        _public_details(record.details),
    )


@dataclass
class ConnectionBook:
    """Reads and writes connection records, and raises the alarm when one breaks."""

    store: Store
    clock: Callable[[], float]
    # Refusals the token layer already attributed to the right connection: when a caller
    # reports the same error again, naming only the provider, it is not attributed twice.
    handled: weakref.WeakSet[BaseException] = field(default_factory=weakref.WeakSet)

    def already_handled(self, error: BaseException) -> bool:
        """Whether `error` (or what it wraps) was attributed by the token layer already."""
        seen: BaseException | None = error
        for _ in range(4):
            if seen is None:
                return False
            if seen in self.handled:
                return True
            seen = seen.__cause__ or seen.__context__
        return False

    async def get(self, kind: str) -> Connection | None:
        """The record of a kind."""
        return await self.store.get_connection(kind)

    async def sync_accounts(self) -> list[Connection]:
        """Every sync-account record, ordered by kind."""
        found = await self.store.list_connections()
        return [c for c in found if c.kind.startswith(SYNC_ACCOUNT_PREFIX)]

    async def set_state(
        self,
        kind: str,
        status: ConnectionStatus,
        reason: str | None,
        *,
        details: Mapping[str, Any] | None = None,
        secret: str | None = None,
        reconnected: bool = False,
    ) -> Connection:
        """Record a connection's state; `reconnected` tells other replicas to rebuild clients."""
        now = self.clock()
        old = await self.get(kind)
        merged = (old.details if old else ConnectionDetails()).updated(details or {})
        if old is None or old.status is not status or merged.since is None:
            merged = replace(merged, since=now)
        if reconnected:
            merged = replace(merged, generation=merged.generation + 1)
        record = Connection(
            kind=kind,
            status=status,
            reason=reason,
            details=merged,
            secret=secret if secret is not None else (old.secret if old else None),
            updated_at=now,
        )
        await self.store.put_connection(record)
        if (
            old is not None
            and old.status is ConnectionStatus.BROKEN
            and (status is ConnectionStatus.CONNECTED)
        ):
            # One alert per incident, and one word when it heals.
            await self._alert(kind, reason or "", recovered=True)
        return record

    async def save_secret(self, kind: str, secret: str, *, create: bool) -> bool:
        """Replace a record's secret, keeping its state; False when there is no record."""
        old = await self.get(kind)
        if old is None:
            if not create:
                return False
            old = Connection(
                kind, ConnectionStatus.MISSING, "connecting", ConnectionDetails(since=self.clock())
            )
        await self.store.put_connection(replace(old, secret=secret, updated_at=self.clock()))
        return True

    async def mark_broken(self, kind: str, reason: str, code: str) -> bool:
        """Mark a connection broken and alert the admins; False when it already was broken."""
        old = await self.get(kind)
        if old is None:
            return False  # removed meanwhile: nothing to break
        if old.status is ConnectionStatus.BROKEN:
            return False
        await self.set_state(kind, ConnectionStatus.BROKEN, reason, details={"error": code})
        logger.warning("connection %s broken: %s", kind, code)
        await self.audit("connection-broken", {"connection": kind, "reason": reason})
        await self._alert(kind, reason)
        return True

    async def admins(self) -> list[str]:
        """Who hears about broken connections: the recorded consenting admin, else all admins."""
        microsoft = await self.get(MICROSOFT)
        who = microsoft.details.consented_by if microsoft else None
        return [str(who)] if who else [ADMINS_ROLE]

    async def audit(self, action: str, details: Mapping[str, Any], actor: str = SYSTEM) -> None:
        """Add an entry to the activity log."""
        await self.store.append_audit(
            AuditEntry(at=self.clock(), actor=actor, action=action, details=AuditDetails(details))
        )

    async def _alert(self, kind: str, reason: str, *, recovered: bool = False) -> None:
        state = state_of(kind, await self.get(kind), "")
        news = "works again" if recovered else "is broken"
        await self.tell_admins(
            kind,
            state.label,
            f"Presence Sync: the {state.label} connection {news}",
            recovered=recovered,
            reason=reason,
            fix=state.fix,
            since=state.since,
        )

    async def tell_admins(
        self,
        incident: str,
        label: str,
        subject: str,
        *,
        recovered: bool,
        reason: str = "",
        fix: str = "",
        since: float | None = None,
    ) -> None:
        """Queue a health notice for the admins, in chat: `incident` (a connection kind, or
        "subscriptions") is broken, with `reason` and `fix`, or works again (`recovered`)."""
        payload: dict[str, Any] = {"connection": incident, "label": label, "since": since}
        if recovered:
            payload["state"] = "recovered"
        else:
            payload.update(state="broken", reason=reason, fix=fix)
        for recipient in await self.admins():
            await self.store.enqueue_notice(
                recipient=recipient,
                channel="chat",
                kind=HEALTH_ALERT,
                subject=subject,
                payload=payload,
                now=self.clock(),
            )
