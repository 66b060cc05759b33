"""Every change to Teams presence goes through the hub, which publishes aggregate changes.

The hub keeps the last aggregate it published per user. Whenever an input changes (a session
is set or cleared, a meeting starts, time passes an expiry) it recomputes the aggregate; if the
pair moved, it bumps the user's `sequence` and tells its listener (the notifier).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable

from sandbox.context import SandboxContext
from sandbox.graph.aggregate import (
    CLIENT_SESSION,
    Aggregate,
    AppSession,
    ClientSession,
    aggregate,
    drop_expired,
    next_deadline,
)
from sandbox.model import PreferredPresence, TeamsUser

logger = logging.getLogger(__name__)

_MAX_IDLE_REAL_SECONDS = 0.5  # the sweeper re-checks at least this often

Listener = Callable[[TeamsUser, Aggregate], None]


class PresenceHub:
    """Applies presence inputs to the org's Teams users and publishes aggregate changes."""

    def __init__(self, ctx: SandboxContext) -> None:
        self._ctx = ctx
        self._listeners: list[Listener] = []
        self._published: dict[str, Aggregate] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._scheduled: dict[str, float] = {}
        self._wake: asyncio.Event | None = None
        for user in ctx.org.teams_users.values():
            self.refresh(user)

    def listen(self, listener: Listener) -> None:
        """Call `listener(user, aggregate)` after every published change."""
        self._listeners.append(listener)

    def refresh(self, user: TeamsUser) -> Aggregate:
        """Recompute `user`'s aggregate now; publish and return it."""
        now = self._ctx.clock.now()
        drop_expired(user.presence, now)
        current = aggregate(user.presence, now)
        previous = self._published.get(user.id)
        if previous != current:
            self._published[user.id] = current
            if previous is not None:
                user.presence.sequence += 1
                logger.debug(
                    "presence of %s is now %s/%s",
                    user.user_principal_name,
                    current.availability,
                    current.activity,
                )
                for listener in self._listeners:
                    listener(user, current)
        deadline = next_deadline(user.presence, now)
        if deadline is not None:
            self._schedule(user.id, deadline, now)
        return current

    def forget(self, user_id: str) -> None:
        """Stop tracking a user who left the directory."""
        self._published.pop(user_id, None)
        self._scheduled.pop(user_id, None)

    # --- inputs -------------------------------------------------------------------------------

    def set_app_session(
        self, user: TeamsUser, app_id: str, availability: str, activity: str, seconds: float
    ) -> None:
        """setPresence: create or refresh the calling app's session."""
        now = self._ctx.clock.now()
        user.presence.sessions[app_id] = AppSession(
            session_id=app_id,
            availability=availability,
            activity=activity,
            expires_at=now + seconds,
            refreshed_at=now,
        )
        self.refresh(user)

    def clear_app_session(self, user: TeamsUser, app_id: str) -> bool:
        """clearPresence: remove the app's session; False if it had none (or it expired)."""
        drop_expired(user.presence, self._ctx.clock.now())
        if app_id == CLIENT_SESSION or app_id not in user.presence.sessions:
            return False
        del user.presence.sessions[app_id]
        self.refresh(user)
        return True

    def set_preferred(
        self, user: TeamsUser, availability: str, activity: str, seconds: float | None
    ) -> None:
        """setUserPreferredPresence."""
        expires = None if seconds is None else self._ctx.clock.now() + seconds
        user.presence.preferred = PreferredPresence(availability, activity, expires)
        self.refresh(user)

    def clear_preferred(self, user: TeamsUser) -> None:
        """clearUserPreferredPresence."""
        user.presence.preferred = None
        self.refresh(user)

    def client_presence(self, user: TeamsUser, availability: str, activity: str | None) -> None:
        """The user picks a status in the Teams client (Offline without activity signs out)."""
        presence = user.presence
        if availability == "Offline" and activity in (None, "Offline"):
            presence.sessions.pop(CLIENT_SESSION, None)
        elif availability == "Offline" and activity == "OffWork":
            # "Appear offline" is the user's preferred presence, not a client session.
            self._client_session(user)
            presence.preferred = PreferredPresence("Offline", "OffWork", None)
        else:
            session = self._client_session(user)
            session.availability = availability
            session.activity = activity or availability
            if presence.preferred is not None and presence.preferred.activity == "OffWork":
                presence.preferred = None
        self.refresh(user)

    def meeting(self, user: TeamsUser, action: str) -> None:
        """The user joins, leaves, or presents in a Teams meeting."""
        session = self._client_session(user)
        if action == "start":
            user.presence.in_meeting = True
        elif action == "end":
            user.presence.in_meeting = False
            session.presenting = False
        elif action == "present":
            user.presence.in_meeting = True
            session.presenting = True
        elif action == "stop-presenting":
            session.presenting = False
        self.refresh(user)

    def call(self, user: TeamsUser, action: str, conference: bool) -> None:
        """The user starts or ends a Teams call."""
        self._client_session(user)
        started = action == "start"
        user.presence.in_call = started and not conference
        user.presence.in_conference_call = started and conference
        self.refresh(user)

    def _client_session(self, user: TeamsUser) -> ClientSession:
        existing = user.presence.sessions.get(CLIENT_SESSION)
        if isinstance(existing, ClientSession):
            return existing
        # A plain TeamsSession may come from the org generator; upgrade it in place.
        availability = existing.availability if existing else "Available"
        activity = existing.activity if existing else "Available"
        session = ClientSession(CLIENT_SESSION, availability, activity, None)
        user.presence.sessions[CLIENT_SESSION] = session
        return session

    # --- time ---------------------------------------------------------------------------------

    def _schedule(self, user_id: str, deadline: float, now: float) -> None:
        known = self._scheduled.get(user_id)
        if known is not None and now < known <= deadline:
            return
        self._scheduled[user_id] = deadline
        heapq.heappush(self._deadlines, (deadline, user_id))
        if self._wake is not None:
            self._wake.set()

    def sweep(self) -> None:
        """Recompute every user whose expiry or fade time has passed."""
        now = self._ctx.clock.now()
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, user_id = heapq.heappop(self._deadlines)
            if self._scheduled.get(user_id) == deadline:
                del self._scheduled[user_id]
            user = self._ctx.org.teams_users.get(user_id)
            if user is not None:
                self.refresh(user)

    async def run(self) -> None:
        """Sweep forever, waking at the next deadline; cancelled at cleanup."""
        self._wake = asyncio.Event()
        while True:
            self.sweep()
            wait = _MAX_IDLE_REAL_SECONDS
            if self._deadlines:
                until = self._ctx.clock.real_seconds(self._deadlines[0][0] - self._ctx.clock.now())
                wait = max(0.001, min(wait, until + 0.001))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
