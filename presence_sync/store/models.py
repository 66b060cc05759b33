"""The records the store keeps: frozen dataclasses, the same for every store implementation."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Union

__all__ = [
    "AuditDetails",
    "AuditEntry",
    "AuditValue",
    "Connection",
    "ConnectionDetails",
    "ConnectionStatus",
    "DirtyEntry",
    "Due",
    "Job",
    "JobFailure",
    "JobStatus",
    "Lease",
    "LinkPage",
    "LinkState",
    "Notice",
    "NoticeStatus",
    "OrgSettings",
    "RcObservation",
    "StartRefusal",
    "Subscription",
    "SubscriptionDetails",
    "SyncMode",
    "TeamsObservation",
    "UserLink",
    "normalise_email",
    "sequence_key",
]

JsonDict = dict[str, Any]


def normalise_email(value: str | None) -> str:
    """The form emails are matched in: trimmed and lower-case."""
    return (value or "").strip().lower()


_DIGITS = re.compile(r"(\d+)")


def sequence_key(sequence: str) -> str:
    """A key whose string order is the version order of `sequence` ("1.10" after "1.9")."""
    parts = []
    for piece in _DIGITS.split(sequence.strip()):
        if piece.isdigit():
            digits = piece.lstrip("0") or "0"
            # Length first, so that longer numbers sort after shorter ones as text.
            parts.append(f"{len(digits):03d}{digits}")
        else:
            parts.append(piece)
    return "".join(parts)


class LinkState(StrEnum):
    """Whether a Teams user and a RingCentral extension were matched."""

    LINKED = "linked"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class TeamsObservation:
    """Teams presence as last read from Graph."""

    availability: str
    activity: str
    sequence: str  # Graph's sequence number: compared in version order; "" for polled reads
    observed_at: float


@dataclass(frozen=True)
class RcObservation:
    """RingCentral presence as last read from a notification or a GET."""

    user_status: str | None
    dnd_status: str | None
    dnd_status_personal: str | None
    accept_call_queue_calls: bool | None
    telephony_status: str | None
    sequence: int | None  # notifications carry one; polled reads do not
    observed_at: float
    # A read confirmed this numbered event when it came (its number was out of bounds): the
    # number is RingCentral's count from now on, even if lower than the one before.
    verified: bool = False


@dataclass(frozen=True)
class UserLink:
    """One person as both platforms know them, with what we last saw on each side."""

    id: str
    email: str  # normalised on construction
    display_name: str = ""
    teams_user_id: str | None = None
    upn: str | None = None
    mail: str | None = None
    rc_extension_id: str | None = None
    rc_extension_number: str | None = None
    sync_enabled: bool = False
    state: LinkState = LinkState.LINKED
    reason_code: str | None = None  # why unmatched, machine-readable ("no_rc_extension")
    reason: str | None = None  # why unmatched, for people
    last_error: str | None = None
    teams: TeamsObservation | None = None
    rc: RcObservation | None = None
    # The last RingCentral sequence number the store took (kept while reads replace `rc`).
    rc_sequence: int | None = None
    # Owned by the sync engine: what we applied on each side and the values it replaced.
    engine_state: Mapping[str, Any] = field(default_factory=dict)
    engine_version: int = 0
    updated_at: float = 0.0
    # When the reconciler must next look at this person: at once after an observation it has
    # not decided on yet, later for the engine's own timer; None when nothing is due.
    due_at: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))
        object.__setattr__(self, "state", LinkState(self.state))


@dataclass(frozen=True)
class Due:
    """How `Store.set_engine_state` moves a link's due time along with its state.

    `seen` is the due time the decision read; `next` the engine's next timer (None: none).
    When the stored due time is still `seen`, it becomes `next`; when an observation moved
    it meanwhile, the earlier of the two is kept, so a mark made after the read is not lost.
    """

    seen: float | None
    next: float | None


# Fields of a link that `Store.update_link` may change; observations and engine state have
# their own conditional writes.
LINK_PATCHABLE = frozenset(
    {
        "email",
        "display_name",
        "teams_user_id",
        "upn",
        "mail",
        "rc_extension_id",
        "rc_extension_number",
        "sync_enabled",
        "state",
        "reason_code",
        "reason",
        "last_error",
    }
)
# Fields a bulk upsert overwrites on existing links: identity and matching outcome only,
# so re-reading the directory never resets sync flags, observations or engine state.
LINK_IDENTITY = frozenset(LINK_PATCHABLE - {"sync_enabled", "last_error"})


@dataclass(frozen=True)
class LinkPage:
    """One page of links and the cursor for the next page (None at the end)."""

    links: tuple[UserLink, ...]
    next_cursor: str | None


class SyncMode(StrEnum):
    """Whether the organisation syncs at all."""

    ENABLED = "enabled"
    DISABLED = "disabled"


@dataclass(frozen=True)
class OrgSettings:
    """Organisation-wide sync settings; `version` guards concurrent edits."""

    sync_mode: SyncMode = SyncMode.ENABLED
    call_presence_customisation: bool = False
    rules: Mapping[str, str] = field(default_factory=dict)  # Teams state -> rule name
    preserve_during_inactivity: bool = False
    version: int = 0  # 0: never saved


class ConnectionStatus(StrEnum):
    """Health of a connection to a provider."""

    CONNECTED = "connected"
    BROKEN = "broken"
    MISSING = "missing"


def _tuple(value: Any) -> Any:
    # Lists arrive from JSON and from callers; a frozen record keeps tuples.
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class ConnectionDetails:
    """What a connection record notes besides its state; None where nothing was noted.

    `since`, `generation` and `error` belong to every kind. The rest is noted by one kind
    each: Microsoft admin consent (`tenant` to `checked_at`), a sync account (`upn` to
    `scopes`), RingCentral (`owner_id` to `connected_at`) and the notification certificate
    (`certificate_id` to `thumbprint`); `method` says how Microsoft or RingCentral was
    connected. Stored as JSON with these names as keys.
    """

    since: float | None = None  # when the state last changed (secret refreshes do not move it)
    generation: int = 0  # counts (re)connections, so every replica rebuilds its clients
    error: str | None = None  # code of the refusal that last broke the connection
    method: str | None = None  # "admin-consent", "detected (...)", "jwt", "oauth"
    tenant: str | None = None
    consented_at: float | None = None
    consented_by: str | None = None
    consented_by_source: str | None = None
    roles: tuple[str, ...] | None = None  # app roles the consent grants
    missing: tuple[str, ...] | None = None  # app roles the product needs and lacks
    checked_at: float | None = None
    upn: str | None = None
    object_id: str | None = None
    authorised_at: float | None = None
    scopes: tuple[str, ...] | None = None
    owner_id: str | None = None
    extension_id: str | None = None
    extension_number: str | None = None
    name: str | None = None
    email: str | None = None
    authorised_by: str | None = None
    connected_at: float | None = None
    certificate_id: str | None = None
    certificate: str | None = None  # base64 DER; the private key is the record's secret
    thumbprint: str | None = None

    def __post_init__(self) -> None:
        for name in ("roles", "missing", "scopes"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))

    def updated(self, changes: Mapping[str, Any]) -> ConnectionDetails:
        """These details with `changes` (field name to value; None clears) applied."""
        unknown = set(changes) - CONNECTION_DETAIL_FIELDS
        if unknown:
            raise ValueError(f"not connection details: {', '.join(sorted(unknown))}")
        return replace(self, **changes)


CONNECTION_DETAIL_FIELDS = frozenset(f.name for f in fields(ConnectionDetails))


@dataclass(frozen=True)
class Connection:
    """A connection to Microsoft, a Microsoft sync account or RingCentral."""

    kind: str  # "microsoft" | "microsoft-sync-account:<upn>" | "ringcentral"
    status: ConnectionStatus
    reason: str | None = None
    details: ConnectionDetails = field(default_factory=ConnectionDetails)
    secret: str | None = field(default=None, repr=False)  # plaintext here, sealed at rest
    updated_at: float = 0.0


@dataclass(frozen=True)
class SubscriptionDetails:
    """What a subscription covers beyond its resource. Stored as JSON with these names."""

    user_ids: tuple[str, ...] = ()  # Graph: the Teams users in its filter
    filter: str | None = None  # RingCentral: "account" or "extensions"
    extensions: tuple[str, ...] = ()  # RingCentral extension filter: the extensions listed
    account_refused_at: float | None = None  # RingCentral: when the account filter was refused

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_ids", tuple(str(i) for i in self.user_ids))
        object.__setattr__(self, "extensions", tuple(str(e) for e in self.extensions))


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription at a provider."""

    provider: str  # "graph" | "ringcentral"
    id: str
    resource: str
    expires_at: float
    shard_key: str | None = None
    client_state: str | None = field(default=None, repr=False)  # sealed at rest
    owner: str | None = None  # e.g. the sync account whose token created it
    details: SubscriptionDetails = field(default_factory=SubscriptionDetails)
    updated_at: float = 0.0


