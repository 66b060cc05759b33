"""More RingCentral identities: extra users presence writes are spread across.

RingCentral counts API calls per (user, app), and a presence write is in the Medium group
(40 a minute by default), so one identity carries at most 40 changes a minute whatever the
organisation's size. An admin adds identities (RingCentral users holding an admin role with
the right to edit other extensions' presence) with a JWT credential or an OAuth sign-in; the
dispatcher sends each write as the identity with the most budget left, each paced by its own
rate-limit headers. The first connection (`ringcentral`) keeps the webhook subscriptions,
the directory and the reads; identities only write.

One record per identity, `ringcentral-identity:<extension id>`, its secret (sealed by the
store) holding the JWT credential, if any, and the SDK's tokens. An identity RingCentral
refuses (credential withdrawn, user disabled, right taken away) is marked broken, the admins
are alerted as for any broken connection, and its writes go to the others; the periodic
re-check logs a broken JWT identity in again, so it comes back by itself once fixed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from presence_sync.connections.explain import explain_ringcentral
from presence_sync.connections.records import (
    RC_IDENTITY_PREFIX,
    RINGCENTRAL,
    ConnectionBook,
    rc_identity_kind,
)
from presence_sync.connections.ringcentral import (
    RcConnectResult,
    ReportingRingCentralAuth,
    signed_in_details,
)
from presence_sync.errors import RingCentralError, ValidationError
from presence_sync.ringcentral import RingCentralAuth, RingCentralClient, RingCentralTokenError
from presence_sync.ringcentral.limits import RateLimits
from presence_sync.ringcentral.models import Extension
from presence_sync.settings import Settings
from presence_sync.store import SYSTEM, Connection, ConnectionStatus
from presence_sync.store.recent import STALE_SECONDS

__all__ = ["MAX_CREDENTIAL", "NO_RIGHT", "RcIdentities"]

logger = logging.getLogger(__name__)

MAX_CREDENTIAL = 8192  # characters: RingCentral's JWT credentials are about 600
NO_RIGHT = "CMN-408"  # RingCentral's "user needs to have [permission]" refusal


def lacks_right_reason(who: str) -> str:
    """Why an identity without the right to edit others' presence cannot write."""
    return (
        f"RingCentral refused presence writes by {who}: the user needs an admin role with the "
        "Edit Presence permission for other users. Grant it in RingCentral's admin portal "
        "(Users > Roles), or remove this identity."
    )


