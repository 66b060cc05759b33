"""Microsoft Graph emulation: users, presence, subscriptions, notifications, mail, Teams apps."""

from __future__ import annotations

from sandbox.graph.service import GRAPH_STATE, describe, setup

__all__ = ["GRAPH_STATE", "describe", "setup"]