class JobStatus(StrEnum):
    """Where a bulk job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class JobFailure:
    """One user a job could not handle, and why."""

    user: str
    reason: str


@dataclass(frozen=True)
class Job:
    """A bulk job (sync all, unsync, directory refresh) that survives restarts."""

    id: str
    kind: str
    requested_by: str
    status: JobStatus
    total: int = 0
    processed: int = 0
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0
    failures: tuple[JobFailure, ...] = ()
    cursor: str | None = None  # where a resumed run continues
    params: Mapping[str, Any] = field(default_factory=dict)
    lease_owner: str | None = None
    lease_until: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None

    @property
    def active(self) -> bool:
        """True while the job is queued or running."""
        return self.status in ACTIVE_JOB_STATUSES


@dataclass(frozen=True)
class DirtyEntry:
    """A user whose state needs reconciling, and how urgently (lower priority = sooner)."""

    user_key: str
    priority: int
    due_at: float
    reason: str
    claimed_by: str | None = None
    claimed_until: float | None = None


class NoticeStatus(StrEnum):
    """Delivery state of a notice."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Notice:
    """A message to a person (job report, "now synced", health alert) awaiting delivery."""

    id: str
    recipient: str
    channel: str  # "email" | "chat"
    kind: str
    subject: str
    payload: Mapping[str, Any]
    status: NoticeStatus = NoticeStatus.PENDING
    attempts: int = 0
    reason: str | None = None
    claimed_by: str | None = None
    claimed_until: float | None = None
    next_attempt_at: float = 0.0
    created_at: float = 0.0
    delivered_at: float | None = None


