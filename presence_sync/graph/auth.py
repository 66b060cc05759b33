"""Entra ID tokens for Microsoft Graph through MSAL: app-only, and delegated sync accounts.

MSAL is synchronous (it speaks `requests`), so every call runs in `asyncio.to_thread`. Two MSAL
applications share one HTTP session: one for app-only tokens with an in-memory cache (they are
cheap to re-acquire), one for sync accounts whose `SerializableTokenCache` holds refresh tokens
and is handed to `save_cache` (the store keeps it encrypted) whenever MSAL changes it.

    GraphAuthError
    └── EntraError(code, description, error_codes)   Entra refused; `breaks_connection` tells
                                                     whether an admin must act (revoked consent,
                                                     invalid_grant, bad secret, no such account)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import msal
import requests
from msal.exceptions import MsalServiceError

from presence_sync.errors import GraphAuthError, GraphError, GraphUnavailableError
from presence_sync.http import requests_session

__all__ = [
    "APP_SCOPE",
    "APP_TOKEN",
    "SYNC_ACCOUNT_SCOPES",
    "AuthCodeFlow",
    "EntraError",
    "GraphToken",
    "GraphTokenProvider",
    "SignedInAccount",
]

logger = logging.getLogger(__name__)

APP_SCOPE = "https://graph.microsoft.com/.default"
# MSAL adds openid, profile and offline_access itself (and refuses them if passed).
SYNC_ACCOUNT_SCOPES = (
    "https://graph.microsoft.com/Presence.Read.All",
    "https://graph.microsoft.com/User.Read",
)
# Entra answers that no retry fixes: an admin has to consent, re-authorise or fix the secret.
_BREAKING_ERRORS = frozenset(
    {
        "invalid_grant",
        "consent_required",
        "interaction_required",
        "login_required",
        "unauthorized_client",
        "invalid_client",
        "access_denied",
        "no_account",
    }
)
# AADSTS codes for missing or withdrawn consent, or an app the tenant does not know.
_CONSENT_CODES = frozenset({65001, 65004, 700016, 7000112, 500011})
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})

SaveCache = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class GraphToken:
    """The token a Graph call is made with: the app's own, or a sync account's delegated one."""

    upn: str | None = None  # the sync account (lower case); None for the app-only token

    def __post_init__(self) -> None:
        if self.upn is not None:
            upn = self.upn.strip().lower()
            if not upn:
                raise ValueError("a delegated Graph token names its sync account")
            object.__setattr__(self, "upn", upn)

    @classmethod
    def delegated(cls, upn: str) -> GraphToken:
        """The delegated token of sync account `upn`."""
        return cls(upn)

    def __str__(self) -> str:
        return "app-only" if self.upn is None else f"sync account {self.upn}"


APP_TOKEN = GraphToken()


class EntraError(GraphAuthError):
    """Entra ID refused to issue a token; `code` is Entra's `error` (e.g. `invalid_grant`)."""

    def __init__(
        self,
        code: str,
        description: str = "",
        error_codes: Iterable[int] = (),
        suberror: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.error_codes = tuple(error_codes)
        self.suberror = suberror

    @property
    def consent_missing(self) -> bool:
        """Whether Entra says the organisation's consent for the app is missing or withdrawn."""
        return (
            self.code in {"consent_required", "unauthorized_client"}
            or self.suberror == "consent_required"
            or bool(_CONSENT_CODES & set(self.error_codes))
        )

    @property
    def breaks_connection(self) -> bool:
        """Whether the Microsoft connection must be marked broken until an admin acts."""
        return self.code in _BREAKING_ERRORS or self.consent_missing


@dataclass(frozen=True)
class AuthCodeFlow:
    """A started sign-in: send the browser to `auth_uri`; keep `flow` until the redirect returns."""

    auth_uri: str
    state: str
    flow: Mapping[str, Any]  # MSAL's flow (PKCE verifier, nonce): store it server-side only


@dataclass(frozen=True)
class SignedInAccount:
    """The sync account a finished sign-in authorised."""

    username: str
    object_id: str | None
    tenant_id: str | None
    scopes: frozenset[str]


@dataclass
class GraphTokenProvider:
    """Access tokens for Graph: `app_token()` and `delegated_token(upn)`, off the event loop."""

    client_id: str
    client_secret: str = field(repr=False)
    tenant: str
    authority_host: str = "https://login.microsoftonline.com"
    ca_file: str | Path | None = None
    timeout: float = 10.0
    cache_state: str | None = field(default=None, repr=False)  # the store's serialized cache
    save_cache: SaveCache | None = None
    _http: requests.Session | None = field(default=None, init=False, repr=False)
    _app: msal.ConfidentialClientApplication | None = field(default=None, init=False, repr=False)
    _delegated: msal.ConfidentialClientApplication | None = field(
        default=None, init=False, repr=False
    )
    _cache: msal.SerializableTokenCache = field(
        default_factory=msal.SerializableTokenCache, init=False, repr=False
    )
    _build_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.cache_state:
            self._cache.deserialize(self.cache_state)
        self.cache_state = None  # the cache object owns it from here on

    @property
    def authority(self) -> str:
        """The tenant's authority URL."""
        return f"{self.authority_host.rstrip('/')}/{self.tenant}"

    async def app_token(self) -> str:
        """An app-only access token for Graph (client credentials; MSAL caches it)."""
        app = await self._application(delegated=False)
        result = await self._call(app.acquire_token_for_client, [APP_SCOPE])
        return _access_token(result)

    async def delegated_token(self, account_upn: str) -> str:
        """An access token of sync account `account_upn`, refreshed silently from the cache."""
        app = await self._application(delegated=True)
        accounts = await self._call(app.get_accounts, account_upn)
        if not accounts:
            raise EntraError("no_account", f"sync account {account_upn} has not been authorised")
        result = await self._call(
            app.acquire_token_silent_with_error, list(SYNC_ACCOUNT_SCOPES), accounts[0]
        )
        await self._persist()
        if result is None:
            raise EntraError(
                "interaction_required", f"no usable refresh token for sync account {account_upn}"
            )
        return _access_token(result)

    async def token_for(self, kind: GraphToken) -> str:
        """The access token of a kind: the app's own, or a sync account's."""
        if kind.upn is None:
            return await self.app_token()
        return await self.delegated_token(kind.upn)

    def forget_token(self, access_token: str) -> None:
        """Drop a cached access token Graph refused, so the next call fetches a fresh one."""
        for app in (self._app, self._delegated):
            if app is None:
                continue
            cache = app.token_cache
            # Materialised first: removing while MSAL's search generator runs breaks it.
            for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                if entry.get("secret") == access_token:
                    cache.remove_at(entry)

    async def begin_auth_code_flow(
        self,
        redirect_uri: str,
        scopes: Iterable[str] = SYNC_ACCOUNT_SCOPES,
        login_hint: str | None = None,
        state: str | None = None,
        response_mode: str = "form_post",
    ) -> AuthCodeFlow:
        """Start a sync-account sign-in (authorization code with PKCE).

        The default `form_post` (RFC 9700's advice) brings the code back in a POST body, which
        keeps it out of browser history and referrers; `query` brings it in the URL.
        """
        app = await self._application(delegated=True)
        flow: dict[str, Any] = await self._call(
            app.initiate_auth_code_flow,
            list(scopes),
            redirect_uri=redirect_uri,
            state=state,
            login_hint=login_hint,
            response_mode=response_mode,
        )
        if "error" in flow:
            raise _entra_error(flow)
        return AuthCodeFlow(auth_uri=flow["auth_uri"], state=flow["state"], flow=flow)

    async def finish_auth_code_flow(
        self, flow: AuthCodeFlow | Mapping[str, Any], query: Mapping[str, str]
    ) -> SignedInAccount:
        """Redeem the redirect's query for tokens; the cache (with the new account) is saved."""
        app = await self._application(delegated=True)
        data = dict(flow.flow if isinstance(flow, AuthCodeFlow) else flow)
        try:
            result = await self._call(app.acquire_token_by_auth_code_flow, data, dict(query))
        except ValueError as err:
            # MSAL raises for a state that does not match the flow: a replayed or forged redirect.
            raise EntraError("state_mismatch", str(err)) from err
        _access_token(result)
        await self._persist()
        claims = result.get("id_token_claims") or {}
        username = claims.get("preferred_username") or query.get("login_hint") or ""
        return SignedInAccount(
            username=str(username),
            object_id=claims.get("oid"),
            tenant_id=claims.get("tid"),
            scopes=frozenset(str(result.get("scope", "")).split()),
        )

    async def accounts(self) -> list[str]:
        """User names of the sync accounts present in the cache."""
        app = await self._application(delegated=True)
        found = await self._call(app.get_accounts)
        return sorted({str(a.get("username", "")) for a in found if a.get("username")})

    async def remove_account(self, account_upn: str) -> None:
        """Forget a sync account's tokens (the admin removed it)."""
        app = await self._application(delegated=True)
        for account in await self._call(app.get_accounts, account_upn):
            await self._call(app.remove_account, account)
        await self._persist()

    def restore_cache(self, serialized: str | None) -> None:
        """Replace the sync-account cache with one read from the store (another replica's)."""
        self._cache.deserialize(serialized)

    async def granted_roles(self) -> frozenset[str]:
        """The application permissions admin consent granted, read from the app-only token."""
        token = await self.app_token()
        try:
            # Not verified on purpose: MSAL just fetched it from Entra over TLS, and only the
            # claims are read; Graph itself verifies tokens on every call.
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise GraphAuthError("the app-only token is not a JWT") from err
        roles = claims.get("roles") or []
        return frozenset(str(r) for r in roles)

    async def close(self) -> None:
        """Close the HTTP session MSAL uses."""
        if self._http is not None:
            await asyncio.to_thread(self._http.close)
            self._http = None

    async def _application(self, delegated: bool) -> msal.ConfidentialClientApplication:
        current = self._delegated if delegated else self._app
        if current is not None:
            return current
        async with self._build_lock:
            if self._http is None:
                self._http = requests_session(self.ca_file, self.timeout)
            if delegated and self._delegated is None:
                self._delegated = await self._call(self._build, self._cache)
            if not delegated and self._app is None:
                self._app = await self._call(self._build, msal.TokenCache())
        built = self._delegated if delegated else self._app
        assert built is not None
        return built

    def _build(self, cache: msal.TokenCache) -> msal.ConfidentialClientApplication:
        # Building reads the authority's OpenID metadata over the network; MSAL raises a
        # ValueError when it cannot, which the caller reports as Entra being unavailable.
        try:
            return self._construct(cache)
        except ValueError as err:
            raise GraphUnavailableError(f"Entra ID metadata unusable: {err}") from err

    def _construct(self, cache: msal.TokenCache) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self.client_id,
            authority=self.authority,
            client_credential=self.client_secret,
            instance_discovery=False,
            http_client=self._http,
            token_cache=cache,
            timeout=self.timeout,
        )

    async def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except requests.RequestException as err:
            raise GraphUnavailableError(f"Entra ID unreachable: {type(err).__name__}") from err
        except MsalServiceError as err:
            # MSAL raises this for HTTP failures (5xx, 429) of Entra itself; refusals of a
            # grant come back as error dicts instead, handled by `_entra_error`.
            raise GraphUnavailableError(f"Entra ID failed: {err}") from err

    async def _persist(self) -> None:
        if self.save_cache is None or not self._cache.has_state_changed:
            return
        await self.save_cache(self._cache.serialize())


def _access_token(result: Any) -> str:
    if not isinstance(result, dict):
        raise GraphUnavailableError("Entra ID gave no answer")
    token = result.get("access_token")
    if isinstance(token, str) and token:
        return token
    raise _entra_error(result)


def _entra_error(result: Mapping[str, Any]) -> GraphError:
    error = result.get("error")
    if not isinstance(error, str) or not error:
        # Not Entra's OAuth shape: an intermediary or an outage answered.
        return GraphUnavailableError("Entra ID answered without a usable error or token")
    code = error
    description = str(result.get("error_description") or "")
    codes = [c for c in result.get("error_codes") or () if isinstance(c, int)]
    if code in _TRANSIENT_ERRORS:
        logger.warning("Entra ID is failing (%s); will retry", code)
        return GraphUnavailableError(f"Entra ID {code}: {description}")
    logger.warning("Entra ID refused a token: %s %s", code, codes)
    return EntraError(code, description, codes, result.get("suberror"))
