"""The RingCentral half of `decide()`: reading observations against our own writes, and planning
the one write that closes the gap between what RingCentral shows and what it should show.

Every field we write is recorded with the value it replaced (§4.4). A write goes through
moments, each with its own timestamp on the product's clock unless said otherwise:

- *decided* (``RcWrite.issued_at``, ``SetRingCentralPresence.decided_at``): `plan` chose it;
- *sent* (``RcWrite.sent_at``, from ``WriteApplied.sent_at``): the dispatcher took a slot of
  RingCentral's budget and sent the PUT. Under a burst this can be many minutes after the
  decision (40 writes a minute per identity), and until then RingCentral shows what it
  showed before;
- *acknowledged* (``RcWrite.applied_at``): RingCentral answered 2xx and the dispatcher's
  `WriteApplied` was folded in;
- *echoed*: a RingCentral event (numbered, stamped on RingCentral's clock, within
  `CLOCK_SKEW` of ours) shows the written value;
- *read*: a presence GET, stamped when the product asked for it. RingCentral answered it
  later, perhaps much later (a retry after a 503, a wait for the budget): its stamp says
  neither that it is older than our write nor how much newer than its stamp it is.

An observation of a field we wrote is one of three things:

- an *echo* (it shows what we wrote): nothing to do, however late or often it arrives;
- *older than our write* (RingCentral stamped it before our write landed): it cannot undo our
  write, but if it shows a value the user chose meanwhile, that is now the value to restore;
- a *hand change* (made after our write landed): the user's choice stands; we forget our
  write and do not fight it until the Teams state asks for something new.

Only an acknowledged write can be followed by a hand change. Until RingCentral acknowledged
it, the write may still be waiting for its budget, and whatever the field shows, however late
that is stamped, is from before it landed: values it showed before are "in flight", anything
else is the user's choice made before our write landed. How long a write waited therefore
never turns it into "the user's own". A write that is never acknowledged (the process died
with it queued) is taken as lost `WRITE_DEADLINE` + `PENDING_GRACE` after its decision, when
the dispatcher can no longer send it, and is planned again. Reports stamped before the write
was sent are "older".

Timestamps are RingCentral's (``observed_at``) against ours (``now``, acknowledgement times);
they may disagree by up to `CLOCK_SKEW`, and every doubt is resolved toward "ours" or "older",
never toward a hand change: a missed hand change is corrected by the next read (the
reconciler's periodic GET), a false one would leave a status stuck. A hand change to exactly
the value we were writing, made within `CLOCK_SKEW` of our write, may be taken as our echo;
so may one made while an earlier write of ours with that value had not landed yet (it may
still wait for its budget, or have been merged into a later write).

A read has no sequence number and its time says little. A read that contradicts our latest
write is not taken while that write is unacknowledged, nor until `PENDING_GRACE` after it was
acknowledged or after RingCentral's latest event (it may have been answered before either);
only numbered events confirm that a write landed; and an event stamped more than
`PENDING_GRACE` before a read we took is older than that read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from presence_sync.domain.mapping import (
    ACCEPT_CALL_QUEUE_CALLS,
    DND_STATUS,
    DND_STATUS_PERSONAL,
    RC_FIELD_NAMES,
    RC_FIELDS,
    USER_STATUS,
    RcOverlay,
    RcValue,
)
from presence_sync.domain.presence import (
    RcAccountMode,
    parse_dnd_status,
    parse_dnd_status_personal,
    parse_telephony_status,
    parse_user_status,
)
from presence_sync.engine.commands import WRITE_DEADLINE, SetRingCentralPresence
from presence_sync.engine.events import RingCentralObserved
from presence_sync.engine.sequence import needs_verifying
from presence_sync.engine.state import RcSeen, RcWrite, UserState

PENDING_GRACE: Final = 120.0
"""Seconds after a write was acknowledged (or an event) during which a read may predate it."""

IN_FLIGHT_KEPT: Final = 4
"""At most this many values may still show before a write lands (older ones have landed)."""

EARLIER_KEPT: Final = 16
"""Earlier writes remembered per field while none of their echoes has come back."""

CLOCK_SKEW: Final = 2.0
"""Seconds RingCentral's event timestamps and our clock may disagree by."""

