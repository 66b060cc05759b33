"""RingCentral OAuth: the JWT bearer, authorization-code and refresh grants, revocation,
and bearer checks.

Access and refresh tokens are opaque random strings whose lifetimes run on the sandbox
clock. Refresh tokens rotate: each refresh answers a new pair and retires the old refresh
token, as RingCentral does. A JWT login speaks for the account's admin (the JWT's owner); an
authorization code speaks for the extension that signed in on the authorize page. Codes live
60 s, work once, must come back with the same `redirect_uri` and, when the sign-in carried a
PKCE challenge, with the `code_verifier` that hashes to it.

The control fault `{"revoke": "ringcentral-token"}` invalidates every token, refresh token
and unredeemed code issued until then (401 TokenInvalid / invalid_grant); the JWT credential
itself stays valid, so a client recovers by logging in again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.ringcentral.api import RcApiError, oauth_error, rest_error
from sandbox.ringcentral.identities import Identities

logger = logging.getLogger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CODE_GRANT = "authorization_code"
CODE_LIFETIME = 60.0  # sandbox seconds an authorization code can be redeemed
ACCESS_TOKEN_TTL = 3600
REFRESH_TOKEN_TTL = 604800
SCOPE = "ReadAccounts ReadPresence EditPresence EditExtensions WebhookSubscriptions"


@dataclass(frozen=True)
class Session:
    """Who an access token speaks for."""

    client_id: str
    owner_id: str  # the extension the token speaks for (the JWT owner, or who signed in)
    access_token: str
    refresh_token: str
    expires_at: float


@dataclass
class _Refresh:
    client_id: str
    owner_id: str
    expires_at: float
    access_token: str


@dataclass(frozen=True)
class AuthCode:
    """An authorization code handed out by the authorize page, waiting to be redeemed."""

    client_id: str
    redirect_uri: str
    owner_id: str  # the extension that signed in
    code_challenge: str | None
    code_challenge_method: str | None  # S256 | plain
    expires_at: float

    def verifier_matches(self, verifier: str) -> bool:
        """Whether `verifier` is the PKCE code verifier of this code's challenge."""
        if self.code_challenge is None:
            return True
        if not verifier:
            return False
        if self.code_challenge_method == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return secrets.compare_digest(verifier, self.code_challenge)


