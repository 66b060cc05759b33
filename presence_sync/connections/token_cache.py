"""MSAL's serialized token cache cut into one slice per sync account, and put back together.

MSAL keeps every signed-in account in one JSON document (sections `Account`, `AccessToken`,
`RefreshToken`, `IdToken`, `AppMetadata`, entries tagged with `home_account_id`). Storing one
slice per sync account in that account's own record means removing an account deletes its
refresh token with it, and two replicas refreshing different accounts never overwrite each
other's tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["accounts_in", "merge_slices", "slice_for"]

_SHARED_SECTIONS = ("AppMetadata",)  # not tied to an account: kept in every slice


def _load(serialized: str | None) -> dict[str, dict[str, Any]]:
    if not serialized:
        return {}
    parsed = json.loads(serialized)
    return parsed if isinstance(parsed, dict) else {}


def _home_ids(cache: dict[str, dict[str, Any]], upn: str) -> set[str]:
    wanted = upn.strip().lower()
    return {
        str(entry.get("home_account_id"))
        for entry in cache.get("Account", {}).values()
        if str(entry.get("username", "")).lower() == wanted
    }


def accounts_in(serialized: str | None) -> list[str]:
    """Lower-cased user names of the accounts in a serialized cache."""
    cache = _load(serialized)
    names = {str(e.get("username", "")).lower() for e in cache.get("Account", {}).values()}
    return sorted(n for n in names if n)


def slice_for(serialized: str | None, upn: str) -> str | None:
    """The part of a serialized cache that belongs to `upn`; None when it holds no such account."""
    cache = _load(serialized)
    homes = _home_ids(cache, upn)
    if not homes:
        return None
    piece: dict[str, dict[str, Any]] = {}
    for section, entries in cache.items():
        if not isinstance(entries, dict):
            continue
        if section in _SHARED_SECTIONS:
            piece[section] = dict(entries)
            continue
        kept = {k: v for k, v in entries.items() if v.get("home_account_id") in homes}
        if kept:
            piece[section] = kept
    return json.dumps(piece, sort_keys=True)


def merge_slices(slices: Iterable[str | None]) -> str | None:
    """One serialized cache holding every slice (None when there are none)."""
    merged: dict[str, dict[str, Any]] = {}
    for serialized in slices:
        for section, entries in _load(serialized).items():
            if isinstance(entries, dict):
                merged.setdefault(section, {}).update(entries)
    return json.dumps(merged) if merged else None
