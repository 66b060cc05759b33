"""The Microsoft connection: admin consent, sync accounts, and the live Graph client.

Admin set-up mirrors RingCentral's own product: (1) a Global Administrator grants admin consent
for the organisation (or already did in the Azure portal, which `check()` detects from the
roles in an app-only token); (2) one or more *sync accounts* sign in with the authorization-code
flow for delegated `Presence.Read.All`, because Graph presence notifications need delegated
tokens. Each sign-in carries a single-use, expiring `state` kept in the store with the admin
who started it, so a replayed or forged redirect is refused and changes nothing, and what is
recorded names that admin (`connections.starts`), never a hint.

The Graph client is built once and kept; when another replica (or this one) records a
reconnection, its token provider is replaced with a fresh one, because MSAL replays a refused
token answer for a minute and the fresh one also reloads the sync accounts' tokens.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from presence_sync.connections.explain import (
    explain_entra,
    explain_entra_error,
    missing_roles,
)
from presence_sync.connections.outcome import SignInOutcome
from presence_sync.connections.records import (
    MICROSOFT,
    ConnectionBook,
    sync_account_kind,
    sync_account_upn,
)
from presence_sync.connections.starts import CheckStarter, StartedBy, StepStart, take_started
from presence_sync.connections.token_cache import accounts_in, merge_slices, slice_for
from presence_sync.errors import GraphUnavailableError
from presence_sync.graph import EntraError, GraphClient, GraphTokenProvider
from presence_sync.graph.auth import APP_SCOPE
from presence_sync.settings import Settings
from presence_sync.store import SYSTEM, ConnectionStatus, Store

__all__ = ["MicrosoftConnection", "ReportingTokenProvider"]

logger = logging.getLogger(__name__)

FLOW_LIFETIME = 600.0  # seconds an admin has to finish a sign-in they started
CONSENT_PROPAGATION_TRIES = 3  # Entra can take a moment before the new roles show in tokens
CONSENT_PROPAGATION_WAIT = 1.0
DELEGATED_SCOPE = "Presence.Read.All"

# Called with the connection kind and the refusal; answers a fresher serialized token cache
# to retry with (another replica rotated the tokens), or None once the connection is marked.
OnRefused = Callable[[str, EntraError], Awaitable[str | None]]


@dataclass
class ReportingTokenProvider(GraphTokenProvider):
    """A token provider that reports refusals which break a connection, wherever they happen."""

    on_refused: OnRefused | None = None

    async def app_token(self) -> str:
        """An app-only token; a breaking refusal marks the Microsoft connection broken."""
        try:
            return await super().app_token()
        except EntraError as err:
            if err.breaks_connection and self.on_refused is not None:
                await self.on_refused(MICROSOFT, err)
            raise

    async def delegated_token(self, account_upn: str) -> str:
        """A sync account's token; retried once if another replica had rotated its tokens."""
        for attempt in range(2):
            try:
                return await super().delegated_token(account_upn)
            except EntraError as err:
                if not err.breaks_connection or self.on_refused is None:
                    raise
                fresher = await self.on_refused(sync_account_kind(account_upn), err)
                if fresher is None or attempt == 1:
                    raise
                self.restore_cache(fresher)
        raise AssertionError("unreachable: the second attempt returns or raises")


