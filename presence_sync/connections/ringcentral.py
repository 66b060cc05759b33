"""The RingCentral connection: JWT sign-in tested by a real call, stored tokens, recovery.

Two ways in, as in RingCentral's own apps: the JWT credential from settings (`connect()`), or
the OAuth authorization-code flow with PKCE (`begin_oauth()` / `finish_oauth()`), where a
RingCentral admin signs in and the connection acts as them.

The SDK's auth data (access and refresh tokens) lives sealed in the `ringcentral` record and is
reloaded on start, so a restart does not log in again: the Auth group allows only 5 token calls
a minute. A refused refresh (`invalid_grant`: tokens revoked, JWT withdrawn) marks the
connection broken and alerts the admins. Recovery never needs a restart: the admin presses
Connect RingCentral, or the periodic re-check (every few minutes, under a store lease) logs in
with the JWT again by itself — a JWT credential stays valid when only the tokens were revoked,
and one login per interval is far inside the Auth budget. An OAuth connection has no JWT to
fall back on (that would silently act as another user): its admin authorises again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from presence_sync.connections.explain import explain_ringcentral
from presence_sync.connections.outcome import SignInOutcome
from presence_sync.connections.records import RINGCENTRAL, ConnectionBook
from presence_sync.connections.starts import CheckStarter, StartedBy, StepStart, take_started
from presence_sync.errors import RingCentralError
from presence_sync.ringcentral import RingCentralAuth, RingCentralClient, RingCentralTokenError
from presence_sync.ringcentral.limits import RateLimits
from presence_sync.ringcentral.models import Extension
from presence_sync.settings import Settings
from presence_sync.store import Connection, ConnectionDetails, ConnectionStatus

__all__ = ["ReportingRingCentralAuth", "RingCentralConnection"]

logger = logging.getLogger(__name__)

OAUTH_FLOW_LIFETIME = 600.0  # seconds an admin has to finish the RingCentral sign-in
OnRcRefused = Callable[[RingCentralTokenError], Awaitable[None]]


@dataclass
class ReportingRingCentralAuth(RingCentralAuth):
    """RingCentral auth that reports refusals which break the connection."""

    on_refused: OnRcRefused | None = None

    async def access_token(self) -> str:
        """A valid access token; a breaking refusal marks the connection broken."""
        try:
            return await super().access_token()
        except RingCentralTokenError as err:
            await self._report(err)
            raise

    async def rejected(self, token: str) -> str:
        """A new token after a 401; a breaking refusal marks the connection broken."""
        try:
            return await super().rejected(token)
        except RingCentralTokenError as err:
            await self._report(err)
            raise

    async def login_with_code(self, code: str, redirect_uri: str, verifier: str) -> None:
        """Redeem an OAuth authorization code (with its PKCE verifier) for tokens.

        Nothing is saved yet: until `keep()`, the stored tokens of the current connection stay
        as they are, so a sign-in that fails its test call cannot replace them.
        """
        async with self._lock:
            self._loaded = True  # the stored tokens, if any, are superseded
            await self._sdk(
                self.platform.login, code=code, redirect_uri=redirect_uri, verifier=verifier
            )

    async def keep(self, save_auth: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Save the tokens now and after every refresh from here on."""
        async with self._lock:
            self.save_auth = save_auth
            await self._persist()

    async def _report(self, err: RingCentralTokenError) -> None:
        if err.breaks_connection and self.on_refused is not None:
            await self.on_refused(err)


# Adds the user an OAuth sign-in speaks for as an identity: (auth, their extension, admin)
# -> why not, or None when added.
AddSignedIn = Callable[[ReportingRingCentralAuth, Extension, str], Awaitable[str | None]]


@dataclass(frozen=True)
class RcConnectResult:
    """How a connection attempt went."""

    status: ConnectionStatus
    reason: str | None
    details: dict[str, Any]
    unreachable: bool = False  # RingCentral did not answer: nothing is known either way


