"""The Entra directory as Graph serves it: user JSON, roles, and a change log for delta queries."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from sandbox.model import Org, TeamsUser

# Directory role template ids are the same in every tenant.
ROLE_TEMPLATES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Teams Administrator": "69091246-20e8-4a56-aa4d-066075b2a7a8",
    "Teams Communications Administrator": "baf37b3a-610e-45da-9e62-d9d1e5e8914b",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
}
DEFAULT_USER_FIELDS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
SELECTABLE = frozenset({*DEFAULT_USER_FIELDS, "accountEnabled", "userType", "otherMails"})


def user_json(user: TeamsUser, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A user resource with Graph's default properties, or exactly the `$select`ed ones."""
    given, _, surname = user.display_name.partition(" ")
    full: dict[str, Any] = {
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": user.user_principal_name,
        "id": user.id,
        "accountEnabled": user.account_enabled,
        "userType": "Member",
        "otherMails": [],
    }
    fields = select if select else DEFAULT_USER_FIELDS
    return {name: full[name] for name in fields if name in full}


def role_json(tenant_id: str, name: str) -> dict[str, Any]:
    """A `#microsoft.graph.directoryRole` entry of memberOf."""
    template = ROLE_TEMPLATES.get(name) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"role:{name}"))
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": str(uuid.uuid5(uuid.UUID(template), tenant_id)),
        "deletedDateTime": None,
        "description": f"{name} role",
        "displayName": name,
        "roleTemplateId": template,
    }


def encode_token(data: dict[str, Any]) -> str:
    """An opaque, URL-safe paging or delta token."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    """The data in a token from `encode_token`; ValueError if it is not one of ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as err:
        raise ValueError("token is malformed or expired") from err
    if not isinstance(data, dict):
        raise ValueError("token is malformed or expired")
    return data


class Directory:
    """Looks users up and remembers which users changed at which directory version."""

    def __init__(self, org: Org) -> None:
        self._org = org
        self.version = 0
        self.epoch = 0  # bumped when the control API makes Graph forget every delta token
        self._changed: dict[str, int] = {}
        self._removed: dict[str, int] = {}
        self._by_upn: dict[str, str] | None = None  # lower-case UPN → id, rebuilt on change

    def _upn_index(self) -> dict[str, str]:
        if self._by_upn is None or len(self._by_upn) != len(self._org.teams_users):
            self._by_upn = {
                user.user_principal_name.lower(): user.id for user in self._org.teams_users.values()
            }
        return self._by_upn

    def find(self, key: str) -> TeamsUser | None:
        """A user by object id or userPrincipalName (case-insensitive)."""
        user = self._org.teams_users.get(key) or self._org.teams_users.get(key.lower())
        if user is not None:
            return user
        lowered = key.lower()
        # Lookups by UPN are common (one per user in a sync); a linear scan would not scale.
        found = self._org.teams_users.get(self._upn_index().get(lowered, ""))
        if found is not None and found.user_principal_name.lower() == lowered:
            return found
        return None

    def ordered(self) -> list[TeamsUser]:
        """Users in a stable order, for paging."""
        return list(self._org.teams_users.values())

    def add(self, user: TeamsUser) -> None:
        """Put a new user in the directory."""
        self._org.teams_users[user.id] = user
        self._removed.pop(user.id, None)
        self.touch(user.id)

    def touch(self, user_id: str) -> None:
        """Record that a user's properties changed."""
        self.version += 1
        self._changed[user_id] = self.version
        self._by_upn = None

    def remove(self, user_id: str) -> TeamsUser | None:
        """Delete a user; delta reports it as removed."""
        user = self._org.teams_users.pop(user_id, None)
        if user is not None:
            self.version += 1
            self._changed.pop(user_id, None)
            self._removed[user_id] = self.version
            self._by_upn = None
        return user

    def version_of(self, user_id: str) -> int:
        """The directory version of a user's latest change or removal (0 if never changed)."""
        return self._changed.get(user_id) or self._removed.get(user_id) or 0

    def changes_since(self, version: int) -> list[tuple[str, TeamsUser | None]]:
        """(id, user or None when removed) for every change after `version`, oldest first."""
        events: list[tuple[int, str, TeamsUser | None]] = []
        for user_id, at in self._changed.items():
            user = self._org.teams_users.get(user_id)
            if at > version and user is not None:
                events.append((at, user_id, user))
        for user_id, at in self._removed.items():
            if at > version:
                events.append((at, user_id, None))
        events.sort(key=lambda event: event[0])
        return [(user_id, user) for _, user_id, user in events]
