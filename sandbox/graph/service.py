"""Mounting the Microsoft Graph emulation on the sandbox app, and its background clocks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.graph.apps import setup_apps
from sandbox.graph.batch import setup_batch
from sandbox.graph.control import setup_control
from sandbox.graph.errors import GraphRequestError, error_response, new_request_id
from sandbox.graph.mail import setup_mail
from sandbox.graph.presence import setup_presence
from sandbox.graph.state import PREFIX, GraphState
from sandbox.graph.subscription_api import setup_subscriptions
from sandbox.graph.users import setup_users
from sandbox.graph.view import describe as describe_user
from sandbox.model import TeamsUser

logger = logging.getLogger(__name__)

GRAPH_STATE = web.AppKey("sandbox_graph_state", GraphState)
SUBSCRIPTION_TICK_REAL = 0.1  # how often expiry and reauthorization are checked, in real seconds


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount Graph's /graph/v1.0 routes and its /_sandbox control routes on `app`."""
    state = GraphState.create(ctx)
    app[GRAPH_STATE] = state
    setup_users(app, state)
    setup_presence(app, state)
    setup_subscriptions(app, state)
    setup_mail(app, state)
    setup_apps(app, state)
    setup_control(app, state)
    setup_batch(app, state)
    # Last, so it only answers what no Graph route above matched.
    app.router.add_route("*", PREFIX + "/{tail:.*}", _unknown_segment)
    app.cleanup_ctx.append(_background(state))


async def _unknown_segment(request: web.Request) -> web.StreamResponse:
    """Graph answers paths it does not know with 400 naming the segment, not a bare 404."""
    segment = request.match_info["tail"].split("/")[0] or "v1.0"
    err = GraphRequestError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    return error_response(request, err, new_request_id())


def describe(ctx: SandboxContext, user: TeamsUser) -> dict[str, Any]:
    """The user's Teams presence for /_sandbox/state."""
    return describe_user(ctx, user)


def _background(
    state: GraphState,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def running(app: web.Application) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(state.hub.run(), name="graph-presence-sweeper"),
            asyncio.create_task(_subscription_clock(state), name="graph-subscription-clock"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await state.notifier.close()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return running


async def _subscription_clock(state: GraphState) -> None:
    """Expire subscriptions and warn their owners before they lapse."""
    while True:
        now = state.ctx.clock.now()
        for sub in state.book.expire(now):
            logger.info("subscription %s expired", sub.id)
        for sub in state.book.needing_reauthorization(now):
            state.notifier.lifecycle(sub, "reauthorizationRequired")
        for sub in state.book.newly_suspended(state.ctx.entra_tokens.revoked_after):
            logger.info("subscription %s suspended: its authorization was revoked", sub.id)
            state.notifier.lifecycle(sub, "reauthorizationRequired")
        await asyncio.sleep(SUBSCRIPTION_TICK_REAL)
