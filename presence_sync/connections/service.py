"""`Connections`: the product's `Providers`, its admin-facing status, and the re-check loop.

Every replica reads the connection records from the store on each `graph()` / `ringcentral()`
call, so a connection one replica marks broken (or an admin reconnects) is seen by all of them
at once; the clients themselves are built once per replica and rebuilt on reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from presence_sync.connections.explain import explain_entra_error, explain_ringcentral
from presence_sync.connections.microsoft import MicrosoftConnection
from presence_sync.connections.rc_identities import RcIdentities
from presence_sync.connections.records import (
    MICROSOFT,
    RC_IDENTITY_PREFIX,
    RINGCENTRAL,
    SYNC_ACCOUNTS,
    ConnectionBook,
    ConnectionState,
    state_of,
    sync_account_kind,
    sync_account_upn,
)
from presence_sync.connections.ringcentral import ReportingRingCentralAuth, RingCentralConnection
from presence_sync.errors import GraphError, PresenceSyncError
from presence_sync.graph import EntraError, GraphClient
from presence_sync.graph.auth import GraphToken
from presence_sync.providers import NotConnectedError, RcWriter
from presence_sync.ringcentral import RingCentralClient, RingCentralTokenError
from presence_sync.ringcentral.errors import RingCentralPermissionError
from presence_sync.ringcentral.models import Extension
from presence_sync.settings import Settings
from presence_sync.store import SYSTEM, ConnectionStatus, Store

__all__ = ["RECHECK_INTERVAL", "SYNC_ACCOUNTS", "Connections", "read_status"]

logger = logging.getLogger(__name__)

RECHECK_INTERVAL = 300.0  # seconds between re-checks of missing or broken connections
RECHECK_LEASE = "connections:recheck"

_NOT_CONNECTED = {
    MICROSOFT: "Microsoft is not connected yet: a Global Administrator must grant admin "
    "consent in the Presence Sync tab (step 1).",
    RINGCENTRAL: "RingCentral is not connected yet: press Connect RingCentral in the "
    "Presence Sync tab.",
}
_NO_SYNC_ACCOUNT = (
    "No sync account is authorised: Teams presence is polled, not notified. Authorise one in "
    "the Presence Sync tab (step 2)."
)


@dataclass
class Connections:
    """Builds and guards the provider clients; implements `presence_sync.providers.Providers`."""

    settings: Settings
    store: Store
    http: aiohttp.ClientSession
    clock: Callable[[], float] = time.time
    # RingCentral's rate-limit windows run on the sync clock (faster in tests and the demo).
    budget_clock: Callable[[], float] = time.time
    time_scale: float = 1.0  # budget-clock seconds per real second
    book: ConnectionBook = field(init=False)
    microsoft: MicrosoftConnection = field(init=False)
    rc: RingCentralConnection = field(init=False)
    identities: RcIdentities = field(init=False)
    # Set once the first round of re-checks after start has finished (tests and readiness).
    first_check_done: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self.book = ConnectionBook(self.store, self.clock)
        self.microsoft = MicrosoftConnection(
            self.settings, self.store, self.book, self.http, self.clock
        )
        self.rc = RingCentralConnection(
            self.settings,
            self.book,
            self.http,
            budget_clock=self.budget_clock,
            time_scale=self.time_scale,
        )
        self.identities = RcIdentities(
            self.settings,
            self.book,
            self.http,
            budget_clock=self.budget_clock,
            time_scale=self.time_scale,
        )

        async def add_identity(
            auth: ReportingRingCentralAuth, extension: Extension, actor: str
        ) -> str | None:
            return await self.identities.add_signed_in(auth, extension, actor=actor)

        self.rc.add_identity = add_identity

    # -- Providers ------------------------------------------------------------------------

    async def graph(self) -> GraphClient:
        """The Graph client; NotConnectedError (saying why) while Microsoft is not connected."""
        record = await self.book.get(MICROSOFT)
        if not self.microsoft.configured:
            raise NotConnectedError(
                "Microsoft is not configured: set MICROSOFT_TENANT_ID, MICROSOFT_CLIENT_ID and "
                "MICROSOFT_CLIENT_SECRET."
            )
        if record is None or record.status is ConnectionStatus.MISSING:
            raise NotConnectedError(_NOT_CONNECTED[MICROSOFT])
        if record.status is ConnectionStatus.BROKEN:
            raise NotConnectedError(f"The Microsoft connection is broken: {record.reason}")
        return await self.microsoft.client(record.details.generation)

    async def ringcentral(self) -> RingCentralClient:
        """The RingCentral client; NotConnectedError (saying why) while it is not connected."""
        record = await self.book.get(RINGCENTRAL)
        if record is None or record.status is ConnectionStatus.MISSING:
            raise NotConnectedError(_NOT_CONNECTED[RINGCENTRAL])
        if record.status is ConnectionStatus.BROKEN:
            raise NotConnectedError(f"The RingCentral connection is broken: {record.reason}")
        return await self.rc.client(record)

    async def ringcentral_writers(self) -> list[RcWriter]:
        """The main RingCentral connection (when healthy) and every connected identity."""
        writers: list[RcWriter] = []
        record = await self.book.get(RINGCENTRAL)
        if record is not None and record.status is ConnectionStatus.CONNECTED:
            writers.append(RcWriter(RINGCENTRAL, await self.rc.client(record)))
        writers += [RcWriter(kind, client) for kind, client in await self.identities.writers()]
        return writers

    async def sync_accounts(self) -> list[str]:
        """UPNs of the authorised sync accounts whose connection is healthy."""
        records = await self.book.sync_accounts()
        return [
            upn
            for r in records
            if r.status is ConnectionStatus.CONNECTED and (upn := sync_account_upn(r.kind))
        ]

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Mark the connection broken when `error` means an admin must act; else just log.

        `provider` is "microsoft" (or "graph") or "ringcentral". A Graph error names the token
        its call was made with, so a refused sync-account token marks that account, not the
        organisation's consent.
        """
        if self.book.already_handled(error):
            return
        kind = _kind_of(provider, error)
        identity = kind.startswith(RC_IDENTITY_PREFIX)
        if isinstance(error, EntraError) and error.breaks_connection:
            await self.book.mark_broken(kind, explain_entra_error(error), error.code)
        elif isinstance(error, RingCentralTokenError) and error.breaks_connection:
            await self.book.mark_broken(
                kind if identity else RINGCENTRAL, explain_ringcentral(error), error.code
            )
        elif identity and isinstance(error, RingCentralPermissionError):
            # An identity only writes: without the right it is of no use until an admin acts.
            await self.identities.lacks_right(kind)
        else:
            logger.debug("%s call failed, connection kept: %s", kind, type(error).__name__)

    # -- status ---------------------------------------------------------------------------

    async def status(self) -> list[ConnectionState]:
        """Every connection's state, reason and since-when, in set-up order."""
        return await read_status(self.store)

    # -- re-checks ------------------------------------------------------------------------

    async def recheck(self) -> None:
        """Detect consent granted in the portal; log in to a broken RingCentral JWT again."""
        microsoft = await self.book.get(MICROSOFT)
        if self.microsoft.configured and (
            microsoft is None or microsoft.status is not ConnectionStatus.CONNECTED
        ):
            try:
                await self.microsoft.check()
            except PresenceSyncError as err:
                logger.warning("Microsoft consent check failed: %s", err)
        ringcentral = await self.book.get(RINGCENTRAL)
        if (
            self.rc.configured
            and ringcentral is not None
            and ringcentral.status is ConnectionStatus.BROKEN
            and (ringcentral.details.method or "jwt") == "jwt"
        ):
            result = await self.rc.connect(actor=SYSTEM)
            logger.info("RingCentral re-check: %s", result.status)
        if self.settings.ringcentral_configured:
            await self.identities.recheck()

    async def run_rechecks(self, owner: str, interval: float = RECHECK_INTERVAL) -> None:
        """Re-check now and every `interval` seconds, on one replica at a time (store lease)."""
        try:
            while True:
                try:
                    if await self.store.acquire_lease(RECHECK_LEASE, owner, interval, self.clock()):
                        await self.recheck()
                except (PresenceSyncError, OSError, TimeoutError) as err:
                    logger.warning("connection re-check failed; trying again later: %s", err)
                self.first_check_done.set()
                await asyncio.sleep(interval)
        finally:
            # Hand the lease on at shutdown, so a restarted replica checks at once.
            with contextlib.suppress(Exception):
                await self.store.release_lease(RECHECK_LEASE, owner)

    async def remove_sync_account(self, upn: str, *, actor: str) -> bool:
        """Forget a sync account for admin `actor`; False when there was none."""
        return await self.microsoft.remove_sync_account(upn, actor=actor)

    async def close(self) -> None:
        """Close the clients' token sessions."""
        await self.microsoft.close()
        await self.rc.close()
        await self.identities.close()


async def read_status(store: Store) -> list[ConnectionState]:
    """Every connection's state as recorded in `store` (no provider is contacted)."""
    book = ConnectionBook(store, time.time)
    states = [state_of(MICROSOFT, await book.get(MICROSOFT), _NOT_CONNECTED[MICROSOFT])]
    accounts = await book.sync_accounts()
    states += [state_of(r.kind, r, "") for r in accounts]
    if not accounts:
        states.append(state_of(SYNC_ACCOUNTS, None, _NO_SYNC_ACCOUNT))
    states.append(state_of(RINGCENTRAL, await book.get(RINGCENTRAL), _NOT_CONNECTED[RINGCENTRAL]))
    found = await store.list_connections()
    states += [state_of(r.kind, r, "") for r in found if r.kind.startswith(RC_IDENTITY_PREFIX)]
    return states


def _kind_of(provider: str, error: BaseException) -> str:
    token = error.token if isinstance(error, GraphError) else None
    if isinstance(token, GraphToken):
        return MICROSOFT if token.upn is None else sync_account_kind(token.upn)
    return MICROSOFT if provider in ("microsoft", "graph") else provider
