"""Who started a sign-in step: kept with its single-use state, checked when it comes back.

Admin consent, a sync account's sign-in and RingCentral's sign-in each end in a callback that
anyone can request. What the callback records (who consented, who connected) is therefore
taken from the admin who started the step, as the product authenticated them then, never
from a parameter of the callback or a `login_hint`. A state without a starter (one written by
an older version) is refused, and the web layer's check decides whether the starter still
counts (the answer came to the browser they started in; their tab session has not ended).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from presence_sync.connections.outcome import SignInOutcome
from presence_sync.store import Store

__all__ = ["CheckStarter", "StartedBy", "StepStart", "take_started"]

_VIA = ("sso", "cookie", "ticket")


@dataclass(frozen=True)
class StartedBy:
    """The signed-in admin who started a step, and how they had proved who they are."""

    email: str  # how audit entries and the connection record name them
    oid: str  # their Entra object id
    via: str  # "sso" (Teams token), "cookie" (the tab's session), "ticket" (one-time link)
    session: str | None = None  # the tab session's id hash, when started from one

    def record(self) -> dict[str, Any]:
        """The form kept in the store beside the state."""
        return asdict(self)

    @classmethod
    def of(cls, raw: object) -> StartedBy | None:
        """The starter kept with a state; None when there is none or it is not one of ours."""
        if not isinstance(raw, Mapping):
            return None
        email, oid, via, session = (raw.get(k) for k in ("email", "oid", "via", "session"))
        if not isinstance(email, str) or not email or not isinstance(oid, str):
            return None
        if via not in _VIA or not (session is None or isinstance(session, str)):
            return None
        return cls(email, oid, str(via), session)


@dataclass(frozen=True)
class StepStart:
    """A started step: where to send the browser, and the state its answer will carry."""

    url: str
    state: str


# The page refusing a started step whose starter no longer counts (signed out, or the answer
# came to another browser), or None when they do.
CheckStarter = Callable[[StartedBy], Awaitable[SignInOutcome | None]]


async def take_started(
    store: Store, step: str, params: Mapping[str, str], now: float, check: CheckStarter
) -> tuple[dict[str, Any], StartedBy] | SignInOutcome:
    """The `step` whose state `params` carry, and its admin, once; else the refusing page."""
    started = await store.take_ephemeral(f"{step}:{params.get('state', '')}", now)
    if started is None:
        return SignInOutcome.unknown_state()
    by = StartedBy.of(started.get("started_by"))
    if by is None:
        return SignInOutcome.not_started_by_admin(
            "It was not started by an administrator signed in to Presence Sync."
        )
    # Checked once taken: a state brought to the wrong browser is spent, so whoever carried
    # it there cannot use it either.
    refused = await check(by)
    if refused is not None:
        return refused
    return started, by