_MISSING: Final = object()


def is_stale(seen: RcSeen | None, event: RingCentralObserved) -> str | None:
    """Why `event` is older than (or a repeat of) what we saw, or None if it is news."""
    if seen is None:
        return None
    if event.sequence is not None and seen.sequence is not None:
        newer = seen.observed_at is None or event.observed_at > seen.observed_at
        if seen.observed_at is not None and event.observed_at < seen.observed_at - PENDING_GRACE:
            # A read (no number) we took since was answered at most PENDING_GRACE before it
            # was stamped, so this event is older than what it showed.
            return "older than a RingCentral read already taken"
        if event.sequence == seen.sequence:
            # The same sequence read later (a GET) says "still so at this time": worth keeping.
            return None if newer else f"repeat of sequence {event.sequence}"
        if event.verified or not needs_verifying(seen.sequence, event.sequence):
            return None
        # A step back or a far jump is trusted only once a read confirmed it (`verified`).
        if event.sequence < seen.sequence:
            return f"sequence {event.sequence} < {seen.sequence} already seen"
        return f"sequence {event.sequence} jumps far ahead of {seen.sequence}, unconfirmed"
    if seen.observed_at is not None and event.observed_at < seen.observed_at:
        return "older than the last RingCentral observation"
    return None


def settled_echo(state: UserState, event: RingCentralObserved) -> bool:
    """Whether `event` is the echo of our acknowledged writes and shows nothing else new.

    Numbered, news to the state (`is_stale`; a number far from the state's is never settled),
    and every field it carries equals what our acknowledged write of that field wrote, or,
    for a field we did not write, what was seen; telephony and account mode unchanged.
    Folding it would only note that the writes landed: no decision depends on it, so it may
    wait for the person's next decision, which folds it from the store (a Teams change, a
    timer, the reconciler's pass).
    """
    seen = state.rc_seen
    if event.sequence is None or seen is None or is_stale(seen, event) is not None:
        return False
    if seen.sequence is not None and needs_verifying(seen.sequence, event.sequence):
        return False
    if detect_mode(state.rc_mode, event) != state.rc_mode:
        return False
    if parse_telephony_status(event.telephony_status) != seen.telephony_status:
        return False
    values: dict[str, RcValue | None] = {
        USER_STATUS: parse_user_status(event.user_status),
        DND_STATUS: parse_dnd_status(event.dnd_status),
        DND_STATUS_PERSONAL: parse_dnd_status_personal(event.dnd_status_personal),
        ACCEPT_CALL_QUEUE_CALLS: event.accept_call_queue_calls,
    }
    writes = {w.name: w for w in state.rc_writes}
    echoed = False
    for name, value in values.items():
        if value is None:
            continue
        record = writes.get(name)
        if record is None:
            if value != seen.value(name):
                return False
            continue
        if record.applied_at is None or record.written != value or value == UNKNOWN:
            return False
        echoed = echoed or value != seen.value(name)
    return echoed


def detect_mode(current: RcAccountMode, event: RingCentralObserved) -> RcAccountMode:
    """The account mode, learned from which DND fields presence reads carry.

    The communication handling service mode sticks once seen: its event bodies do not always
    repeat dndStatusPersonal, and a legacy account never sends it.
    """
    if event.dnd_status_personal is not None or event.accept_call_queue_calls is not None:
        return "chs"
    if current == "unknown" and event.dnd_status is not None:
        return "legacy"
    return current