@dataclass
class MicrosoftConnection:
    """Admin consent, sync accounts and the Graph client of the one tenant served."""

    settings: Settings
    store: Store
    book: ConnectionBook
    http: aiohttp.ClientSession
    clock: Callable[[], float]
    _client: GraphClient | None = field(default=None, init=False)
    _generation: int = field(default=-1, init=False)
    _retired: list[GraphTokenProvider] = field(default_factory=list, init=False)
    _known: dict[str, str] = field(default_factory=dict, init=False)  # upn -> stored slice
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _last_cache: str | None = field(default=None, init=False, repr=False)  # as MSAL last saved

    @property
    def configured(self) -> bool:
        """Whether the Entra app registration is configured at all."""
        return self.settings.microsoft_configured

    def redirect_uri(self, path: str) -> str:
        """Where Entra sends the browser back to (must be registered on the Entra app)."""
        return f"{self.settings.public_url.rstrip('/')}{path}"

    # -- the live client -----------------------------------------------------------------

    async def client(self, generation: int) -> GraphClient:
        """The Graph client, rebuilt when the stored connection's generation moved on."""
        async with self._lock:
            if self._client is None or self._generation != generation:
                provider = await self._fresh_provider(reporting=True)
                if self._client is None:
                    self._client = GraphClient(
                        self.http,
                        provider,
                        self.settings.graph_url,
                        timeout=self.settings.http_timeout,
                    )
                else:
                    # Keep the client (and its budget) for whoever holds it; swap its tokens.
                    # The old provider may still be serving a request: close it at shutdown.
                    self._retired.append(self._client.tokens)
                    self._client.tokens = provider
                self._generation = generation
            return self._client

    async def _fresh_provider(self, reporting: bool) -> GraphTokenProvider:
        settings = self.settings
        assert settings.microsoft_client_id is not None
        assert settings.microsoft_client_secret is not None
        assert settings.microsoft_tenant_id is not None
        records = await self.book.sync_accounts()
        self._known = {
            upn: r.secret for r in records if r.secret and (upn := sync_account_upn(r.kind))
        }
        options: dict[str, Any] = {
            "client_id": settings.microsoft_client_id,
            "client_secret": settings.microsoft_client_secret,
            "tenant": settings.microsoft_tenant_id,
            "authority_host": settings.microsoft_authority_host,
            "ca_file": settings.ca_file,
            "timeout": settings.http_timeout,
        }
        if not reporting:
            return GraphTokenProvider(**options)
        return ReportingTokenProvider(
            **options,
            cache_state=merge_slices(self._known.values()),
            save_cache=self._save_cache,
            on_refused=self._refused,
        )

    async def provider(self) -> GraphTokenProvider:
        """The live token provider (built even before consent, for sync-account sign-ins)."""
        record = await self.book.get(MICROSOFT)
        generation = record.details.generation if record else 0
        return (await self.client(generation)).tokens

    async def _save_cache(self, serialized: str) -> None:
        """Store each sync account's slice of MSAL's cache in that account's own record."""
        self._last_cache = serialized
        for upn in accounts_in(serialized):
            piece = slice_for(serialized, upn)
            if piece is None or self._known.get(upn) == piece:
                continue
            # Only existing records: a new account's record is written when its sign-in ends.
            if await self.book.save_secret(sync_account_kind(upn), piece, create=False):
                self._known[upn] = piece

    async def _refused(self, kind: str, err: EntraError) -> str | None:
        """Handle a breaking refusal: fresher tokens to retry with, or mark it broken (None)."""
        self.book.handled.add(err)
        upn = sync_account_upn(kind)
        if upn is not None:
            record = await self.book.get(kind)
            if record is None:
                return None  # removed meanwhile
            if record.secret and record.secret != self._known.get(upn):
                # Another replica refreshed (and so rotated) this account's tokens: use theirs.
                self._known[upn] = record.secret
                return merge_slices(self._known.values())
        await self.book.mark_broken(kind, explain_entra_error(err), err.code)
        return None

    async def close(self) -> None:
        """Close every token provider built."""
        providers = list(self._retired)
        if self._client is not None:
            providers.append(self._client.tokens)
        for provider in providers:
            await provider.close()
        self._retired.clear()
        self._client = None

    # -- step 1: admin consent -----------------------------------------------------------

    async def begin_admin_consent(
        self, callback_path: str, login_hint: str | None, started_by: StartedBy
    ) -> StepStart:
        """The Entra admin-consent URL to send the admin's browser to, and its state."""
        state = secrets.token_urlsafe(32)
        now = self.clock()
        await self.store.put_ephemeral(
            f"microsoft-consent:{state}",
            {"started_by": started_by.record(), "started_at": now},
            now + FLOW_LIFETIME,
        )
        params = {
            "client_id": self.settings.microsoft_client_id or "",
            "scope": APP_SCOPE,
            "redirect_uri": self.redirect_uri(callback_path),
            "state": state,
        }
        if login_hint:
            params["login_hint"] = login_hint
        host = self.settings.microsoft_authority_host.rstrip("/")
        url = f"{host}/{self.settings.microsoft_tenant_id}/v2.0/adminconsent?{urlencode(params)}"
        return StepStart(url, state)

    async def finish_admin_consent(
        self, query: Mapping[str, str], check: CheckStarter
    ) -> SignInOutcome:
        """Handle Entra's redirect after admin consent: record it, or say why it failed."""
        taken = await take_started(self.store, "microsoft-consent", query, self.clock(), check)
        if isinstance(taken, SignInOutcome):
            return taken
        _started, by = taken
        if "error" in query:
            reason = explain_entra(query["error"], query.get("error_description", ""))
            logger.info("admin consent not given: %s", query["error"])
            return SignInOutcome.failed("Admin consent was not granted", reason)
        if query.get("admin_consent", "").lower() != "true":
            return SignInOutcome.failed(
                "Admin consent was not granted", "Microsoft did not confirm the consent."
            )
        tenant = query.get("tenant") or ""
        configured = (self.settings.microsoft_tenant_id or "").lower()
        if _is_guid(configured) and _is_guid(tenant) and tenant.lower() != configured:
            return SignInOutcome.failed(
                "Admin consent was granted for another organisation",
                f"Consent came from tenant {tenant}, but Presence Sync is set up for "
                f"{configured}. Sign in with an administrator of that organisation.",
            )
        details: dict[str, Any] = {
            "tenant": tenant or self.settings.microsoft_tenant_id,
            "consented_at": self.clock(),
            "method": "admin-consent",
            # Entra's answer does not name who consented, and a hint proves nothing: this is
            # the admin the product had signed in when the consent was started.
            "consented_by": by.email,
            "consented_by_source": by.via,
        }
        state = await self.check(details, actor=by.email)
        if state.status is ConnectionStatus.CONNECTED:
            return SignInOutcome.succeeded(
                "Microsoft is connected",
                "Admin consent was granted for your organisation. Next, authorise a sync "
                "account (step 2).",
                state.notes,
            )
        return SignInOutcome.failed("Microsoft is not fully connected", state.reason, state.notes)

    async def check(
        self, details: Mapping[str, Any] | None = None, actor: str = SYSTEM
    ) -> CheckResult:
        """Find out from an app-only token whether consent is in place and complete; record it."""
        try:
            # Right after a consent Entra may need a moment; a routine check asks once.
            roles = await self._granted_roles(CONSENT_PROPAGATION_TRIES if details else 1)
        except EntraError as err:
            refusal = explain_entra_error(err)
            if err.consent_missing:
                record = await self.book.get(MICROSOFT)
                if record is not None and record.status is ConnectionStatus.CONNECTED:
                    await self.book.mark_broken(MICROSOFT, refusal, err.code)
                return CheckResult(ConnectionStatus.MISSING, refusal, [])
            await self.book.mark_broken(MICROSOFT, refusal, err.code)
            return CheckResult(ConnectionStatus.BROKEN, refusal, [])
        missing = missing_roles(roles)
        notes = [f"Missing permission: {m.sentence()}" for m in missing]
        essential = [m for m in missing if m.essential]
        status = ConnectionStatus.BROKEN if essential else ConnectionStatus.CONNECTED
        reason: str | None = None
        if missing:
            names = ", ".join(m.sentence() for m in missing)
            reason = (
                f"Admin consent lacks {len(missing)} permission(s): {names}. Add them to the "
                "app registration's API permissions and grant admin consent again."
            )
        previous = await self.book.get(MICROSOFT)
        if status is ConnectionStatus.BROKEN and previous is not None:
            await self.book.mark_broken(MICROSOFT, reason or "", "missing_permissions")
        merged: dict[str, Any] = {
            "roles": sorted(roles),
            "missing": [m.name for m in missing],
            "checked_at": self.clock(),
            **(details or {}),
        }
        if previous is None and "method" not in merged:
            merged["method"] = "detected (consent granted outside Presence Sync)"
        recovering = previous is None or previous.status is not ConnectionStatus.CONNECTED
        await self.book.set_state(
            MICROSOFT, status, reason, details=merged, reconnected=recovering or bool(details)
        )
        if recovering and status is ConnectionStatus.CONNECTED:
            await self.book.audit("microsoft-connected", {"roles": sorted(roles)}, actor)
        return CheckResult(status, reason, notes)

    async def _granted_roles(self, tries: int) -> frozenset[str]:
        # A fresh provider each time: MSAL would replay an earlier refusal for a minute.
        for attempt in range(tries):
            provider = await self._fresh_provider(reporting=False)
            try:
                return await provider.granted_roles()
            except EntraError as err:
                if not err.consent_missing or attempt == tries - 1:
                    raise
            finally:
                await provider.close()
            await asyncio.sleep(CONSENT_PROPAGATION_WAIT)
        raise GraphUnavailableError("unreachable")  # pragma: no cover - loop always returns

    # -- step 2: sync accounts -----------------------------------------------------------

    async def begin_sync_account(
        self, callback_path: str, login_hint: str | None, started_by: StartedBy
    ) -> StepStart:
        """The Entra sign-in URL for a sync account (authorization code with PKCE)."""
        provider = await self.provider()
        flow = await provider.begin_auth_code_flow(
            self.redirect_uri(callback_path), login_hint=login_hint
        )
        now = self.clock()
        await self.store.put_ephemeral(
            f"microsoft-sync-account:{flow.state}",
            {"flow": dict(flow.flow), "started_by": started_by.record()},
            now + FLOW_LIFETIME,
        )
        return StepStart(flow.auth_uri, flow.state)

    async def finish_sync_account(
        self, params: Mapping[str, str], check: CheckStarter
    ) -> SignInOutcome:
        """Redeem the sign-in's code, store the account's tokens, and say how it went."""
        taken = await take_started(
            self.store, "microsoft-sync-account", params, self.clock(), check
        )
        if isinstance(taken, SignInOutcome):
            return taken
        started, by = taken
        if "error" in params:
            reason = explain_entra(params["error"], params.get("error_description", ""))
            return SignInOutcome.failed("The sync account was not authorised", reason)
        provider = await self.provider()
        try:
            account = await provider.finish_auth_code_flow(started["flow"], params)
        except EntraError as err:
            return SignInOutcome.failed(
                "The sync account was not authorised", explain_entra_error(err)
            )
        upn = account.username.lower()
        if not any(s.rpartition("/")[2] == DELEGATED_SCOPE for s in account.scopes):
            await provider.remove_account(upn)
            return SignInOutcome.failed(
                "The sync account was not authorised",
                f"Microsoft did not grant {DELEGATED_SCOPE} to {upn}; grant admin consent "
                "(step 1) and sign in again.",
            )
        piece = slice_for(self._last_cache, upn)
        await self.book.set_state(
            sync_account_kind(upn),
            ConnectionStatus.CONNECTED,
            None,
            details={
                "upn": upn,
                "object_id": account.object_id,
                "authorised_at": self.clock(),
                "scopes": sorted(account.scopes),
            },
            secret=piece,
            reconnected=True,
        )
        if piece is not None:
            self._known[upn] = piece
        await self.book.audit("sync-account-authorised", {"upn": upn}, actor=by.email)
        return SignInOutcome.succeeded(
            "Sync account authorised",
            f"{upn} is authorised as a sync account. Presence Sync uses it to receive Teams "
            "presence changes as they happen.",
        )

    async def remove_sync_account(self, upn: str, *, actor: str) -> bool:
        """Forget a sync account and its tokens; False when there was none."""
        kind = sync_account_kind(upn)
        if await self.book.get(kind) is None:
            return False
        if self._client is not None:
            await self._client.tokens.remove_account(upn)
        self._known.pop(upn.strip().lower(), None)
        await self.store.delete_connection(kind)
        await self.book.audit("sync-account-removed", {"upn": upn.lower()}, actor)
        return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a consent check: state, reason, and notes naming missing permissions."""

    status: ConnectionStatus
    reason: str | None
    notes: list[str]
