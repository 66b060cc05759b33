"""Turning a presence reading into an observation in the store and a dirty mark.

Whatever the source (rich notification, webhook, poll, reconciliation read), a reading goes
through `Observer`: the store applies it only if it is newer (sequence numbers, else time),
and an applied change marks the user dirty so the reconciler looks at them (DESIGN §2: a
notification is a hint, never a command). Polled reads that repeat what this replica saw
last are not written again, so polling 5,000 users a second costs the store only changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from presence_sync.engine import (
    RingCentralObserved,
    UserState,
    UserStateError,
    needs_verifying,
    read_confirms,
    settled_echo,
)
from presence_sync.errors import NotFoundError
from presence_sync.graph.models import Presence
from presence_sync.providers import REALTIME, RECONCILE
from presence_sync.ringcentral.models import RcPresence
from presence_sync.store.base import Store
from presence_sync.store.models import LinkState, RcObservation, TeamsObservation, UserLink

__all__ = ["HandOver", "Observer", "Roster", "WatchedUser", "load_roster", "rc_event"]

logger = logging.getLogger(__name__)

_PAGE = 1000


@dataclass(frozen=True)
class WatchedUser:
    """A linked, sync-enabled user as the watchers need them."""

    link_id: str
    teams_user_id: str | None
    rc_extension_id: str | None


@dataclass(frozen=True)
class Roster:
    """Everyone the product watches, with lookups from each platform's id to the link."""

    users: tuple[WatchedUser, ...] = ()

    @property
    def by_teams(self) -> Mapping[str, str]:
        """Teams user id → link id."""
        return {u.teams_user_id: u.link_id for u in self.users if u.teams_user_id}

    @property
    def by_rc(self) -> Mapping[str, str]:
        """RingCentral extension id → link id."""
        return {u.rc_extension_id: u.link_id for u in self.users if u.rc_extension_id}

    @property
    def teams_ids(self) -> tuple[str, ...]:
        """Teams user ids in a stable order."""
        return tuple(sorted(u.teams_user_id for u in self.users if u.teams_user_id))

    @property
    def rc_ids(self) -> tuple[str, ...]:
        """RingCentral extension ids in a stable order."""
        return tuple(sorted(u.rc_extension_id for u in self.users if u.rc_extension_id))


async def load_roster(store: Store) -> Roster:
    """Every linked user with sync enabled, read page by page."""
    users: list[WatchedUser] = []
    cursor: str | None = None
    while True:
        page = await store.list_links(
            state=LinkState.LINKED, sync_enabled=True, after=cursor, limit=_PAGE
        )
        users.extend(
            WatchedUser(link.id, link.teams_user_id, link.rc_extension_id) for link in page.links
        )
        if page.next_cursor is None:
            return Roster(tuple(users))
        cursor = page.next_cursor


HandOver = Callable[[UserLink, int, str], None]
"""Takes a link whose observation was just written, its priority and the reason."""

_TeamsSeen = tuple[str, str, str]
_RcSeen = tuple[str | None, str | None, str | None, bool | None, str | None]