def observe(
    state: UserState, event: RingCentralObserved, overlay: RcOverlay, notes: list[str]
) -> UserState:
    """Fold one (fresh) RingCentral observation into the state."""
    before = state.rc_seen
    values: dict[str, RcValue | None] = {
        USER_STATUS: parse_user_status(event.user_status),
        DND_STATUS: parse_dnd_status(event.dnd_status),
        DND_STATUS_PERSONAL: parse_dnd_status_personal(event.dnd_status_personal),
        ACCEPT_CALL_QUEUE_CALLS: event.accept_call_queue_calls,
    }
    telephony = parse_telephony_status(event.telephony_status)
    if event.sequence is None and before is not None:
        telephony = _trusted_read(state, before, event, values, telephony, notes)
    writes = {w.name: w for w in state.rc_writes}
    yields = dict(state.rc_yields)
    changed_writes = False
    for name, value in values.items():
        if value is None:
            continue
        record = writes.get(name)
        hand_change = False
        if record is not None and record.written == UNKNOWN:
            # We lost track of our writes (the next plan writes the field anew); a value none
            # of them wrote is the user's doing, and theirs to get back.
            ours = any(old == value for old, _issued, _until in record.earlier)
            if not ours and value != record.replaced:
                writes[name] = replace(record, replaced=value)
                changed_writes = True
                notes.append(
                    f"{RC_FIELD_NAMES[name]} shows {value}, which we did not write; it will be"
                    " restored to that"
                )
            continue
        if record is not None:
            stamped = event.observed_at
            acked = record.applied_at is not None
            # Only a report stamped after RingCentral acknowledged the write can follow it; an
            # unacknowledged write may still be waiting for its budget, however long ago it
            # was decided (module docstring).
            after_apply = acked and stamped > (record.applied_at or 0.0) + CLOCK_SKEW
            sent = record.sent_at if record.sent_at is not None else record.issued_at
            shown_before = (
                value in record.in_flight
                or value == record.replaced
                or record.is_our_earlier(value, stamped)
            )
            ambiguous = shown_before and not after_apply
            older = not after_apply and (not acked or stamped <= sent + CLOCK_SKEW)
            # Only a numbered event is surely from before our write: a read is stamped when it
            # was asked for, and may have been answered long after (retried through a 503,
            # or waiting for its budget), by when our write had landed.
            surely_older = event.sequence is not None and stamped < sent - CLOCK_SKEW
            if value == record.written and not surely_older:
                # Our echo, given the benefit of the doubt; unless the field showed this value
                # before our write too and cannot have caught up yet. Only RingCentral's
                # numbered events order later reports after it; a read has no number.
                if not ambiguous and event.sequence is not None:
                    if record.written == record.replaced:
                        del writes[name]  # our restore landed
                    elif record.in_flight or record.earlier or record.applied_at is None:
                        # Landed: reports from before it now lose to it by sequence order. An
                        # answer we never got (a crash) is as good as this echo's stamp.
                        applied = record.applied_at if record.applied_at is not None else stamped
                        writes[name] = replace(record, in_flight=(), earlier=(), applied_at=applied)
                    changed_writes = True
                continue
            if older or ambiguous:
                ours = record.is_our_earlier(value, stamped)
                if older and not ours and value != record.replaced:
                    # The user changed it just before our write landed: theirs to get back.
                    writes[name] = replace(
                        record, replaced=value, in_flight=(*record.in_flight, value)
                    )
                    changed_writes = True
                    notes.append(
                        f"{RC_FIELD_NAMES[name]} was set to {value} by hand before our write"
                        " landed; it will be restored to that"
                    )
                continue
            del writes[name]
            changed_writes = True
            hand_change = True
            notes.append(
                f"user changed {RC_FIELD_NAMES[name]} to {value} by hand after our write;"
                " their choice stands"
            )
        elif before is not None:
            previous = before.value(name)
            hand_change = previous is not None and previous != value
        if hand_change:
            wanted = overlay.get(name)
            if wanted is not None and wanted != value:
                yields[name] = wanted
                notes.append(
                    f"user set {RC_FIELD_NAMES[name]} to {value} by hand while we want"
                    f" {wanted}; not overriding until the Teams state changes"
                )
    merged = RcSeen(
        user_status=_pick(values[USER_STATUS], before, USER_STATUS),
        dnd_status=_pick(values[DND_STATUS], before, DND_STATUS),
        dnd_status_personal=_pick(values[DND_STATUS_PERSONAL], before, DND_STATUS_PERSONAL),
        accept_call_queue_calls=_pick_bool(values[ACCEPT_CALL_QUEUE_CALLS], before),
        telephony_status=telephony
        if telephony is not None
        else (before.telephony_status if before else None),
        sequence=event.sequence
        if event.sequence is not None
        else (before.sequence if before else None),
        observed_at=event.observed_at,
        event_at=event.observed_at
        if event.sequence is not None
        else (before.event_at if before else None),
    )
    return state.evolve(
        rc_seen=merged,
        rc_writes=_ordered(writes) if changed_writes else state.rc_writes,
        rc_yields=tuple(yields.items()),
    )


