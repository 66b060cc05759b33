"""Sync running against the HTTPS sandbox: real clients, a real store, the real service.

`SandboxProviders` is the smallest `Providers`: the product's own Graph and RingCentral
clients pointed at the sandbox (its RingCentral budget clock runs on sandbox time, so a
time-scaled sandbox's shorter windows are read correctly). `SyncHarness` runs a `SyncService`
on a store and offers what a person or a watcher would do: change presence through the
sandbox's control API, report what Graph and RingCentral show now, and wait for sync to settle.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from presence_sync.admin import Admin
from presence_sync.graph.client import GraphClient
from presence_sync.providers import REALTIME, RcWriter
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.ringcentral.limits import RateLimits
from presence_sync.store.base import Store
from presence_sync.store.models import LinkState, RcObservation, TeamsObservation, UserLink
from presence_sync.sync.service import SyncService
from presence_sync.tasks import Supervisor
from tests.graph.client_sandbox import ClientSandbox

SYNC_ACCOUNT = "sync1@contoso.example"


async def until(
    check: Callable[[], Awaitable[bool]], limit: float = 180.0, step: float = 0.05
) -> None:
    """Return once `check()` is true; fail the test after `limit` seconds (a liveness bound
    generous enough for a loaded 2-core machine, not a speed target)."""
    deadline = time.monotonic() + limit
    for _ in range(int(limit / step) + 1):
        if await check():
            return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {limit} s")


@dataclass
class SandboxProviders:
    """Providers backed by real clients against the sandbox."""

    graph_client: GraphClient
    rc_client: RingCentralClient
    accounts: list[str] = field(default_factory=lambda: [SYNC_ACCOUNT])
    failures: list[tuple[str, str]] = field(default_factory=list)
    extra_writers: list[RcWriter] = field(default_factory=list)

    async def graph(self) -> GraphClient:
        """The Graph client."""
        return self.graph_client

    async def ringcentral(self) -> RingCentralClient:
        """The RingCentral client."""
        return self.rc_client

    async def ringcentral_writers(self) -> list[RcWriter]:
        """The RingCentral client, then any extra identities."""
        return [RcWriter("ringcentral", self.rc_client), *self.extra_writers]

    async def sync_accounts(self) -> list[str]:
        """The sync accounts."""
        return list(self.accounts)

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Remember reported failures for assertions."""
        self.failures.append((provider, str(error)))


def sandbox_providers(sb: ClientSandbox) -> SandboxProviders:
    """Real clients over one session trusting the sandbox CA."""
    session = sb.product_session()
    clock = sb.ctx.clock
    rc = sb.rc_client(session, limits=RateLimits(clock=clock.now), max_retry_wait=120.0)
    return SandboxProviders(sb.graph_client(session), rc)


@dataclass
class SyncHarness:
    """A running SyncService plus the moves of people and watchers."""

    sb: ClientSandbox
    store: Store
    providers: SandboxProviders
    service: SyncService
    supervisor: Supervisor
    admin: Admin
    stopped: bool = False

    async def stop(self) -> None:
        """Stop the loops, then the service (unsent writes handed back), once."""
        if not self.stopped:
            self.stopped = True
            await self.supervisor.stop()
            await self.service.stop()

    @property
    def clock(self) -> Callable[[], float]:
        """Sandbox time."""
        return self.sb.ctx.clock.now

    async def link(self, email: str) -> UserLink:
        """The stored link of one person."""
        link = await self.store.get_link_by_email(email)
        assert link is not None, email
        return link

    async def observe(self, email: str, priority: int = REALTIME) -> None:
        """Read both presences like a watcher's poll, store them and mark the user dirty."""
        link = await self.link(email)
        assert link.teams_user_id
        assert link.rc_extension_id
        teams = await self.providers.graph_client.get_presence(link.teams_user_id)
        rc = await self.providers.rc_client.get_presence(link.rc_extension_id)
        now = self.clock()
        await self.store.record_teams_observation(
            link.id, TeamsObservation(teams.availability, teams.activity, "", now)
        )
        await self.store.record_rc_observation(
            link.id,
            RcObservation(
                rc.user_status,
                rc.dnd_status,
                rc.dnd_status_personal,
                rc.accept_call_queue_calls,
                rc.telephony_status,
                None,
                now,
            ),
        )
        await self.store.mark_dirty(link.id, priority=priority, due_at=now, reason="observed")
        self.service.reconciler.wake()

    async def settle(self, quiet: float = 0.3, limit: float = 20.0) -> None:
        """Wait until no decision or write has happened for `quiet` seconds."""
        deadline = time.monotonic() + limit
        last = (-1, -1)
        calm_since = time.monotonic()
        while time.monotonic() < deadline:
            now = (self.service.reconciler.decisions, self.service.dispatcher.sent)
            if now != last or not self.service.dispatcher.idle:
                last = now
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= quiet:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("sync did not settle")

    async def observe_and_settle(self, email: str) -> None:
        """Observe one person, let sync act, and observe again so echoes are seen too."""
        await self.observe(email)
        await self.settle()
        await self.observe(email)
        await self.settle()

    async def teams(self, email: str) -> tuple[str, str]:
        """Teams presence (availability, activity) as Graph reports it now."""
        link = await self.link(email)
        p = await self.providers.graph_client.get_presence(link.teams_user_id or "")
        return p.availability, p.activity

    async def rc(self, email: str) -> dict[str, Any]:
        """RingCentral presence fields as RingCentral reports them now."""
        link = await self.link(email)
        p = await self.providers.rc_client.get_presence(link.rc_extension_id or "")
        return {
            "userStatus": p.user_status,
            "dndStatus": p.dnd_status,
            "telephonyStatus": p.telephony_status,
        }

    async def linked_people(self, limit: int = 10_000) -> list[UserLink]:
        """Linked users, by id."""
        page = await self.store.list_links(state=LinkState.LINKED, limit=limit)
        return list(page.links)

    async def plain_user(self) -> str:
        """A linked user who is Available on both sides (not an admin or sync account)."""
        for link in await self.linked_people():
            if link.email.startswith(("admin", "teams.admin", "sync")):
                continue
            if await self.teams(link.email) == ("Available", "Available"):
                rc = await self.rc(link.email)
                if rc["userStatus"] == "Available" and rc["dndStatus"] == "TakeAllCalls":
                    return link.email
        raise AssertionError("no plain user in the org")