@dataclass
class RingCentralConnection:
    """RingCentral tokens and client for the one account served."""

    settings: Settings
    book: ConnectionBook
    http: aiohttp.ClientSession
    # The clock RingCentral's rate-limit windows are tracked on, and its seconds per real one.
    budget_clock: Callable[[], float] = time.time
    time_scale: float = 1.0
    _client: RingCentralClient | None = field(default=None, init=False)
    _generation: int = field(default=-1, init=False)
    _retired: list[RingCentralAuth] = field(default_factory=list, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    # Where an OAuth sign-in started with `identity=True` goes: the extra identities.
    add_identity: AddSignedIn | None = field(default=None, init=False)

    @property
    def configured(self) -> bool:
        """Whether app credentials and a JWT credential are configured."""
        return self.settings.ringcentral_configured and bool(self.settings.ringcentral_jwt)

    def _auth(
        self, reporting: bool, jwt: bool = True, save: bool = True
    ) -> ReportingRingCentralAuth:
        settings = self.settings
        assert settings.ringcentral_client_id is not None
        assert settings.ringcentral_client_secret is not None
        return ReportingRingCentralAuth(
            client_id=settings.ringcentral_client_id,
            client_secret=settings.ringcentral_client_secret,
            server_url=settings.ringcentral_server_url,
            jwt=settings.ringcentral_jwt if jwt else None,
            ca_file=settings.ca_file,
            timeout=settings.http_timeout,
            load_auth=self._load_auth,
            save_auth=self._save_auth if save else None,
            on_refused=self._refused if reporting else None,
        )

    async def _load_auth(self) -> dict[str, Any] | None:
        record = await self.book.get(RINGCENTRAL)
        if record is None or not record.secret:
            return None
        loaded = json.loads(record.secret)
        return loaded if isinstance(loaded, dict) else None

    async def _save_auth(self, data: dict[str, Any]) -> None:
        await self.book.save_secret(RINGCENTRAL, json.dumps(data), create=True)

    async def _refused(self, err: RingCentralTokenError) -> None:
        self.book.handled.add(err)
        record = await self.book.get(RINGCENTRAL)
        reason = explain_ringcentral(err)
        if record is not None and record.details.method == "oauth":
            reason = _oauth_refused(err, record.details)
        await self.book.mark_broken(RINGCENTRAL, reason, err.code)

    def _install(self, auth: RingCentralAuth, generation: int) -> RingCentralClient:
        if self._client is None:
            # Budgets are tracked on the product's clock: RingCentral's windows are in its time.
            limits = RateLimits(clock=self.budget_clock, time_scale=self.time_scale)
            self._client = RingCentralClient(
                self.http, auth, timeout=self.settings.http_timeout, limits=limits
            )
        else:
            # Keep the client (and its rate-limit budgets) for whoever holds it.
            self._retired.append(self._client.auth)
            self._client.auth = auth
        self._generation = generation
        return self._client

    async def client(self, record: Connection) -> RingCentralClient:
        """The client for a connected record, rebuilt when its generation moved on."""
        generation = record.details.generation
        jwt = (record.details.method or "jwt") == "jwt"
        async with self._lock:
            if self._client is None or self._generation != generation:
                return self._install(self._auth(reporting=True, jwt=jwt), generation)
            return self._client

    async def connect(self, *, actor: str) -> RcConnectResult:
        """Log in with the JWT credential and test it with a real call before recording it."""
        if not self.configured:
            reason = (
                "RingCentral is not configured: set RINGCENTRAL_CLIENT_ID, "
                "RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT."
            )
            return RcConnectResult(ConnectionStatus.MISSING, reason, {})
        async with self._lock:
            # Saved only once the test call passed, like an OAuth sign-in's tokens.
            auth = self._auth(reporting=False, save=False)
            probe = RingCentralClient(self.http, auth, timeout=self.settings.http_timeout)
            try:
                await auth.login()
                extension = await probe.current_extension()
            except RingCentralTokenError as err:
                await auth.close()
                reason = explain_ringcentral(err)
                if await self.book.get(RINGCENTRAL) is not None:
                    await self.book.mark_broken(RINGCENTRAL, reason, err.code)
                return RcConnectResult(ConnectionStatus.BROKEN, reason, {})
            except RingCentralError as err:
                await auth.close()
                # Outages and throttling say nothing about the credential: change nothing.
                logger.warning("RingCentral connection test failed: %s", type(err).__name__)
                reason = f"RingCentral could not be reached to test the connection: {err}"
                return RcConnectResult(ConnectionStatus.BROKEN, reason, {})
            # authorised_by None: an earlier OAuth sign-in no longer applies.
            details = signed_in_details(
                extension, auth.owner_id() or extension.id, "jwt", None, self.book.clock()
            )
            await auth.keep(self._save_auth)
            record = await self.book.set_state(
                RINGCENTRAL, ConnectionStatus.CONNECTED, None, details=details, reconnected=True
            )
            auth.on_refused = self._refused
            self._install(auth, record.details.generation)
        await self.book.audit("ringcentral-connected", {"extension": extension.id}, actor)
        return RcConnectResult(ConnectionStatus.CONNECTED, None, details)

    # -- OAuth authorization code --------------------------------------------------------

    def redirect_uri(self, path: str) -> str:
        """Where RingCentral sends the browser back to (registered on the RingCentral app)."""
        return f"{self.settings.public_url.rstrip('/')}{path}"

    async def begin_oauth(
        self, callback_path: str, started_by: StartedBy, *, identity: bool = False
    ) -> StepStart:
        """RingCentral's sign-in URL, with a single-use state and a PKCE challenge.

        With `identity`, the user who signs in is added as one more identity presence writes
        are spread across, and the main connection is left as it is."""
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        now = self.book.clock()
        await self.book.store.put_ephemeral(
            f"ringcentral-oauth:{state}",
            {
                "verifier": verifier,
                "started_by": started_by.record(),
                "purpose": "identity" if identity else "connection",
            },
            now + OAUTH_FLOW_LIFETIME,
        )
        # Built here: the SDK's own `login_url` fails in ringcentral 0.9.2 (urllib not imported).
        query = {
            "response_type": "code",
            "client_id": self.settings.ringcentral_client_id or "",
            "redirect_uri": self.redirect_uri(callback_path),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        server = self.settings.ringcentral_server_url.rstrip("/")
        return StepStart(f"{server}/restapi/oauth/authorize?{urlencode(query)}", state)

    async def finish_oauth(
        self, callback_path: str, params: Mapping[str, str], check: CheckStarter
    ) -> SignInOutcome:
        """Redeem RingCentral's redirect, test the tokens with a real call, record the result."""
        taken = await take_started(
            self.book.store, "ringcentral-oauth", params, self.book.clock(), check
        )
        if isinstance(taken, SignInOutcome):
            return taken
        started, by = taken
        as_identity = started.get("purpose") == "identity"
        title = (
            "The RingCentral identity was not added"
            if as_identity
            else "RingCentral was not connected"
        )
        if "error" in params:
            reason = (
                "The RingCentral sign-in was cancelled or refused, so nothing was changed."
                if params["error"] == "access_denied"
                else f"RingCentral refused the sign-in ({params['error']}): "
                f"{params.get('error_description', '')}".rstrip(": ")
            )
            return SignInOutcome.failed(title, reason)
        code = params.get("code", "")
        if not code:
            # The SDK would not even send this: it takes an empty code for "no credentials".
            return SignInOutcome.failed(
                title, "RingCentral sent no sign-in code back, so nothing was changed."
            )
        auth = self._auth(reporting=False, jwt=False, save=False)
        probe = RingCentralClient(self.http, auth, timeout=self.settings.http_timeout)
        try:
            await auth.login_with_code(code, self.redirect_uri(callback_path), started["verifier"])
        except RingCentralTokenError as err:
            await auth.close()
            logger.info("RingCentral refused the sign-in code: %s", err.code)
            return SignInOutcome.failed(title, _code_refused(err))
        except RingCentralError as err:
            await auth.close()
            return SignInOutcome.failed(title, f"RingCentral could not be reached: {err}")
        try:
            extension = await probe.current_extension()
        except RingCentralError as err:
            await auth.close()
            # The tokens were never saved: whatever connection there was stays as it was.
            logger.warning("RingCentral sign-in test call failed: %s", type(err).__name__)
            return SignInOutcome.failed(title, f"RingCentral could not be reached: {err}")
        who = extension.email or extension.name or extension.id
        if as_identity:
            return await self._finish_identity(auth, extension, by.email, title, who)
        details = signed_in_details(
            extension, auth.owner_id() or extension.id, "oauth", extension.email, self.book.clock()
        )
        async with self._lock:
            await auth.keep(self._save_auth)
            record = await self.book.set_state(
                RINGCENTRAL, ConnectionStatus.CONNECTED, None, details=details, reconnected=True
            )
            auth.on_refused = self._refused
            self._install(auth, record.details.generation)
        await self.book.audit(
            "ringcentral-connected",
            {"extension": extension.id, "method": "oauth", "signed_in_as": extension.email},
            by.email,
        )
        return SignInOutcome.succeeded(
            "RingCentral is connected", f"Presence Sync now acts on RingCentral as {who}."
        )

    async def _finish_identity(
        self,
        auth: ReportingRingCentralAuth,
        extension: Extension,
        actor: str,
        title: str,
        who: str,
    ) -> SignInOutcome:
        try:
            if self.add_identity is None:
                return SignInOutcome.failed(title, "This server cannot add identities.")
            problem = await self.add_identity(auth, extension, actor)
        finally:
            await auth.close()  # the identity builds its own client from the saved tokens
        if problem is not None:
            return SignInOutcome.failed(title, problem)
        return SignInOutcome.succeeded(
            "RingCentral identity added",
            f"Presence writes are now spread over one more RingCentral user, {who}, "
            "with its own 40 writes a minute.",
        )

    async def close(self) -> None:
        """Close every auth built."""
        auths = list(self._retired)
        if self._client is not None:
            auths.append(self._client.auth)
        for auth in auths:
            await auth.close()
        self._retired.clear()
        self._client = None


def signed_in_details(
    extension: Extension, owner: str, method: str, by: str | None, now: float
) -> dict[str, Any]:
    """The details a RingCentral connection or identity record keeps of who it acts as."""
    return {
        "method": method,
        "owner_id": owner,
        "extension_id": extension.id,
        "extension_number": extension.extension_number,
        "name": extension.name,
        "email": extension.email,
        "authorised_by": by,
        "connected_at": now,
    }


def _code_refused(err: RingCentralTokenError) -> str:
    """Why RingCentral refused a sign-in code, in words an admin can act on."""
    if err.code == "invalid_client":
        return explain_ringcentral(err)
    # invalid_grant here is about this one code, not a stored sign-in: it expired (a minute),
    # was used already, or the browser brought back someone else's.
    return (
        "RingCentral did not accept the sign-in (it may have taken too long or been used "
        "already), so nothing was changed. Press Connect RingCentral to sign in again."
    )


def _oauth_refused(err: RingCentralTokenError, details: ConnectionDetails) -> str:
    """Why an OAuth connection broke: its JWT advice would not apply, it has no JWT."""
    if err.code == "invalid_client":
        return explain_ringcentral(err)
    who = details.authorised_by or details.email or details.extension_id
    return (
        f"RingCentral refused the stored sign-in of {who} (revoked or expired). Open Connect "
        "RingCentral (OAuth) and sign in again."
    )