def _trusted_read(
    state: UserState,
    before: RcSeen,
    event: RingCentralObserved,
    values: dict[str, RcValue | None],
    telephony: str | None,
    notes: list[str],
) -> str | None:
    """Blank out what a read may show from before our last write or RingCentral's last event.

    RingCentral numbers and stamps its events, but a presence GET carries neither: its
    ``observed_at`` is when the product asked for it (or recorded it), which says little
    about when RingCentral answered (a batch of 30 extensions is recorded one by one, on a
    store that may be slow).
    Such a read that disagrees with the value our write or a later event put there may have
    been answered before either, and taking it would turn our own write into the user's
    value (a Busy that is never restored). So within `PENDING_GRACE` of them it changes
    nothing; a real change it shows is taken from the first read after that. Returns the
    telephony status to keep (None: keep what was known).
    """
    writes = {w.name: w for w in state.rc_writes}
    for name, value in values.items():
        if value is None:
            continue
        record = writes.get(name)
        expected = record.written if record is not None else before.value(name)
        if expected is None or value == expected:
            continue
        if record is not None and record.applied_at is None:
            # Our write may still wait for its budget: whatever the read shows predates it.
            values[name] = None
            notes.append(
                f"read shows {RC_FIELD_NAMES[name]} {value} while our {expected} is not"
                " acknowledged yet; not taken"
            )
            continue
        since = before.event_at
        if record is not None and record.applied_at is not None:
            since = record.applied_at if since is None else max(since, record.applied_at)
        if since is not None and event.observed_at < since + PENDING_GRACE:
            values[name] = None
            notes.append(
                f"read shows {RC_FIELD_NAMES[name]} {value}, not {expected}: it may predate"
                " what we know; not taken yet"
            )
    known = before.telephony_status
    if (
        telephony is not None
        and known is not None
        and telephony != known
        and before.event_at is not None
        and event.observed_at < before.event_at + PENDING_GRACE
    ):
        notes.append(f"read shows telephony {telephony}, not {known}: not taken yet")
        return None
    return telephony


def _pick(value: RcValue | None, before: RcSeen | None, name: str) -> str | None:
    if isinstance(value, str):
        return value
    if before is None:
        return None
    kept = before.value(name)
    return kept if isinstance(kept, str) else None


def _pick_bool(value: RcValue | None, before: RcSeen | None) -> bool | None:
    if isinstance(value, bool):
        return value
    return before.accept_call_queue_calls if before is not None else None


def _ordered(writes: dict[str, RcWrite]) -> tuple[RcWrite, ...]:
    return tuple(writes[name] for name in RC_FIELDS if name in writes)


def plan(
    state: UserState, overlay: RcOverlay, now: float, label: str
) -> tuple[UserState, SetRingCentralPresence | None]:
    """The write (if any) that makes RingCentral show `overlay` over the user's own values."""
    seen = state.rc_seen
    if seen is None:
        return state, None  # never write before we know what we would replace
    yields = tuple((n, v) for n, v in state.rc_yields if overlay.get(n) == v)
    yielded = dict(yields)
    writes = {w.name: w for w in state.rc_writes}
    out: dict[str, RcValue] = {}
    restored: list[str] = []
    for name in RC_FIELDS:
        record = writes.get(name)
        wanted = overlay.get(name)
        if record is None and wanted is None:
            continue
        remote = seen.value(name)
        expected = record.written if record is not None else remote
        own = record.replaced if record is not None else remote
        overridden = yielded.get(name, _MISSING) == wanted
        target: RcValue | None = wanted if wanted is not None and not overridden else own
        if target is None and record is not None and record.written == UNKNOWN:
            del writes[name]  # nothing to write and nothing of ours to restore
            continue
        if target is None or target == expected:
            continue
        out[name] = target
        if target == own and record is not None:
            restored.append(RC_FIELD_NAMES[name])
        writes[name] = _chained(record, name, target, own, expected, now, state.rc_write_seq + 1)
    if yields != state.rc_yields:
        state = state.evolve(rc_yields=yields)
    if not out:
        if len(writes) != len(state.rc_writes):
            state = state.evolve(rc_writes=_ordered(writes))
        return state, None
    cause = f"{label}: {overlay.reason}"
    if restored:
        cause += "; restore " + ", ".join(restored) + " we replaced"
    command = SetRingCentralPresence(
        user_status=_as_str(out.get(USER_STATUS)),
        dnd_status=_as_str(out.get(DND_STATUS)),
        dnd_status_personal=_as_str(out.get(DND_STATUS_PERSONAL)),
        accept_call_queue_calls=_as_bool(out.get(ACCEPT_CALL_QUEUE_CALLS)),
        cause=cause,
        write_id=state.rc_write_seq + 1,
        decided_at=now,
    )
    return state.evolve(rc_writes=_ordered(writes), rc_write_seq=state.rc_write_seq + 1), command