AuditValue = Union[str, int, float, bool, None, tuple["AuditValue", ...], "AuditDetails"]
"""One value in audit details: JSON, with lists as tuples and objects as `AuditDetails`."""


def _frozen(value: Any) -> AuditValue:
    if value is None or isinstance(value, str | int | float | AuditDetails):
        return value  # bool is an int
    if isinstance(value, Mapping):
        return AuditDetails(value)
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    raise TypeError(f"audit details hold JSON values, not {type(value).__name__}")


class AuditDetails(Mapping[str, AuditValue]):
    """The facts an audit entry notes, frozen: each action notes its own.

    They differ per action (a write notes what was sent, its cause, result and priority; a
    job its id; a connection its reason) and are read back only for display and reports,
    so they stay an open mapping of JSON values. Nested objects become `AuditDetails` and
    lists tuples, so an entry cannot change once written.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        merged = {**(items or {}), **more}
        self._items: dict[str, AuditValue] = {str(k): _frozen(v) for k, v in merged.items()}

    def __getitem__(self, key: str) -> AuditValue:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"AuditDetails({self._items!r})"


# The actor of what the product does by itself (presence writes, re-checks, broken
# connections); an admin's own actions name the admin as they signed in.
SYSTEM = "system"


@dataclass(frozen=True)
class AuditEntry:
    """Something an admin or the product did, for the activity log."""

    at: float
    actor: str  # the signed-in admin's email (or object id), the bot's sender, or SYSTEM
    action: str
    user: str | None = None
    details: AuditDetails = field(default_factory=AuditDetails)
    id: str = ""  # assigned by the store


@dataclass(frozen=True)
class Lease:
    """A named lease: who runs a singleton loop, until when."""

    name: str
    owner: str
    until: float


@dataclass(frozen=True)
class StartRefusal:
    """Why a start was not counted (`RecordStore.count_start`), and when one may follow."""

    busy: bool  # the scope holds as many starts as it may: a new caller was turned away
    free_at: float  # when the oldest start in the caller's way leaves its window