class Observer:
    """Writes readings as observations and marks changed users dirty.

    A RingCentral event whose sequence number is far ahead of the last one the store took, or
    behind it, is trusted only once a read confirms it (`presence_sync.engine.sequence`): one
    forged number must not make that person's genuine events look old.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        verify: Callable[[RcPresence], None] | None = None,
        hand_over: HandOver | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        # Where a changed person goes to be decided on in this process (the reconciler), the
        # observation written with its mark; None marks the store's queue instead.
        self._hand_over = hand_over
        # Where events numbered out of bounds go to be read first; None trusts every number
        # (the store still keeps them in order).
        self._verify = verify
        self._teams_index: Mapping[str, str] = {}
        self._rc_index: Mapping[str, str] = {}
        self._teams_seen: dict[str, _TeamsSeen] = {}
        self._rc_seen: dict[str, _RcSeen] = {}

    def use_roster(self, roster: Roster) -> None:
        """Look users up in `roster` from now on (the store answers for anyone else)."""
        teams, rc = roster.by_teams, roster.by_rc
        # A user unlinked and linked again has a fresh link: forget what we wrote for them.
        for known, index, seen in (
            (teams, self._teams_index, self._teams_seen),
            (rc, self._rc_index, self._rc_seen),
        ):
            for key in [k for k in seen if known.get(k) != index.get(k)]:
                del seen[key]
        self._teams_index, self._rc_index = teams, rc

    async def _teams_link(self, teams_user_id: str) -> str | None:
        link_id = self._teams_index.get(teams_user_id)
        if link_id is not None:
            return link_id
        link = await self._store.get_link_by_teams_id(teams_user_id)
        return link.id if link is not None and link.state == LinkState.LINKED else None

    async def _rc_link(self, extension_id: str) -> str | None:
        link_id = self._rc_index.get(extension_id)
        if link_id is not None:
            return link_id
        link = await self._store.get_link_by_rc_extension(extension_id)
        return link.id if link is not None and link.state == LinkState.LINKED else None

    async def teams(self, presence: Presence, *, reason: str, force: bool = False) -> bool:
        """Record Teams presence; True when the store took it (it was newer)."""
        seen: _TeamsSeen = (
            presence.availability,
            presence.activity,
            presence.sequence_number or "",
        )
        # Graph's sequence numbers only grow, so a read equal to our last one (sequence
        # included) cannot be newer than what the store holds: skip it even when forced.
        if (not force or seen[2]) and self._teams_seen.get(presence.id) == seen:
            return False
        link_id = await self._teams_link(presence.id)
        if link_id is None:
            logger.debug("teams presence for unlinked user %s ignored", presence.id)
            return False
        now = self._clock()
        observation = TeamsObservation(
            availability=presence.availability,
            activity=presence.activity,
            sequence=presence.sequence_number or "",
            observed_at=now,
        )
        written: UserLink | None = None
        try:
            if self._hand_over is not None:
                written = await self._store.observe_teams(link_id, observation, due_at=now)
                applied = written is not None
            else:
                applied = await self._store.record_teams_observation(link_id, observation)
        except NotFoundError:
            return False  # unlinked between lookup and write
        before = self._teams_seen.get(presence.id)
        changed = before is None or before[:2] != seen[:2]
        self._teams_seen[presence.id] = seen
        if applied:
            priority = REALTIME if changed or not force else RECONCILE
            if self._hand_over is not None and written is not None:
                self._hand_over(written, priority, reason)
            else:
                await self._store.mark_dirty(link_id, priority=priority, due_at=now, reason=reason)
        return applied

    async def rc(self, presence: RcPresence, *, reason: str, force: bool = False) -> bool:
        """Record RingCentral presence; True when the store took it (it was newer).

        An event numbered out of bounds (`needs_verifying`) is not recorded: it goes to the
        `verify` callback, which reads the person's presence and calls `rc_verified`.
        """
        polled = presence.sequence is None
        if (
            polled
            and not force
            and self._rc_seen.get(presence.extension_id) == _rc_values(presence)
        ):
            return False
        link_id = await self._rc_link(presence.extension_id)
        if link_id is None:
            logger.debug(
                "ringcentral presence for unlinked extension %s ignored", presence.extension_id
            )
            return False
        verified = False
        link: UserLink | None = None
        if presence.sequence is not None and self._verify is not None:
            link = await self._store.get_link(link_id)
            last = link.rc_sequence if link is not None else None
            held = link.rc if link is not None else None
            # The same number with other values is no duplicate: RingCentral restarted its
            # count and reached this number again, or the event is forged.
            other = (
                held is not None
                and held.sequence == last == presence.sequence
                and (_rc_values(held) != _rc_values(presence))
            )
            if other or needs_verifying(last, presence.sequence):
                late = held is not None and _stamp(presence, self._clock()) < held.observed_at
                if late and last is not None and presence.sequence < last:
                    # Behind in number and in time: a late delivery, older than what is held.
                    # Reading would only spend RingCentral's budget.
                    return False
                logger.info(
                    "ringcentral event numbered %d for extension %s after %s: reading its"
                    " presence before trusting it",
                    presence.sequence,
                    presence.extension_id,
                    last,
                )
                self._verify(presence)
                return False
            # Within bounds of the store's count, which a read confirmed if it restarted: when
            # the engine missed that restart (a read replaced it before it was folded), the
            # event says so, or the engine would wait for a read that never comes.
            verified = (
                link is not None
                and presence.sequence != last
                and needs_verifying(_engine_sequence(link), presence.sequence)
            )
        return await self._record(
            link_id, presence, reason=reason, force=force, verified=verified, link=link
        )

    async def rc_verified(self, event: RcPresence, read: RcPresence | None, asked: float) -> bool:
        """Record an out-of-bounds event the read (asked for at `asked`) confirms, else the read.

        A confirmed event restarts the stored count at its number (a genuine restart, or the
        genuine count after a forged one). What the read showed is recorded like any
        reconciliation read when it contradicts the event or the event came too late to apply.
        """
        link_id = await self._rc_link(event.extension_id)
        if link_id is None:
            return False
        if read is None:
            logger.info(
                "ringcentral extension %s could not be read; event ignored", event.extension_id
            )
            return False
        if read_confirms(_rc_values(event), _rc_values(read)):
            if await self._record(link_id, event, reason="rc-notification", verified=True):
                return True
        else:
            # A late delivery, or a forged one: the read is the truth either way.
            logger.info(
                "ringcentral event numbered %s for extension %s is not what its presence shows;"
                " ignored",
                event.sequence,
                event.extension_id,
            )
        return await self.rc(replace(read, reported_at=asked), reason="rc-verify", force=True)

    async def _record(
        self,
        link_id: str,
        presence: RcPresence,
        *,
        reason: str,
        force: bool = False,
        verified: bool = False,
        link: UserLink | None = None,
    ) -> bool:
        """Record `presence` and mark the person dirty if the store took it.

        The echo of our own acknowledged write (`settled_echo`, judged from `link` as read
        just before) is recorded but not marked: deciding on it would change nothing, and the
        person's next decision folds it from the store. That is a third of what a Teams
        change costs the store.
        """
        seen = _rc_values(presence)
        now = self._clock()
        stamped = _stamp(presence, now)
        observation = RcObservation(
            user_status=presence.user_status,
            dnd_status=presence.dnd_status,
            dnd_status_personal=presence.dnd_status_personal,
            accept_call_queue_calls=presence.accept_call_queue_calls,
            telephony_status=presence.telephony_status,
            sequence=presence.sequence,
            observed_at=stamped,
            verified=verified,
        )
        changed = self._rc_seen.get(presence.extension_id) != seen
        priority = REALTIME if changed or not force else RECONCILE
        if self._hand_over is not None:
            return await self._observe_rc(
                link_id, presence.extension_id, observation, link, now, priority, reason
            )
        try:
            applied = await self._store.record_rc_observation(link_id, observation)
        except NotFoundError:
            return False
        if applied:
            self._rc_seen[presence.extension_id] = seen
            if link is not None and _settled(link, observation):
                logger.debug("ringcentral event %s: the echo of our write", presence.sequence)
                return applied
            await self._store.mark_dirty(link_id, priority=priority, due_at=now, reason=reason)
        return applied

    async def _observe_rc(
        self,
        link_id: str,
        extension_id: str,
        observation: RcObservation,
        link: UserLink | None,
        now: float,
        priority: int,
        reason: str,
    ) -> bool:
        """`_record` with a hand-over: the mark goes with the write unless it is our echo."""
        assert self._hand_over is not None
        # Judged before writing when the link was read for the sequence check; else on the
        # link as written (the observation leaves the engine state as it was).
        echo = link is not None and _settled(link, observation)
        try:
            written = await self._store.observe_rc(
                link_id, observation, due_at=None if link is None or echo else now
            )
        except NotFoundError:
            return False
        if written is None:
            return False
        self._rc_seen[extension_id] = _rc_values(observation)
        if echo or (link is None and _settled(written, observation)):
            logger.debug("ringcentral event %s: the echo of our write", observation.sequence)
            return True
        if link is None:
            await self._store.mark_link_due(link_id, now)
            due = now if written.due_at is None else min(written.due_at, now)
            written = replace(written, due_at=due)
        self._hand_over(written, priority, reason)
        return True


def _stamp(presence: RcPresence, now: float) -> float:
    """When `presence` was true, as the store and the engine date it.

    An event is stamped with RingCentral's own time, as the engine reads it: a delayed echo of
    our write then still reads as ours, not as a later change by hand. Never later than its
    arrival, so a clock running ahead cannot make later reads look older.
    """
    return now if presence.reported_at is None else min(presence.reported_at, now)


def rc_event(observation: RcObservation) -> RingCentralObserved:
    """The engine's event for a stored RingCentral observation."""
    return RingCentralObserved(
        user_status=observation.user_status,
        dnd_status=observation.dnd_status,
        dnd_status_personal=observation.dnd_status_personal,
        accept_call_queue_calls=observation.accept_call_queue_calls,
        telephony_status=observation.telephony_status,
        sequence=observation.sequence,
        observed_at=observation.observed_at,
        verified=observation.verified,
    )


def _settled(link: UserLink, observation: RcObservation) -> bool:
    """Whether the engine state in `link` takes `observation` as a settled echo."""
    if not link.engine_state:
        return False
    try:
        state = UserState.from_dict(link.engine_state)
    except UserStateError:
        return False
    return settled_echo(state, rc_event(observation))


def _engine_sequence(link: UserLink) -> int | None:
    """The RingCentral sequence number the engine last took for this link, if readable."""
    if not link.engine_state:
        return None
    try:
        seen = UserState.from_dict(link.engine_state).rc_seen
    except UserStateError:
        return None
    return seen.sequence if seen is not None else None


def _rc_values(presence: RcPresence | RcObservation) -> _RcSeen:
    """The values the engine reads, in the order `read_confirms` compares them."""
    return (
        presence.user_status,
        presence.dnd_status,
        presence.dnd_status_personal,
        presence.accept_call_queue_calls,
        presence.telephony_status,
    )
