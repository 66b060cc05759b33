"""The tab's sign-in sessions outside Teams, and single-use tickets for pop-up steps.

A session is a random id in an HttpOnly, SameSite=Lax cookie, signed with a key derived from
the product's secret key; what it stands for (who signed in, until when) lives in the store, so
sign-out ends it everywhere and every instance of the product sees the same sessions. The CSRF
token is derived from the session id, so a page can only know it by reading
`/api/tab/session` with the cookie, which another site cannot do.

Anyone may start a sign-in, so its state lives five minutes only and starts are counted per
client address, in the store (`limits.StartLimit`); a state no browser finishes is gone soon
after.

Pop-ups (admin consent, a sync account's sign-in, RingCentral's) carry no token or cookie when
they open inside Teams, so the tab asks for a ticket: a random, single-use, five-minute value
bound to the admin who asked and to one step.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from presence_sync.store.base import Store
from presence_sync.web.auth.tokens import Identity

__all__ = [
    "LOGIN_COOKIE",
    "LOGIN_SECONDS",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "Session",
    "Sessions",
    "Ticket",
]

SESSION_COOKIE = "presence_sync_session"
LOGIN_COOKIE = "presence_sync_login"
SESSION_SECONDS = 8 * 3600
LOGIN_SECONDS = 300  # an admin has five minutes to finish signing in; anyone may start one
TICKET_SECONDS = 300
STEPS = ("consent", "sync-account", "ringcentral", "ringcentral-identity")


@dataclass(frozen=True)
class Session:
    """A signed-in person outside Teams."""

    id_hash: str
    identity: Identity
    csrf: str
    expires_at: float


@dataclass(frozen=True)
class Ticket:
    """A single-use permission to start one pop-up step, for one admin."""

    step: str
    email: str
    oid: str
    login_hint: str | None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Sessions:
    """Session cookies, sign-in states and step tickets, kept in the store."""

    def __init__(
        self, store: Store, secret_key: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._key = hashlib.sha256(b"presence-sync tab sessions\0" + secret_key).digest()
        self._clock = clock

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
        return _b64(mac)

    @staticmethod
    def _hash(value: str) -> str:
        # The store keeps hashes: a copy of the database does not hand out usable cookies.
        return hashlib.sha256(value.encode()).hexdigest()

    async def start(self, identity: Identity) -> tuple[str, Session]:
        """A new session for `identity`: the cookie value and the session."""
        sid = secrets.token_urlsafe(32)
        expires_at = self._clock() + SESSION_SECONDS
        session = Session(self._hash(sid), identity, self._sign("csrf", sid), expires_at)
        await self._store.put_ephemeral(
            f"tab-session:{session.id_hash}",
            {"identity": asdict(identity), "csrf": session.csrf, "expires_at": expires_at},
            expires_at,
        )
        return f"{sid}.{self._sign('session', sid)}", session

    async def read(self, cookie: str | None) -> Session | None:
        """The session a cookie stands for; None when forged, expired or signed out."""
        sid = self._verified(cookie)
        if sid is None:
            return None
        id_hash = self._hash(sid)
        record = await self._store.peek_ephemeral(f"tab-session:{id_hash}", self._clock())
        if record is None:
            return None
        raw = dict(record["identity"])
        raw["wids"] = tuple(raw.get("wids") or ())
        identity = Identity(**raw)
        return Session(id_hash, identity, str(record["csrf"]), float(record["expires_at"]))

    async def end(self, cookie: str | None) -> bool:
        """Sign out: the session stops counting everywhere."""
        sid = self._verified(cookie)
        if sid is None:
            return False
        return (
            await self._store.take_ephemeral(f"tab-session:{self._hash(sid)}", self._clock())
            is not None
        )

    def _verified(self, cookie: str | None) -> str | None:
        # A cookie is two base64url parts; anything else (non-ASCII included) is forged.
        if not cookie or len(cookie) > 200 or cookie.count(".") != 1 or not cookie.isascii():
            return None
        sid, mac = cookie.split(".")
        if not hmac.compare_digest(mac.encode(), self._sign("session", sid).encode()):
            return None
        return sid

    # -- sign-in states -------------------------------------------------------------------

    def login_binding(self, state: str, purpose: str = "login") -> str:
        """The value of the cookie that ties a sign-in (or a pop-up step, by `purpose`) to
        the browser that started it."""
        return self._sign(purpose, state)

    def bound(self, state: str, cookie: str | None, purpose: str = "login") -> bool:
        """Whether this browser started the sign-in with this `state` (login CSRF)."""
        if not cookie or not cookie.isascii():
            return False
        return hmac.compare_digest(cookie.encode(), self.login_binding(state, purpose).encode())

    async def alive(self, id_hash: str) -> bool:
        """Whether the session with this id hash is still signed in."""
        record = await self._store.peek_ephemeral(f"tab-session:{id_hash}", self._clock())
        return record is not None

    async def remember_login(self, state: str, flow: dict[str, object], back: str) -> None:
        """Keep a started sign-in's flow (PKCE verifier, nonce) until Entra answers."""
        await self._store.put_ephemeral(
            f"tab-login:{state}", {"flow": flow, "return": back}, self._clock() + LOGIN_SECONDS
        )

    async def take_login(self, state: str) -> tuple[dict[str, object], str] | None:
        """The flow and return path of a started sign-in, once."""
        record = await self._store.take_ephemeral(f"tab-login:{state}", self._clock())
        if record is None:
            return None
        return dict(record["flow"]), str(record["return"])

    # -- pop-up step tickets --------------------------------------------------------------

    async def issue_ticket(self, ticket: Ticket) -> str:
        """A single-use value that lets `ticket.email` start `ticket.step` for five minutes."""
        value = secrets.token_urlsafe(32)
        await self._store.put_ephemeral(
            f"tab-ticket:{self._hash(value)}", asdict(ticket), self._clock() + TICKET_SECONDS
        )
        return value

    async def redeem_ticket(self, value: str, step: str) -> Ticket | None:
        """The ticket behind `value` if it was issued for `step`; spent either way."""
        if not value or len(value) > 128 or not value.isascii():
            return None
        record = await self._store.take_ephemeral(f"tab-ticket:{self._hash(value)}", self._clock())
        if record is None or record.get("step") != step:
            return None
        return Ticket(**record)
