"""RingCentral users the product may authorise as: JWT credentials and presence-editing rights.

RingCentral counts API calls per (user, app), so a product writing many people's presence can
grow its capacity by authorising as several users, each holding the permission to edit other
extensions' presence. The account's admin (the first enabled User extension) has a JWT
credential from the start (`SandboxConfig.rc_jwt`); the control API issues credentials for
other users (`POST /_sandbox/ringcentral/identities`), grants or withdraws their right to edit
others' presence, and withdraws a credential altogether (its tokens die with it, as when
RingCentral disables a user or deletes the credential).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import jwt

__all__ = ["Identities", "Identity"]


@dataclass
class Identity:
    """One user's JWT credential and rights."""

    extension_id: str
    jwt: str
    edit_presence: bool = True  # may edit other extensions' presence
    withdrawn: bool = False  # the credential was deleted or the user disabled


@dataclass
class Identities:
    """The JWT credentials of the sandbox's RingCentral account, by extension id."""

    token_url: str
    app_client_id: str
    by_extension: dict[str, Identity] = field(default_factory=dict)

    def add_owner(self, extension_id: str, credential: str) -> None:
        """Register the admin's credential (the one in the sandbox config)."""
        self.by_extension[extension_id] = Identity(extension_id, credential)

    def issue(self, extension_id: str, *, edit_presence: bool = True) -> Identity:
        """A new JWT credential for `extension_id` (replacing a withdrawn or earlier one)."""
        key = secrets.token_urlsafe(32)
        credential = jwt.encode(
            {
                "aud": self.token_url,
                "sub": extension_id,
                "iss": self.app_client_id,
                "jti": secrets.token_urlsafe(9),
            },
            key,
            algorithm="HS256",
        )
        identity = Identity(extension_id, credential, edit_presence)
        self.by_extension[extension_id] = identity
        return identity

    def owner_of(self, credential: str) -> str | None:
        """The extension a (not withdrawn) JWT credential speaks for, or None."""
        for identity in self.by_extension.values():
            if not identity.withdrawn and secrets.compare_digest(identity.jwt, credential):
                return identity.extension_id
        return None

    def may_edit_others(self, extension_id: str) -> bool:
        """Whether tokens of `extension_id` may change other extensions' presence."""
        identity = self.by_extension.get(extension_id)
        return identity is not None and identity.edit_presence and not identity.withdrawn
