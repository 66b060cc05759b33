"""RingCentral emulation: OAuth and its sign-in page, extensions, presence, subscriptions,
limits, control routes.

Mounted under `/ringcentral/restapi/...` (SDK server URL `{base_url}/ringcentral`) and
`/_sandbox/ringcentral/...`. See the modules for the rules each part emulates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.model import RcExtension
from sandbox.ringcentral import control, extensions, oauth, presence, signin, subscriptions
from sandbox.ringcentral.control import describe_extension
from sandbox.ringcentral.state import RC_STATE, RingCentralState

__all__ = ["RC_STATE", "RingCentralState", "describe", "setup"]


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount RingCentral's REST routes and its /_sandbox/ringcentral control routes."""
    state = RingCentralState.create(ctx)
    app[RC_STATE] = state
    oauth.add_routes(app)
    signin.add_routes(app)
    extensions.add_routes(app)
    presence.add_routes(app)
    subscriptions.add_routes(app)
    control.add_routes(app)

    async def deliveries(_app: web.Application) -> AsyncIterator[None]:
        yield
        await state.subscriptions.close()

    app.cleanup_ctx.append(deliveries)


def describe(ctx: SandboxContext, ext: RcExtension) -> dict[str, Any]:
    """The extension's presence for /_sandbox/state."""
    # describe() has no app at hand; the fields it shows live on the shared model.
    return describe_extension(ctx.org.rc_mode, ext)
