"""The Graph emulation's own state, beside the shared org, and how routes reach it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.graph.auth import Authenticator, Handler, Permission, endpoint
from sandbox.graph.directory import Directory
from sandbox.graph.hub import PresenceHub
from sandbox.graph.notify import Notifier
from sandbox.graph.subscriptions import SubscriptionBook
from sandbox.graph.throttle import TenantBudget

PREFIX = "/graph/v1.0"


@dataclass
class GraphState:
    """Everything the Graph routes share for one sandbox."""

    ctx: SandboxContext
    authenticator: Authenticator
    budget: TenantBudget
    hub: PresenceHub
    book: SubscriptionBook
    notifier: Notifier
    directory: Directory
    mail: list[dict[str, Any]] = field(default_factory=list)
    installs: dict[str, dict[str, str]] = field(default_factory=dict)  # user id → install → app
    catalog: dict[str, str] = field(default_factory=dict)  # catalog app id → external id

    @classmethod
    def create(cls, ctx: SandboxContext) -> GraphState:
        """Fresh Graph state over `ctx`'s org; presence changes flow to the notifier."""
        book = SubscriptionBook()
        notifier = Notifier(ctx, book)
        hub = PresenceHub(ctx)
        hub.listen(notifier.presence_changed)
        return cls(
            ctx=ctx,
            authenticator=Authenticator(ctx),
            budget=TenantBudget(ctx.clock),
            hub=hub,
            book=book,
            notifier=notifier,
            directory=Directory(ctx.org),
        )

    def add(
        self,
        app: web.Application,
        method: str,
        path: str,
        handler: Handler,
        needed: Permission | None,
        *,
        throttled: bool = True,
    ) -> None:
        """Mount a Graph route under /graph/v1.0 behind auth, permission and throttling."""
        budget = self.budget if throttled else None
        wrapped = endpoint(self.ctx, self.authenticator, budget, handler, needed)
        app.router.add_route(method, PREFIX + path, wrapped)

    def base(self, request: web.Request) -> str:
        """The absolute base URL clients used to reach us (for nextLink and deltaLink)."""
        configured = self.ctx.config.base_url.rstrip("/")
        return configured or str(request.url.origin())