def _as_str(value: RcValue | None) -> str | None:
    return value if isinstance(value, str) else None


def _as_bool(value: RcValue | None) -> bool | None:
    return value if isinstance(value, bool) else None


def acknowledge(
    state: UserState, command: SetRingCentralPresence, now: float, sent_at: float | None = None
) -> UserState:
    """Note when a write was sent and applied: later observations that disagree are the user's."""
    writes = {w.name: w for w in state.rc_writes}
    changed = False
    for name, value in command.fields():
        record = writes.get(name)
        # A coalesced command carries the newest id of the writes it merged.
        if record is None or record.written != value or record.write_id > command.write_id:
            continue
        if record.applied_at is None:
            # Echoes of our earlier writes can only be stamped before this one landed; those
            # decided since the command's decision were merged into it and never sent alone.
            cut = command.decided_at
            earlier = tuple(
                (v, issued, now if until is None else until)
                for v, issued, until in record.earlier
                if not (cut and issued >= cut and v != UNKNOWN)
            )
            sent = None if sent_at is None else min(sent_at, now)
            writes[name] = replace(record, applied_at=now, sent_at=sent, earlier=earlier)
            changed = True
        elif record.sent_at is None and sent_at is not None:
            # Its echo came first and dated the landing; the answer still tells when it left.
            writes[name] = replace(record, sent_at=min(sent_at, record.applied_at))
            changed = True
    return state.evolve(rc_writes=_ordered(writes)) if changed else state


def _chained(
    record: RcWrite | None,
    name: str,
    target: RcValue,
    own: RcValue | None,
    expected: RcValue | None,
    now: float,
    write_id: int,
) -> RcWrite:
    """The record of a new write, carrying what may still echo from the writes before it."""
    in_flight: tuple[RcValue, ...]
    if record is None:
        in_flight = () if expected is None else (expected,)
        return RcWrite(name, target, own, now, write_id, in_flight=in_flight)
    # Its echoes can come until this new write lands (filled in by `acknowledge`).
    earlier = _remember(record.earlier, record.written, record.issued_at)
    if record.applied_at is not None:
        # It landed, so only its own value can still show until this one lands.
        in_flight = (record.written,)
    else:
        chain = [v for v in record.in_flight if v != record.written]
        in_flight = (*chain, record.written)[-IN_FLIGHT_KEPT:]
    return RcWrite(name, target, own, now, write_id, in_flight=in_flight, earlier=earlier)


def _remember(
    earlier: tuple[tuple[RcValue, float, float | None], ...], value: RcValue, issued: float
) -> tuple[tuple[RcValue, float, float | None], ...]:
    """`earlier` with one more write of ours; writes of one value share one widened window.

    A field has only a handful of values, so the list stays short however often writes
    fail and are planned again, and the oldest value of ours (the Busy of a meeting, say) is
    never forgotten while its echo or its stale reads may still come.
    """
    merged: dict[RcValue, tuple[float, float | None]] = {}
    for old, since, until in (*earlier, (value, issued, None)):
        if old in merged:
            first, last = merged.pop(old)
            since = min(first, since)
            until = None if last is None or until is None else max(last, until)
        merged[old] = (since, until)
    kept = tuple((old, since, until) for old, (since, until) in merged.items())
    return kept[-EARLIER_KEPT:]


