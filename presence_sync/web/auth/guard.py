"""Who is calling an admin route, and whether they may.

Three ways in, and nothing else: a bearer token from Teams SSO (`authentication.getAuthToken`),
the tab's session cookie outside Teams (with the CSRF token on every change, and an Origin that
is the product's own), or a single-use ticket that starts one pop-up step. No credentials
answer 401; someone who is not an admin 403, with the reason in words.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from aiohttp import web

from presence_sync.access import Admins, Verdict
from presence_sync.errors import (
    CsrfError,
    ForbiddenError,
    NotConfiguredError,
    UnauthenticatedError,
)
from presence_sync.web.auth.limits import StartLimit
from presence_sync.web.auth.sessions import SESSION_COOKIE, Session, Sessions, Ticket
from presence_sync.web.auth.signin import SignInFlow
from presence_sync.web.auth.tokens import EntraTokens, Identity

__all__ = ["CSRF_HEADER", "Caller", "TabAuth"]

logger = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
TEAMS_SSO_SCOPE = "access_as_user"  # the scope the app exposes for Teams SSO
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """A signed-in person and how they signed in."""

    identity: Identity
    via: Literal["sso", "cookie", "ticket"]
    verdict: Verdict
    session: Session | None = None
    ticket: Ticket | None = None

    @property
    def email(self) -> str:
        """How audit entries and job reports name them."""
        return self.identity.email or self.identity.oid

    @property
    def key(self) -> str:
        """What their starts are counted under: the object id, which no rename changes."""
        return self.identity.oid or self.identity.email


class TabAuth:
    """Authenticates requests to the admin routes."""

    def __init__(
        self,
        *,
        public_url: str,
        tokens: EntraTokens | None,
        signin: SignInFlow | None,
        sessions: Sessions,
        admins: Admins,
        starts: StartLimit,
        logins: StartLimit,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.tokens = tokens
        self.signin = signin
        self.sessions = sessions
        self.admins = admins
        # Each start keeps a state in the store until it ends: no caller may start unbounded.
        self.starts = starts
        self.logins = logins

    def _tokens(self) -> EntraTokens:
        if self.tokens is None:
            raise NotConfiguredError(
                "sign-in needs the product's Entra app: set MICROSOFT_TENANT_ID, "
                "MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET"
            )
        return self.tokens

    async def caller(self, request: web.Request) -> Caller:
        """The signed-in caller, admin or not; `UnauthenticatedError` when there is none."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthenticatedError("the Authorization header must be 'Bearer <token>'")
            identity = await self._tokens().verify(token.strip(), scope=TEAMS_SSO_SCOPE)
            return Caller(identity, "sso", await self._verdict(identity))
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            session = await self.sessions.read(cookie)
            if session is None:
                raise UnauthenticatedError("your sign-in has expired or ended; sign in again")
            verdict = await self._verdict(session.identity)
            return Caller(session.identity, "cookie", verdict, session)
        raise UnauthenticatedError(
            "sign in first: open Presence Sync in Teams, or sign in at /tab/"
        )

    async def admin(self, request: web.Request) -> Caller:
        """The caller if they are an admin; changes by cookie also need the CSRF token."""
        caller = await self.caller(request)
        if not caller.verdict.admin:
            logger.info("refused %s %s to %s", request.method, request.path, caller.email)
            raise ForbiddenError(caller.verdict.reason or "only admins may do this")
        if caller.via == "cookie" and request.method not in _SAFE_METHODS:
            self.check_csrf(request, caller)
        return caller

    def check_csrf(self, request: web.Request, caller: Caller) -> None:
        """Refuse a cookie-borne change that another site could have sent."""
        origin = request.headers.get("Origin")
        if origin is not None and origin != self._origin():
            raise CsrfError(f"requests from {origin!r} may not change Presence Sync")
        sent = request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogateescape")
        if caller.session is None or not hmac.compare_digest(
            sent, caller.session.csrf.encode()
        ):
            raise CsrfError(
                f"the {CSRF_HEADER} header is missing or wrong: reload the page and try again"
            )

    async def admin_or_ticket(self, request: web.Request, step: str) -> Caller:
        """An admin, or the holder of a ticket for `step` (pop-ups carry no credentials)."""
        value = request.query.get("start")
        if value is None:
            return await self.admin(request)
        ticket = await self.sessions.redeem_ticket(value, step)
        if ticket is None:
            raise UnauthenticatedError(
                "this link has expired or was already used: start the step again from the tab"
            )
        identity = Identity(ticket.oid, "", ticket.email, ticket.email, (), 0.0)
        return Caller(identity, "ticket", Verdict(True), ticket=ticket)

    async def _verdict(self, identity: Identity) -> Verdict:
        return await self.admins.verdict(identity.email, identity.oid, identity.wids)

    def _origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"
