"""How a RingCentral identity (one more user presence writes are spread across) is shown."""

from __future__ import annotations

from typing import Any

from presence_sync.connections import ConnectionState

__all__ = ["identity_json"]


def identity_json(state: ConnectionState) -> dict[str, Any]:
    """One identity's row for the tab and the connection routes."""
    details = state.details
    return {
        "extensionId": details.get("extension_id"),
        "extensionNumber": details.get("extension_number"),
        "name": details.get("name"),
        "email": details.get("email"),
        "mode": details.get("method"),
        "state": state.state,
        "reason": state.reason,
        "since": state.since,
        "fix": state.fix or None,
    }