@dataclass
class RcIdentities:
    """The extra RingCentral identities, their clients and their records."""

    settings: Settings
    book: ConnectionBook
    http: aiohttp.ClientSession
    budget_clock: Callable[[], float] = time.time
    time_scale: float = 1.0
    _clients: dict[str, tuple[int, RingCentralClient]] = field(default_factory=dict, init=False)
    _retired: list[RingCentralAuth] = field(default_factory=list, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    # Which identities exist, as last listed (monotonic time, kinds): every RingCentral write
    # asks, and listing every connection record costs a store command each time.
    _kinds: tuple[float, list[str]] | None = field(default=None, init=False)

    async def records(self) -> list[Connection]:
        """Every identity record, ordered by kind."""
        return [
            c
            for c in await self.book.store.list_connections()
            if c.kind.startswith(RC_IDENTITY_PREFIX)
        ]

    # -- clients --------------------------------------------------------------------------

    def _auth(self, kind: str, credential: str | None, *, save: bool) -> ReportingRingCentralAuth:
        settings = self.settings
        assert settings.ringcentral_client_id is not None
        assert settings.ringcentral_client_secret is not None

        async def load() -> dict[str, Any] | None:
            return (await self._secret(kind)).get("auth")

        async def keep(data: dict[str, Any]) -> None:
            secret = await self._secret(kind)
            secret["auth"] = data
            await self.book.save_secret(kind, json.dumps(secret), create=False)

        async def refused(err: RingCentralTokenError) -> None:
            self.book.handled.add(err)
            await self.book.mark_broken(kind, explain_ringcentral(err), err.code)

        return ReportingRingCentralAuth(
            client_id=settings.ringcentral_client_id,
            client_secret=settings.ringcentral_client_secret,
            server_url=settings.ringcentral_server_url,
            jwt=credential,
            ca_file=settings.ca_file,
            timeout=settings.http_timeout,
            load_auth=load if save else None,
            save_auth=keep if save else None,
            on_refused=refused if save else None,
        )

    async def _secret(self, kind: str) -> dict[str, Any]:
        record = await self.book.get(kind)
        if record is None or not record.secret:
            return {}
        loaded = json.loads(record.secret)
        return loaded if isinstance(loaded, dict) else {}

    async def client(self, record: Connection) -> RingCentralClient:
        """The client of a connected identity, rebuilt when its generation moved on."""
        generation = record.details.generation
        async with self._lock:
            known = self._clients.get(record.kind)
            if known is not None and known[0] == generation:
                return known[1]
            credential = (await self._secret(record.kind)).get("jwt")
            auth = self._auth(
                record.kind, credential if isinstance(credential, str) else None, save=True
            )
            if known is not None:
                # Keep the client (and the budget it learnt) for whoever holds it.
                self._retired.append(known[1].auth)
                known[1].auth = auth
                client = known[1]
            else:
                limits = RateLimits(clock=self.budget_clock, time_scale=self.time_scale)
                client = RingCentralClient(
                    self.http, auth, timeout=self.settings.http_timeout, limits=limits
                )
            self._clients[record.kind] = (generation, client)
            return client

    async def _identity_kinds(self) -> list[str]:
        """The identities' kinds, listed again once the list is `STALE_SECONDS` old (what this
        process adds or removes shows at once; another replica's, within that second)."""
        now = time.monotonic()
        if self._kinds is not None and now - self._kinds[0] < STALE_SECONDS:
            return self._kinds[1]
        kinds = [r.kind for r in await self.records()]
        self._kinds = (now, kinds)
        return kinds

    async def writers(self) -> list[tuple[str, RingCentralClient]]:
        """(kind, client) of every connected identity."""
        out = []
        for kind in await self._identity_kinds():
            record = await self.book.get(kind)  # a recent copy (store/recent.py)
            if record is not None and record.status is ConnectionStatus.CONNECTED:
                out.append((record.kind, await self.client(record)))
        return out

    # -- adding and removing --------------------------------------------------------------

    async def add_jwt(self, credential: object, *, actor: str) -> RcConnectResult:
        """Add the identity a JWT credential speaks for, tested by real calls first."""
        if not isinstance(credential, str) or not credential.strip():
            raise ValidationError("jwt: the RingCentral JWT credential of the user to add")
        credential = credential.strip()
        if len(credential) > MAX_CREDENTIAL or any(c.isspace() for c in credential):
            raise ValidationError(
                "jwt: not a RingCentral JWT credential (one line, at most 8192 characters)"
            )
        if not self.settings.ringcentral_configured:
            return RcConnectResult(
                ConnectionStatus.MISSING,
                "RingCentral is not configured: set RINGCENTRAL_CLIENT_ID and "
                "RINGCENTRAL_CLIENT_SECRET.",
                {},
            )
        auth = self._auth("", credential, save=False)
        probe = RingCentralClient(self.http, auth, timeout=self.settings.http_timeout)
        try:
            await auth.login()
            extension = await probe.current_extension()
            owner = auth.owner_id() or extension.id
            problem = await self._refusal(extension, owner)
            if problem is not None:
                return RcConnectResult(ConnectionStatus.BROKEN, problem, {})
            data = dict(auth.platform.auth().data())
        except RingCentralTokenError as err:
            return RcConnectResult(ConnectionStatus.BROKEN, explain_ringcentral(err), {})
        except RingCentralError as err:
            logger.warning("RingCentral identity test failed: %s", type(err).__name__)
            reason = f"RingCentral could not be reached to test the identity: {err}"
            return RcConnectResult(ConnectionStatus.BROKEN, reason, {}, unreachable=True)
        finally:
            await auth.close()
        details = signed_in_details(extension, owner, "jwt", None, self.book.clock())
        await self._keep(extension.id, {"jwt": credential, "auth": data}, details)
        await self.book.audit(
            "ringcentral-identity-added", {"extension": extension.id, "method": "jwt"}, actor
        )
        return RcConnectResult(ConnectionStatus.CONNECTED, None, details)

    async def add_signed_in(
        self, auth: ReportingRingCentralAuth, extension: Extension, *, actor: str
    ) -> str | None:
        """Add the identity an OAuth sign-in speaks for; why not, or None when added."""
        owner = auth.owner_id() or extension.id
        problem = await self._refusal(extension, owner)
        if problem is not None:
            return problem
        data = dict(auth.platform.auth().data())
        details = signed_in_details(extension, owner, "oauth", extension.email, self.book.clock())
        await self._keep(extension.id, {"jwt": None, "auth": data}, details)
        await self.book.audit(
            "ringcentral-identity-added",
            {"extension": extension.id, "method": "oauth", "signed_in_as": extension.email},
            actor,
        )
        return None

    async def _refusal(self, extension: Extension, owner: str) -> str | None:
        who = extension.email or extension.name or extension.id
        primary = await self.book.get(RINGCENTRAL)
        if primary is not None and primary.details.extension_id == extension.id:
            return (
                f"{who} is the main RingCentral connection already: add a different RingCentral "
                "user, each one adds its own 40 writes a minute."
            )
        if owner != extension.id:
            return f"RingCentral's tokens speak for {owner}, not {who}: nothing was changed."
        if not extension.admin:
            return lacks_right_reason(who)
        return None

    async def _keep(
        self, extension_id: str, secret: dict[str, Any], details: dict[str, Any]
    ) -> None:
        kind = rc_identity_kind(extension_id)
        self._kinds = None
        async with self._lock:
            await self.book.set_state(
                kind,
                ConnectionStatus.CONNECTED,
                None,
                details=details,
                secret=json.dumps(secret),
                reconnected=True,
            )

    async def remove(self, extension_id: str, *, actor: str) -> bool:
        """Forget an identity; False when there was none."""
        kind = rc_identity_kind(extension_id)
        if await self.book.get(kind) is None:
            return False
        await self.book.store.delete_connection(kind)
        self._kinds = None
        async with self._lock:
            known = self._clients.pop(kind, None)
            if known is not None:
                self._retired.append(known[1].auth)
        await self.book.audit("ringcentral-identity-removed", {"extension": extension_id}, actor)
        return True

    async def lacks_right(self, kind: str) -> None:
        """RingCentral refused a write by this identity for want of the right: mark it broken."""
        record = await self.book.get(kind)
        if record is None:
            return
        who = record.details.email or record.details.name or record.details.extension_id or kind
        await self.book.mark_broken(kind, lacks_right_reason(str(who)), NO_RIGHT)

    async def recheck(self) -> None:
        """Log in again as every broken identity that has a JWT credential."""
        for record in await self.records():
            if record.status is not ConnectionStatus.BROKEN:
                continue
            credential = (await self._secret(record.kind)).get("jwt")
            if not isinstance(credential, str):
                continue  # an OAuth identity: its admin signs in again
            result = await self.add_jwt(credential, actor=SYSTEM)
            logger.info("RingCentral identity %s re-check: %s", record.kind, result.status)

    async def close(self) -> None:
        """Close every auth built."""
        auths = [*self._retired, *(c.auth for _, c in self._clients.values())]
        for auth in auths:
            await auth.close()
        self._retired.clear()
        self._clients.clear()
