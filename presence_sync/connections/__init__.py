"""Connections to Microsoft and RingCentral: consent, sync accounts, tokens, health."""

from presence_sync.connections.explain import REQUIRED_ROLES, MissingRole, missing_roles
from presence_sync.connections.outcome import SignInOutcome
from presence_sync.connections.records import (
    HEALTH_ALERT,
    MICROSOFT,
    RINGCENTRAL,
    SYNC_ACCOUNTS,
    ConnectionState,
    sync_account_kind,
    sync_account_upn,
)
from presence_sync.connections.service import RECHECK_INTERVAL, Connections

__all__ = [
    "HEALTH_ALERT",
    "MICROSOFT",
    "RECHECK_INTERVAL",
    "REQUIRED_ROLES",
    "RINGCENTRAL",
    "SYNC_ACCOUNTS",
    "ConnectionState",
    "Connections",
    "MissingRole",
    "SignInOutcome",
    "missing_roles",
    "sync_account_kind",
    "sync_account_upn",
]