def revert(state: UserState, command: SetRingCentralPresence) -> UserState:
    """Forget the fields of a command RingCentral refused (or that was never sent).

    A field written only by this command still shows what it showed before. One we wrote
    before too may show any of those earlier writes: merged into this one, lost in a restart,
    or landed. Its record then expects `UNKNOWN`, keeps the user's own value and the earlier
    writes (their echoes are ours), and the next plan writes what the field should show.
    """
    writes = {w.name: w for w in state.rc_writes}
    seen = state.rc_seen
    for name, value in command.fields():
        record = writes.get(name)
        if record is None or record.written != value:
            continue
        if record.earlier or record.written == UNKNOWN:
            writes[name] = _unknown(record, record.issued_at)
            continue
        del writes[name]
        before_value = record.in_flight[-1] if record.in_flight else None
        if seen is not None and before_value is not None and seen.value(name) != before_value:
            # The field still shows what we last knew, whatever a stale report said since.
            seen = seen.with_value(name, before_value)
    return state.evolve(rc_writes=_ordered(writes), rc_seen=seen)


def lose(
    state: UserState, command: SetRingCentralPresence, now: float, notes: list[str]
) -> UserState:
    """Lose track of a command whose answer died with the process that sent it.

    It may or may not have landed, so its fields are treated like a write `expire` gives up
    on, at once instead of after `WRITE_DEADLINE`: each record expects `UNKNOWN`, keeps the
    user's own value and remembers the value as ours, and the plan that follows writes what
    the field should show. A field written again since, or acknowledged, is left alone.
    """
    writes = {w.name: w for w in state.rc_writes}
    lost = {
        name: f"our {RC_FIELD_NAMES[name]} {value} was under way when the server stopped;"
        " writing the field again"
        for name, value in command.fields()
        if (record := writes.get(name)) is not None
        and record.written == value
        and record.applied_at is None
    }
    return _taken_as_lost(state, lost, now, notes)


def _taken_as_lost(
    state: UserState, lost: dict[str, str], now: float, notes: list[str]
) -> UserState:
    """`state` with the writes of the fields in `lost` (name → note) taken as lost."""
    if not lost:
        return state
    writes = {w.name: w for w in state.rc_writes}
    for name, note in lost.items():
        notes.append(note)
        writes[name] = _unknown(writes[name], now)
    return state.evolve(rc_writes=_ordered(writes))


def _unknown(record: RcWrite, now: float) -> RcWrite:
    """The record of a field we lost track of (see `UNKNOWN`), keeping its own and our values."""
    earlier = record.earlier
    if record.written != UNKNOWN:
        # Its echo may still come, if it was sent after all: remember it as ours.
        earlier = _remember(earlier, record.written, record.issued_at)
    return RcWrite(
        record.name,
        UNKNOWN,
        record.replaced,
        now,
        record.write_id,
        applied_at=now,
        sent_at=now,
        earlier=earlier,
    )


UNKNOWN: Final = "?"
"""Written value of a write we lost track of: no RingCentral value equals it, so the next
plan writes what the field should show, whatever it shows now."""


def expire(state: UserState, now: float, notes: list[str]) -> UserState:
    """Give up on writes never acknowledged long after the dispatcher could still send them.

    The dispatcher drops a write that waited `WRITE_DEADLINE` for its budget (and reports it
    failed); one still unacknowledged `PENDING_GRACE` after that was lost with the process that
    held it, along with whatever was merged into it, so nobody knows which of this field's
    writes landed. The record keeps the user's own value and expects `UNKNOWN`: the plan that
    follows writes what the field should show, and the user's own value is restored later.
    """
    lost = {
        record.name: f"our {RC_FIELD_NAMES[record.name]} {record.written} was never"
        " acknowledged; taken as lost, writing the field again"
        for record in state.rc_writes
        if record.applied_at is None
        and now >= record.issued_at + WRITE_DEADLINE + PENDING_GRACE
        and record.written != UNKNOWN
    }
    return _taken_as_lost(state, lost, now, notes)
