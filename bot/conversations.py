"""What the bot keeps between turns: conversation references and pending confirmations.

A conversation reference (captured from every activity in a personal chat) is what lets the
bot write to a person later, for their notices; it is stored under their Entra object id.
A confirmation of `sync all` or `disable` lives in the store for ten minutes, can be used
once, and only by the admin who asked for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from presence_sync.store.base import Store

__all__ = ["CONFIRMATION_SECONDS", "Confirmations", "Pending"]

CONFIRMATION_SECONDS = 600.0
_PREFIX = "bot-confirmation:"


@dataclass(frozen=True)
class Pending:
    """A confirmation as its button finds it: what it confirms and who asked."""

    kind: str  # "sync all" | "disable"
    asked_by: str  # the asking admin's Entra object id (or Teams id)
    asked_by_name: str  # how cards name them


class Confirmations:
    """Single-use, expiring confirmations in the store (shared by every replica)."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    async def ask(self, kind: str, asked_by: str, asked_by_name: str) -> str:
        """A new confirmation of `kind`; its token goes into the Confirm and Cancel buttons."""
        token = secrets.token_urlsafe(18)
        expires = self._clock() + CONFIRMATION_SECONDS
        value = {"kind": kind, "by": asked_by, "name": asked_by_name, "expires_at": expires}
        await self._store.put_ephemeral(_PREFIX + token, value, expires)
        return token

    async def take(self, token: str, by: str) -> Pending | str | None:
        """The pending confirmation for its asker (used up now); the asker's name if `by` is
        someone else (it stays pending); None when it expired, was used, or never existed."""
        if not token or len(token) > 64:
            return None
        now = self._clock()
        value = await self._store.take_ephemeral(_PREFIX + token, now)
        if value is None:
            return None
        pending = _pending(value)
        if pending is None:
            return None
        if pending.asked_by != by:
            # Taking is atomic; putting it back keeps it for the admin who asked.
            expires = float(value.get("expires_at", now))
            if expires > now:
                await self._store.put_ephemeral(_PREFIX + token, value, expires)
            return pending.asked_by_name
        return pending


def _pending(value: dict[str, Any]) -> Pending | None:
    kind, by, name = value.get("kind"), value.get("by"), value.get("name")
    if kind not in ("sync all", "disable") or not isinstance(by, str):
        return None
    return Pending(kind, by, str(name or by))
