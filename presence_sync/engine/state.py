"""What the engine remembers about one user, persisted by the store as an opaque JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from presence_sync.domain.mapping import RC_FIELDS, RcValue
from presence_sync.domain.presence import RcAccountMode, TeamsReading
from presence_sync.errors import ValidationError

SCHEMA_VERSION: Final = 1


class UserStateError(ValidationError):
    """A persisted user state document cannot be read (wrong schema version or shape)."""


@dataclass(frozen=True, slots=True)
class TeamsSeen:
    """The latest Teams presence Graph reported, before any interpretation."""

    availability: str
    activity: str
    sequence: str | None
    observed_at: float


@dataclass(frozen=True, slots=True)
class OurSession:
    """The presence session we hold (or held) in Teams through setPresence.

    Observations showing this pair from ``since`` until shortly after it ended are our own
    session's doing, not the user's, and are never fed into the rules.
    """

    availability: str
    activity: str
    since: float
    expires_at: float
    cleared_at: float | None = None  # when we cleared it; None while we believe it is set
    applied_at: float | None = None  # when Graph took it (WriteApplied); reports after show it
    # When Graph surely held it without a break: from the answer to the set (or to a refresh
    # that landed after the session had lapsed) to the expiry of the last acknowledged one,
    # counted from when it was sent. A refresh held back by throttling leaves a gap before.
    held_from: float | None = None
    held_until: float | None = None
    # When the end took effect at Graph: our clear, or the set that replaced it, answered.
    # Until then (a clear held back by throttling, or merged away) it may show till it expires.
    end_landed: float | None = None

    def live(self, now: float) -> bool:
        """Whether Graph still holds this session at `now`."""
        return self.cleared_at is None and now < self.expires_at

    def ended_at(self) -> float:
        """When the session stopped showing (cleared or expired), as far as Graph confirmed."""
        if self.cleared_at is None:
            return self.expires_at
        if self.end_landed is not None:
            return max(self.cleared_at, self.end_landed)
        return max(self.cleared_at, self.expires_at)


@dataclass(frozen=True, slots=True)
class RcSeen:
    """The latest RingCentral presence values, merged field by field across observations.

    ``event_at`` is the timestamp of the last observation RingCentral numbered (an event):
    reads without a sequence number that disagree with it are not trusted until
    `presence_sync.engine.ringcentral_side.PENDING_GRACE` later.
    """

    user_status: str | None = None
    dnd_status: str | None = None
    dnd_status_personal: str | None = None
    accept_call_queue_calls: bool | None = None
    telephony_status: str | None = None
    sequence: int | None = None
    observed_at: float | None = None
    event_at: float | None = None

    def value(self, name: str) -> RcValue | None:
        """The last observed value of one engine field."""
        value: RcValue | None = getattr(self, name)
        return value

    def with_value(self, name: str, value: RcValue) -> RcSeen:
        """A copy with one engine field set (kept None if the value has the wrong type)."""
        fields = {n: self.value(n) for n in RC_FIELDS}
        fields[name] = value
        text = {n: v if isinstance(v, str) else None for n, v in fields.items()}
        accept = fields["accept_call_queue_calls"]
        return RcSeen(
            user_status=text["user_status"],
            dnd_status=text["dnd_status"],
            dnd_status_personal=text["dnd_status_personal"],
            accept_call_queue_calls=accept if isinstance(accept, bool) else None,
            telephony_status=self.telephony_status,
            sequence=self.sequence,
            observed_at=self.observed_at,
            event_at=self.event_at,
        )


@dataclass(frozen=True, slots=True)
class RcWrite:
    """A RingCentral field we wrote, with the value it replaced (§4.4).

    ``replaced`` is the user's own value, restored when the Teams state that caused the write
    ends; a record with ``written == replaced`` is a restore awaiting its echo.

    The rest tells late reports from hand changes. ``in_flight`` lists values the field may
    still show after we issued the write and before it lands. ``earlier`` lists our own earlier
    writes of this field that may still echo, each as (value, when issued, when the write after
    it landed, None while not known). Observations stamped after ``applied_at`` (the
    dispatcher's WriteApplied) reflect this write.

    The moments (see `presence_sync.engine.ringcentral_side`): ``issued_at`` is when the
    engine *decided* the write, ``sent_at`` when the dispatcher *sent* it (known from the
    acknowledgement; None before), ``applied_at`` when RingCentral *acknowledged* it.
    """

    name: str
    written: RcValue
    replaced: RcValue | None
    issued_at: float
    write_id: int = 0  # the SetRingCentralPresence.write_id that carried it
    applied_at: float | None = None
    sent_at: float | None = None
    in_flight: tuple[RcValue, ...] = ()
    earlier: tuple[tuple[RcValue, float, float | None], ...] = ()

    def is_our_earlier(self, value: RcValue, stamped: float) -> bool:
        """Whether a report of `value` stamped then can be an echo of an earlier write of ours."""
        return any(
            old == value and issued <= stamped and (until is None or stamped <= until)
            for old, issued, until in self.earlier
        )


@dataclass(frozen=True, slots=True)
class UserState:
    """Everything `decide()` knows about one user; a fresh value is an unsynced user."""

    enabled: bool = False
    teams_seen: TeamsSeen | None = None
    teams_user: TeamsReading | None = None  # the user's own presence: last one not ours
    teams_anchor: TeamsReading | None = None  # last user presence that was not idle/unknown
    session: OurSession | None = None
    past_sessions: tuple[OurSession, ...] = ()  # last ended one per pair: late reports of them
    rc_seen: RcSeen | None = None
    rc_mode: RcAccountMode = "unknown"
    rc_writes: tuple[RcWrite, ...] = ()
    rc_write_seq: int = 0  # id of the last SetRingCentralPresence issued
    rc_yields: tuple[tuple[str, RcValue], ...] = ()  # desired values the user overrode by hand
    queue_member: bool | None = None
    ringing_counts_as_busy: bool | None = None
    rc_failures: int = 0
    rc_retry_at: float | None = None
    teams_failures: int = 0
    teams_retry_at: float | None = None

    def evolve(self, **changes: Any) -> UserState:
        """A copy with `changes` applied: `dataclasses.replace` at a fraction of the cost.

        `decide()` copies the state a few times per event; `replace` alone would eat most of
        the time budget. Unknown names raise TypeError, as with `replace`.
        """
        if not _STATE_FIELDS.issuperset(changes):
            raise TypeError(f"unknown UserState fields: {sorted(set(changes) - _STATE_FIELDS)}")
        get = changes.get
        put = object.__setattr__
        new = object.__new__(UserState)
        put(new, "enabled", get("enabled", self.enabled))
        put(new, "teams_seen", get("teams_seen", self.teams_seen))
        put(new, "teams_user", get("teams_user", self.teams_user))
        put(new, "teams_anchor", get("teams_anchor", self.teams_anchor))
        put(new, "session", get("session", self.session))
        put(new, "past_sessions", get("past_sessions", self.past_sessions))
        put(new, "rc_seen", get("rc_seen", self.rc_seen))
        put(new, "rc_mode", get("rc_mode", self.rc_mode))
        put(new, "rc_writes", get("rc_writes", self.rc_writes))
        put(new, "rc_write_seq", get("rc_write_seq", self.rc_write_seq))
        put(new, "rc_yields", get("rc_yields", self.rc_yields))
        put(new, "queue_member", get("queue_member", self.queue_member))
        put(
            new,
            "ringing_counts_as_busy",
            get("ringing_counts_as_busy", self.ringing_counts_as_busy),
        )
        put(new, "rc_failures", get("rc_failures", self.rc_failures))
        put(new, "rc_retry_at", get("rc_retry_at", self.rc_retry_at))
        put(new, "teams_failures", get("teams_failures", self.teams_failures))
        put(new, "teams_retry_at", get("teams_retry_at", self.teams_retry_at))
        return new

    def rc_write(self, name: str) -> RcWrite | None:
        """Our recorded write of one field, if any."""
        for write in self.rc_writes:
            if write.name == name:
                return write
        return None

    def rc_own(self, name: str) -> RcValue | None:
        """The user's own value of a RingCentral field: what it would be without us."""
        write = self.rc_write(name)
        if write is not None:
            return write.replaced
        return self.rc_seen.value(name) if self.rc_seen is not None else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document with a ``schema`` version; `from_dict` reads it back."""
        return {
            "schema": SCHEMA_VERSION,
            "enabled": self.enabled,
            "teams_seen": None if self.teams_seen is None else _teams_seen_out(self.teams_seen),
            "teams_user": _reading_out(self.teams_user),
            "teams_anchor": _reading_out(self.teams_anchor),
            "session": None if self.session is None else _session_out(self.session),
            "past_sessions": [_session_out(p) for p in self.past_sessions],
            "rc_seen": None if self.rc_seen is None else _rc_seen_out(self.rc_seen),
            "rc_mode": self.rc_mode,
            "rc_writes": [_write_out(w) for w in self.rc_writes],
            "rc_write_seq": self.rc_write_seq,
            "rc_yields": [[name, value] for name, value in self.rc_yields],
            "queue_member": self.queue_member,
            "ringing_counts_as_busy": self.ringing_counts_as_busy,
            "rc_failures": self.rc_failures,
            "rc_retry_at": self.rc_retry_at,
            "teams_failures": self.teams_failures,
            "teams_retry_at": self.teams_retry_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserState:
        """Read a `to_dict` document; raises `UserStateError` on a foreign schema or shape."""
        version = data.get("schema")
        if version != SCHEMA_VERSION:
            raise UserStateError(f"user state schema {version!r} is not {SCHEMA_VERSION}")
        try:
            mode = data["rc_mode"]
            if mode not in ("unknown", "legacy", "chs"):
                raise UserStateError(f"unknown RingCentral account mode {mode!r}")
            return cls(
                enabled=bool(data["enabled"]),
                teams_seen=_teams_seen_in(data["teams_seen"]),
                teams_user=_reading_in(data["teams_user"]),
                teams_anchor=_reading_in(data["teams_anchor"]),
                session=_session_in(data["session"]),
                past_sessions=tuple(_session(p) for p in data["past_sessions"]),
                rc_seen=_rc_seen_in(data["rc_seen"]),
                rc_mode=mode,
                rc_writes=tuple(_write_in(w) for w in data["rc_writes"]),
                rc_write_seq=int(data["rc_write_seq"]),
                rc_yields=tuple((_field(n), _rc_value(v)) for n, v in data["rc_yields"]),
                queue_member=data["queue_member"],
                ringing_counts_as_busy=data["ringing_counts_as_busy"],
                rc_failures=int(data["rc_failures"]),
                rc_retry_at=_opt_float(data["rc_retry_at"]),
                teams_failures=int(data["teams_failures"]),
                teams_retry_at=_opt_float(data["teams_retry_at"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise UserStateError(f"malformed user state: {err!r}") from err


_STATE_FIELDS: Final = frozenset(f.name for f in fields(UserState))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _field(name: Any) -> str:
    if name not in RC_FIELDS:
        raise ValueError(f"unknown RingCentral field {name!r}")
    return str(name)


def _rc_value(value: Any) -> RcValue:
    if not isinstance(value, str | bool):
        raise ValueError(f"bad RingCentral value {value!r}")
    return value


def _opt_rc_value(value: Any) -> RcValue | None:
    return None if value is None else _rc_value(value)


def _teams_seen_out(seen: TeamsSeen) -> dict[str, Any]:
    return {
        "availability": seen.availability,
        "activity": seen.activity,
        "sequence": seen.sequence,
        "observed_at": seen.observed_at,
    }


def _teams_seen_in(data: Any) -> TeamsSeen | None:
    if data is None:
        return None
    return TeamsSeen(
        str(data["availability"]),
        str(data["activity"]),
        None if data["sequence"] is None else str(data["sequence"]),
        float(data["observed_at"]),
    )


def _reading_out(reading: TeamsReading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {
        "availability": reading.availability,
        "activity": reading.activity,
        "in_meeting": reading.in_meeting,
    }


def _reading_in(data: Any) -> TeamsReading | None:
    if data is None:
        return None
    return TeamsReading(str(data["availability"]), str(data["activity"]), bool(data["in_meeting"]))


def _session_out(session: OurSession) -> dict[str, Any]:
    return {
        "availability": session.availability,
        "activity": session.activity,
        "since": session.since,
        "expires_at": session.expires_at,
        "cleared_at": session.cleared_at,
        "applied_at": session.applied_at,
        "held_from": session.held_from,
        "held_until": session.held_until,
        "end_landed": session.end_landed,
    }


def _session_in(data: Any) -> OurSession | None:
    return None if data is None else _session(data)


def _session(data: Any) -> OurSession:
    return OurSession(
        str(data["availability"]),
        str(data["activity"]),
        float(data["since"]),
        float(data["expires_at"]),
        _opt_float(data["cleared_at"]),
        _opt_float(data["applied_at"]),
        _opt_float(data.get("held_from")),
        _opt_float(data.get("held_until")),
        _opt_float(data.get("end_landed")),
    )


def _rc_seen_out(seen: RcSeen) -> dict[str, Any]:
    return {
        "user_status": seen.user_status,
        "dnd_status": seen.dnd_status,
        "dnd_status_personal": seen.dnd_status_personal,
        "accept_call_queue_calls": seen.accept_call_queue_calls,
        "telephony_status": seen.telephony_status,
        "sequence": seen.sequence,
        "observed_at": seen.observed_at,
        "event_at": seen.event_at,
    }


def _rc_seen_in(data: Any) -> RcSeen | None:
    if data is None:
        return None
    accept = data["accept_call_queue_calls"]
    if accept is not None and not isinstance(accept, bool):
        raise ValueError("accept_call_queue_calls must be a boolean")
    return RcSeen(
        user_status=data["user_status"],
        dnd_status=data["dnd_status"],
        dnd_status_personal=data["dnd_status_personal"],
        accept_call_queue_calls=accept,
        telephony_status=data["telephony_status"],
        sequence=None if data["sequence"] is None else int(data["sequence"]),
        observed_at=_opt_float(data["observed_at"]),
        # Documents written before event_at existed simply trust reads as they did then.
        event_at=_opt_float(data.get("event_at")),
    )


def _write_out(write: RcWrite) -> dict[str, Any]:
    return {
        "name": write.name,
        "written": write.written,
        "replaced": write.replaced,
        "issued_at": write.issued_at,
        "write_id": write.write_id,
        "applied_at": write.applied_at,
        "sent_at": write.sent_at,
        "in_flight": list(write.in_flight),
        "earlier": [[value, issued, until] for value, issued, until in write.earlier],
    }


def _write_in(data: Any) -> RcWrite:
    return RcWrite(
        name=_field(data["name"]),
        written=_rc_value(data["written"]),
        replaced=_opt_rc_value(data["replaced"]),
        issued_at=float(data["issued_at"]),
        write_id=int(data["write_id"]),
        applied_at=_opt_float(data["applied_at"]),
        # Documents written before sent_at existed: the write was sent when it was decided.
        sent_at=_opt_float(data.get("sent_at")),
        in_flight=tuple(_rc_value(v) for v in data["in_flight"]),
        earlier=tuple(
            (_rc_value(v), float(issued), _opt_float(until)) for v, issued, until in data["earlier"]
        ),
    )
