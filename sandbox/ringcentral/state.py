"""The RingCentral emulation's state per sandbox app, and the wrapper every REST route uses.

The wrapper authenticates the bearer token, charges the route's rate-limit group to the
token's (app, user), runs the handler, and puts the `X-Rate-Limit-*` headers on whatever
is answered, errors included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import wraps

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.model import RcExtension
from sandbox.ringcentral.api import RcApiError, not_found
from sandbox.ringcentral.auth import Session, TokenStore
from sandbox.ringcentral.identities import Identities
from sandbox.ringcentral.limits import RateLimiter
from sandbox.ringcentral.status import PresenceSettings
from sandbox.ringcentral.webhooks import SubscriptionStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ApiHandler = Callable[[web.Request, "RingCentralState", Session], Awaitable[web.StreamResponse]]


def owner_extension_id(ctx: SandboxContext) -> str:
    """The JWT credential's owner: the account's first enabled User extension (its admin)."""
    for ext in ctx.org.rc_extensions.values():
        if ext.type == "User" and ext.status == "Enabled":
            return ext.id
    # A seeded account without users still serves its directory; `~` then names no extension.
    return ctx.org.rc_account_id


@dataclass
class RingCentralState:
    """Tokens, limits, subscriptions and extra presence fields of one sandbox account."""

    ctx: SandboxContext
    tokens: TokenStore
    limiter: RateLimiter
    subscriptions: SubscriptionStore
    settings: dict[str, PresenceSettings] = field(default_factory=dict)
    # Presence PUTs accepted, by the user whose token sent them (control API: identities).
    presence_writes_by_user: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, ctx: SandboxContext) -> RingCentralState:
        """Fresh state for `ctx`'s account."""
        settings: dict[str, PresenceSettings] = {}

        def settings_of(ext: RcExtension) -> PresenceSettings:
            return settings.setdefault(ext.id, PresenceSettings())

        owner = owner_extension_id(ctx)
        identities = Identities(
            f"{ctx.config.base_url}/ringcentral/restapi/oauth/token", ctx.config.rc_client_id
        )
        identities.add_owner(owner, ctx.config.rc_jwt)
        return cls(
            ctx=ctx,
            tokens=TokenStore(ctx, owner, identities),
            limiter=RateLimiter(ctx.clock),
            subscriptions=SubscriptionStore(ctx, settings_of, admin_id=owner),
            settings=settings,
        )

    @property
    def base(self) -> str:
        """RingCentral's server URL as clients see it (the SDK's server URL)."""
        return f"{self.ctx.config.base_url}/ringcentral"

    @property
    def admin_id(self) -> str:
        """The account's admin extension (the JWT credential's owner)."""
        return self.tokens.owner_id

    @property
    def account_id(self) -> str:
        """The account's id as RingCentral puts it in URIs."""
        return self.ctx.org.rc_account_id

    @property
    def identities(self) -> Identities:
        """The account's JWT credentials and who may edit others' presence."""
        return self.tokens.identities

    def settings_of(self, ext: RcExtension) -> PresenceSettings:
        """The extension's presence fields beyond the shared model."""
        return self.settings.setdefault(ext.id, PresenceSettings())

    def check_account(self, account_id: str) -> None:
        """Refuse any account but `~` and our own."""
        if account_id not in ("~", self.account_id):
            raise not_found("accountId", account_id)

    def extension(self, extension_id: str, session: Session) -> RcExtension:
        """The extension named in a path (`~` is the token's owner), or 404."""
        wanted = session.owner_id if extension_id == "~" else extension_id
        ext = self.ctx.org.rc_extensions.get(wanted)
        if ext is None:
            raise not_found("extensionId", extension_id)
        return ext

    def presence_changed(self, ext: RcExtension) -> None:
        """Record a presence change: bump the sequence and notify subscribers."""
        ext.presence.sequence += 1
        self.subscriptions.publish(ext)


RC_STATE = web.AppKey("ringcentral_state", RingCentralState)


def api(group: str) -> Callable[[ApiHandler], Handler]:
    """Make an authenticated, rate-limited RingCentral REST handler charged to `group`."""

    def wrap(handler: ApiHandler) -> Handler:
        @wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            state = request.app[RC_STATE]
            try:
                session = state.tokens.authenticate(request)
                headers = state.limiter.take(session.client_id, session.owner_id, group)
            except RcApiError as err:
                return err.response()
            try:
                response = await handler(request, state, session)
            except RcApiError as err:
                response = err.response()
            response.headers.update(headers)
            return response

        return run

    return wrap
