"""What the product needs from Microsoft, and provider refusals in words an admin understands.

Entra and RingCentral answer with codes (`access_denied`, `AADSTS65004`, `invalid_grant`);
the admin sees a sentence saying what happened and what to do next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from presence_sync.graph import EntraError
from presence_sync.ringcentral import RingCentralTokenError

__all__ = [
    "ESSENTIAL_ROLES",
    "REQUIRED_ROLES",
    "MissingRole",
    "explain_entra",
    "explain_entra_error",
    "explain_ringcentral",
    "missing_roles",
]


@dataclass(frozen=True)
class MissingRole:
    """An application permission the tenant did not grant, and what it is needed for."""

    name: str
    purpose: str
    essential: bool

    def sentence(self) -> str:
        """`Presence.ReadWrite.All — to show RingCentral calls as In a call in Teams`."""
        return f"{self.name} — {self.purpose}"


# Application permissions of the product's Entra app and why each is asked for.
REQUIRED_ROLES: dict[str, str] = {
    "User.Read.All": "to read the directory and match Teams users to RingCentral users by email",
    "Presence.Read.All": "to read Teams presence of users no subscription covers (polling)",
    "Presence.ReadWrite.All": "to show RingCentral calls as In a call in Teams",
    "Directory.Read.All": "to read admin roles, so only admins can change sync settings",
    "Mail.Send": "to email admins job reports and health alerts",
    "TeamsAppInstallation.ReadWriteSelfForUser.All": (
        "to add the app for synced users so they get their notices in chat"
    ),
}
# Without these, sync cannot work at all; the others only switch a feature off.
ESSENTIAL_ROLES = frozenset({"User.Read.All", "Presence.Read.All", "Presence.ReadWrite.All"})


def missing_roles(granted: Iterable[str]) -> list[MissingRole]:
    """The required permissions absent from `granted`, essential ones first."""
    have = set(granted)
    missing = [
        MissingRole(name, purpose, name in ESSENTIAL_ROLES)
        for name, purpose in REQUIRED_ROLES.items()
        if name not in have
    ]
    return sorted(missing, key=lambda m: not m.essential)


_AADSTS = re.compile(r"AADSTS(\d+)")

# By AADSTS code first (most precise), then by OAuth error.
_BY_CODE = {
    65004: "The administrator declined to grant consent, so nothing was changed. To connect, "
    "start again and choose Accept.",
    90094: "This account cannot grant consent for the organisation. Sign in with a Global "
    "Administrator (or a Privileged Role Administrator).",
    65001: "Your organisation has not granted Presence Sync consent yet (or withdrew it). An "
    "administrator must complete step 1, admin consent, first.",
    700016: "Presence Sync is not (or no longer) consented to in your organisation. An "
    "administrator must grant admin consent again (step 1).",
    50057: "The Microsoft account is disabled in Entra ID. Enable it, or use another account.",
    50173: "Microsoft revoked the sign-in (a password change, or sign-out everywhere). "
    "Authorise the account again.",
    70000: "The stored Microsoft sign-in is no longer valid. Authorise the account again.",
    700082: "The stored Microsoft sign-in expired after a long time unused. Authorise the "
    "account again.",
    7000215: "Microsoft refused the app's client secret (MICROSOFT_CLIENT_SECRET is wrong or "
    "expired). Create a new secret in the Entra app registration and update the setting.",
    50034: "That Microsoft account does not exist in your organisation.",
}
_BY_ERROR = {
    "access_denied": "The sign-in was cancelled or refused, so nothing was changed.",
    "consent_required": _BY_CODE[65001],
    "unauthorized_client": _BY_CODE[700016],
    "invalid_client": _BY_CODE[7000215],
    "invalid_grant": _BY_CODE[70000],
    "interaction_required": "Microsoft needs the account to sign in again. Authorise it again.",
    "no_account": "This sync account has no stored sign-in. Authorise it again.",
    "state_mismatch": "This sign-in answer does not belong to the sign-in that was started. "
    "Start again from the Presence Sync tab.",
}


def explain_entra(error: str, description: str = "", codes: Iterable[int] = ()) -> str:
    """A sentence for an Entra refusal (its `error`, `error_description`, `error_codes`)."""
    all_codes = [*codes, *(int(c) for c in _AADSTS.findall(description))]
    for code in all_codes:
        if code in _BY_CODE:
            return _BY_CODE[code]
    if error in _BY_ERROR:
        return _BY_ERROR[error]
    # Unknown: Entra's own first sentence, without its trace and correlation ids.
    first = description.split(" Trace ID:")[0].strip()
    return f"Microsoft refused ({error}): {first}" if first else f"Microsoft refused ({error})."


def explain_entra_error(err: EntraError) -> str:
    """A sentence for an `EntraError`."""
    return explain_entra(err.code, err.description, err.error_codes)


def explain_ringcentral(err: RingCentralTokenError) -> str:
    """A sentence for a refused RingCentral token call."""
    if err.code == "invalid_client":
        return (
            "RingCentral refused the app credentials (RINGCENTRAL_CLIENT_ID / "
            "RINGCENTRAL_CLIENT_SECRET). Check them in the RingCentral developer console."
        )
    if err.code in ("invalid_grant", "unauthorized_client", "access_denied"):
        return (
            "RingCentral refused the stored sign-in (revoked, expired, or the JWT credential "
            "was withdrawn). Press Connect RingCentral again; if that fails, create a new JWT "
            "credential and update RINGCENTRAL_JWT."
        )
    return f"RingCentral refused the sign-in ({err.code}): {err.description}".rstrip(": ")
