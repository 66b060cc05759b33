"""RingCentral emulation (being built): REST API, subscriptions, control routes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.model import RcExtension

__all__ = ["describe", "setup"]


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount RingCentral's REST routes and its /_sandbox/ringcentral control routes."""


def describe(ctx: SandboxContext, ext: RcExtension) -> dict[str, Any]:
    """The extension's presence for /_sandbox/state."""
    p = ext.presence
    return {"userStatus": p.user_status, "dndStatus": p.dnd_status, "telephonyStatus": p.telephony_status}
