"""The sandbox organisation: a Microsoft 365 tenant and a RingCentral account side by side.

The two directories are separate, as they are in the cloud; people are matched by email only
by the product. The Graph emulation owns `TeamsUser.presence`; the RingCentral emulation owns
`RcExtension.presence`. Everything is mutated on the event loop only, so no locking is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RcAccountMode = Literal["legacy", "chs"]  # chs: RingCentral's communication handling service

# Entra's directory role template ids (the same in every tenant); tokens name roles by these
# in `wids`, while the sandbox model keeps display names.
ROLE_TEMPLATE_IDS = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Teams Administrator": "69091246-20e8-4a56-aa4d-066075b2a7a8",
}


@dataclass
class TeamsSession:
    """One presence session of a Teams user: the Teams client's own, or an app's (setPresence)."""

    session_id: str  # "teams-client" for the user's own client, else the app's client id
    availability: str
    activity: str
    expires_at: float | None  # sandbox clock seconds; None = lives while the client is signed in


@dataclass
class PreferredPresence:
    """setUserPreferredPresence: overrides all sessions while any session exists."""

    availability: str
    activity: str
    expires_at: float | None


@dataclass
class TeamsPresence:
    """Raw presence inputs of one Teams user; Graph's aggregation is computed from these."""

    sessions: dict[str, TeamsSession] = field(default_factory=dict)
    preferred: PreferredPresence | None = None
    in_meeting: bool = False
    in_call: bool = False
    in_conference_call: bool = False
    sequence: int = 0  # bumped on every change of the aggregated presence


@dataclass
class TeamsUser:
    """An Entra ID user with a Teams licence."""

    id: str  # object id (GUID)
    display_name: str
    user_principal_name: str
    mail: str | None
    account_enabled: bool = True
    roles: list[str] = field(default_factory=list)  # directory role display names
    presence: TeamsPresence = field(default_factory=TeamsPresence)

    def role_template_ids(self) -> list[str]:
        """The template ids of the user's directory roles Entra knows (a token's `wids`)."""
        return [ROLE_TEMPLATE_IDS[r] for r in self.roles if r in ROLE_TEMPLATE_IDS]


@dataclass
class RcPresence:
    """RingCentral presence of one extension, as RingCentral stores it."""

    user_status: str = "Available"  # Offline | Busy | Available
    dnd_status: str = "TakeAllCalls"  # legacy accounts
    dnd_status_personal: str = "TakeAllCalls"  # communication handling service accounts
    accept_call_queue_calls: bool = True  # communication handling service accounts
    telephony_status: str = "NoCall"  # NoCall | CallConnected | Ringing | OnHold | ParkedCall
    meeting_status: str = "Disconnected"
    active_calls: list[dict[str, object]] = field(default_factory=list)
    sequence: int = 0  # bumped on every change; carried in presence events


@dataclass
class RcExtension:
    """A RingCentral extension."""

    id: str  # numeric string
    extension_number: str
    name: str
    email: str | None  # contact.email
    type: str = "User"  # User | Department | Announcement | ...
    status: str = "Enabled"  # Enabled | Disabled | NotActivated
    queue_ids: list[str] = field(default_factory=list)  # call queues this extension belongs to
    presence: RcPresence = field(default_factory=RcPresence)


@dataclass
class CallQueue:
    """A RingCentral call queue (a Department extension) and its members."""

    id: str
    name: str
    extension_number: str
    member_ids: list[str] = field(default_factory=list)


@dataclass
class Org:
    """Both directories of one organisation."""

    tenant_id: str
    tenant_domain: str  # e.g. contoso.example
    rc_account_id: str
    rc_mode: RcAccountMode = "legacy"
    teams_users: dict[str, TeamsUser] = field(default_factory=dict)  # by object id
    rc_extensions: dict[str, RcExtension] = field(default_factory=dict)  # by extension id
    call_queues: dict[str, CallQueue] = field(default_factory=dict)

    def teams_user_by_email(self, email: str) -> TeamsUser | None:
        """The Teams user whose UPN or mail equals `email`, case-insensitively."""
        wanted = email.strip().lower()
        for user in self.teams_users.values():
            if user.user_principal_name.lower() == wanted:
                return user
        for user in self.teams_users.values():
            if user.mail and user.mail.lower() == wanted:
                return user
        return None

    def rc_extension_by_email(self, email: str) -> RcExtension | None:
        """The RingCentral User extension whose contact email equals `email`."""
        wanted = email.strip().lower()
        for ext in self.rc_extensions.values():
            if ext.email and ext.email.lower() == wanted:
                return ext
        return None