@dataclass
class TokenStore:
    """Issued tokens of the sandbox's RingCentral account."""

    ctx: SandboxContext
    owner_id: str
    identities: Identities
    _access: dict[str, Session] = field(default_factory=dict)
    _refresh: dict[str, _Refresh] = field(default_factory=dict)
    _codes: dict[str, AuthCode] = field(default_factory=dict)
    _revocation_seen: bool = False

    def _apply_revocation(self) -> None:
        # The fault flag stays set until faults are cleared; it revokes what exists when it is
        # first seen, so logins after it work again.
        revoked = self.ctx.faults.is_revoked("ringcentral-token")
        if revoked and not self._revocation_seen:
            logger.info("revoking %d RingCentral access tokens", len(self._access))
            self._access.clear()
            self._refresh.clear()
            self._codes.clear()
        self._revocation_seen = revoked

    def client_id(self, request: web.Request) -> str:
        """The app's client id from HTTP Basic auth, checked against the configured secret."""
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            raise oauth_error(401, "invalid_client", "OAU-123", "Client authentication is required")
        try:
            client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise oauth_error(401, "invalid_client", "OAU-153", "Invalid client: ") from err
        config = self.ctx.config
        if client_id != config.rc_client_id or not secrets.compare_digest(
            secret, config.rc_client_secret
        ):
            raise oauth_error(401, "invalid_client", "OAU-153", f"Invalid client: {client_id}")
        return client_id

    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        owner_id: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> str:
        """A fresh single-use authorization code for `owner_id`, valid for CODE_LIFETIME."""
        now = self.ctx.clock.now()
        for stale in [c for c, v in self._codes.items() if v.expires_at <= now]:
            del self._codes[stale]
        code = secrets.token_urlsafe(32)
        self._codes[code] = AuthCode(
            client_id,
            redirect_uri,
            owner_id,
            code_challenge,
            code_challenge_method,
            now + CODE_LIFETIME,
        )
        return code

    def pending_codes(self) -> int:
        """How many unexpired codes wait to be redeemed (for the control API)."""
        now = self.ctx.clock.now()
        return sum(1 for c in self._codes.values() if c.expires_at > now)

    def _redeem(self, client_id: str, form: dict[str, str]) -> dict[str, object]:
        code = form.get("code", "")
        # Popped first: a code is spent by its first use, whether that use succeeds or not.
        record = self._codes.pop(code, None)
        if record is None:
            raise oauth_error(400, "invalid_grant", "OAU-109", "Authorization code is invalid")
        if record.client_id != client_id:
            raise oauth_error(400, "invalid_grant", "OAU-109", "Authorization code is invalid")
        if record.expires_at <= self.ctx.clock.now():
            raise oauth_error(400, "invalid_grant", "OAU-110", "Authorization code is expired")
        if form.get("redirect_uri", "") != record.redirect_uri:
            raise oauth_error(
                400, "invalid_grant", "OAU-111", "Redirect URI does not match the authorization"
            )
        if not record.verifier_matches(form.get("code_verifier", "")):
            raise oauth_error(400, "invalid_grant", "OAU-112", "Invalid code verifier")
        return self._issue(client_id, record.owner_id)

    def _issue(self, client_id: str, owner_id: str | None = None) -> dict[str, object]:
        owner = owner_id or self.owner_id
        now = self.ctx.clock.now()
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        self._access[access] = Session(client_id, owner, access, refresh, now + ACCESS_TOKEN_TTL)
        self._refresh[refresh] = _Refresh(client_id, owner, now + REFRESH_TOKEN_TTL, access)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_TOKEN_TTL,
            "scope": SCOPE,
            "owner_id": owner,
            "endpoint_id": secrets.token_urlsafe(16),
        }

    def grant(self, client_id: str, form: dict[str, str]) -> dict[str, object]:
        """Answer a token request for an authenticated client, or RcApiError."""
        self._apply_revocation()
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_GRANT:
            assertion = form.get("assertion", "")
            owner = self.identities.owner_of(assertion) if assertion else None
            if owner is None:
                raise oauth_error(
                    400, "invalid_grant", "OAU-140", "Invalid resource owner credentials"
                )
            return self._issue(client_id, owner)
        if grant_type == CODE_GRANT:
            return self._redeem(client_id, form)
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            record = self._refresh.get(token)
            if record is None or record.client_id != client_id:
                raise oauth_error(400, "invalid_grant", "OAU-213", "Token not found")
            if record.expires_at <= self.ctx.clock.now():
                del self._refresh[token]
                raise oauth_error(400, "invalid_grant", "OAU-210", "Token expired")
            del self._refresh[token]
            self._access.pop(record.access_token, None)
            # The new pair speaks for the same user as the old (an OAuth sign-in stays theirs).
            return self._issue(client_id, record.owner_id)
        raise oauth_error(400, "invalid_request", "OAU-250", "Unsupported grant type")

    def revoke(self, client_id: str, token: str) -> None:
        """Retire an access or refresh token together with its partner."""
        session = self._access.pop(token, None)
        if session is not None:
            self._refresh.pop(session.refresh_token, None)
            return
        record = self._refresh.pop(token, None)
        if record is not None:
            self._access.pop(record.access_token, None)

    def authenticate(self, request: web.Request) -> Session:
        """The session of the request's bearer token, or RcApiError 401."""
        self._apply_revocation()
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            raise rest_error(401, "AGW-401", "Authorization header is not specified")
        session = self._access.get(header[7:].strip())
        if session is None:
            raise _token_invalid("Token not found")
        if session.expires_at <= self.ctx.clock.now():
            raise _token_invalid("Access token expired")
        return session

    def withdraw(self, owner_id: str) -> int:
        """Retire every token and unredeemed code of `owner_id`; how many tokens died."""
        dead = [t for t, s in self._access.items() if s.owner_id == owner_id]
        for token in dead:
            del self._access[token]
        for token in [t for t, r in self._refresh.items() if r.owner_id == owner_id]:
            del self._refresh[token]
        for code in [c for c, v in self._codes.items() if v.owner_id == owner_id]:
            del self._codes[code]
        return len(dead)

    def active_sessions(self) -> int:
        """How many unexpired access tokens exist (for the control API)."""
        now = self.ctx.clock.now()
        return sum(1 for s in self._access.values() if s.expires_at > now)


def _token_invalid(message: str) -> RcApiError:
    return RcApiError(
        401,
        {
            "errorCode": "TokenInvalid",
            "message": message,
            "errors": [{"errorCode": "OAU-213", "message": message}],
        },
    )
