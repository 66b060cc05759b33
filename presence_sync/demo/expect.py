"""What every linked person should show at the end of a scenario, and the check against it.

The expectation follows DESIGN §4.2 (default mapping, call presence customisation off):
a Teams meeting makes RingCentral Busy; Teams DND becomes RingCentral DND; signing out of
Teams makes RingCentral Offline; a RingCentral call shows In a call in Teams; RingCentral DND
set by hand shows Do not disturb in Teams; and once an activity ends both sides are back to
the person's own state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from presence_sync.demo.scenario import Step

__all__ = [
    "ACTION_EFFECTS",
    "Activity",
    "Expected",
    "Row",
    "baseline_activity",
    "check_rows",
    "expected_for",
    "format_table",
    "replay",
]


@dataclass(frozen=True)
class Activity:
    """What a person is doing: the scenario's view, independent of either platform."""

    meeting: bool = False
    rc_call: bool = False
    rc_dnd: bool = False
    teams_choice: str = "Available"  # what they picked in the Teams client, or Offline

    @property
    def label(self) -> str:
        """A short name for the state people read in the summary table."""
        parts = []
        if self.teams_choice == "Offline":
            parts.append("signed out")
        elif self.teams_choice == "DoNotDisturb":
            parts.append("DND in Teams")
        if self.meeting:
            parts.append("in a meeting")
        if self.rc_call:
            parts.append("on a call")
        if self.rc_dnd:
            parts.append("DND in RingCentral")
        return " + ".join(parts) or "available"


# What each scenario action does to the person's own activity.
ACTION_EFFECTS: dict[str, dict[str, Any]] = {
    "meeting-start": {"meeting": True},
    "meeting-end": {"meeting": False},
    "rc-call-start": {"rc_call": True},
    "rc-call-end": {"rc_call": False},
    "rc-dnd-on": {"rc_dnd": True},
    "rc-dnd-off": {"rc_dnd": False},
    "teams-dnd-on": {"teams_choice": "DoNotDisturb"},
    "teams-available": {"teams_choice": "Available"},
    "sign-out": {"teams_choice": "Offline"},
    "sign-in": {"teams_choice": "Available"},
}


def baseline_activity(person: Mapping[str, Any]) -> Activity:
    """A person's own state before the scenario, from their `/_sandbox/state` entry."""
    teams = person.get("teams") or {}
    presence = teams.get("presence") or {}
    signed_out = presence.get("availability") == "Offline"
    return Activity(teams_choice="Offline" if signed_out else "Available")


def replay(steps: Iterable[Step], baseline: Mapping[str, Activity]) -> dict[str, Activity]:
    """Each person's activity after `steps`, starting from `baseline` (keyed by Teams email)."""
    now = {key.lower(): value for key, value in baseline.items()}
    for step in sorted(steps, key=lambda s: s.at):
        key = step.person.lower()
        now[key] = replace(now.get(key, Activity()), **ACTION_EFFECTS[step.action])
    return now


@dataclass(frozen=True)
class Expected:
    """Both sides as they should read; None means any value is right."""

    teams_availability: str
    teams_activity: str | None
    rc_user_status: str
    rc_dnd: str
    rc_telephony: str

    @property
    def teams_text(self) -> str:
        """Teams presence as the table shows it."""
        return _teams_text(self.teams_availability, self.teams_activity)

    @property
    def rc_text(self) -> str:
        """RingCentral presence as the table shows it."""
        return _rc_text(self.rc_user_status, self.rc_dnd, self.rc_telephony)


def expected_for(activity: Activity) -> Expected:
    """What both sides should show for `activity` under the default mapping."""
    if activity.teams_choice == "Offline":
        teams: tuple[str, str | None] = ("Offline", None)
    elif activity.teams_choice == "DoNotDisturb" or activity.rc_dnd:
        # Graph ranks DoNotDisturb above every other session, meetings included.
        teams = ("DoNotDisturb", None)
    elif activity.meeting:
        teams = ("Busy", "InAMeeting")
    elif activity.rc_call:
        teams = ("Busy", "InACall")
    else:
        teams = ("Available", "Available")
    # Only what the person does in Teams changes RingCentral's status: the In a call and DND
    # sessions the product sets itself are not fed back (DESIGN §4.4).
    if activity.teams_choice == "Offline":
        status = "Offline"
    elif activity.meeting and not (activity.teams_choice == "DoNotDisturb" or activity.rc_dnd):
        status = "Busy"
    else:
        status = "Available"
    dnd = (
        "DoNotAcceptAnyCalls"
        if activity.rc_dnd or activity.teams_choice == "DoNotDisturb"
        else "TakeAllCalls"
    )
    telephony = "CallConnected" if activity.rc_call else "NoCall"
    return Expected(teams[0], teams[1], status, dnd, telephony)


@dataclass(frozen=True)
class Row:
    """One line of the summary: a person, what each side shows, what was expected."""

    name: str
    email: str
    teams: str
    ringcentral: str
    expected: str
    ok: bool
    problem: str = ""


def check_rows(
    people: Sequence[Mapping[str, Any]],
    activities: Mapping[str, Activity],
    rc_mode: str = "legacy",
) -> list[Row]:
    """Compare each person in `people` (`/_sandbox/state` entries) with their expected state."""
    rows = []
    for person in people:
        teams = person.get("teams") or {}
        key = str(teams.get("userPrincipalName") or person.get("email") or "").lower()
        activity = activities.get(key, Activity())
        want = expected_for(activity)
        rows.append(_row(person, activity, want, rc_mode))
    rows.sort(key=lambda r: (r.ok, r.email))
    return rows


def _row(person: Mapping[str, Any], activity: Activity, want: Expected, rc_mode: str) -> Row:
    teams = (person.get("teams") or {}).get("presence") or {}
    rc = (person.get("ringcentral") or {}).get("presence") or {}
    availability = str(teams.get("availability", "?"))
    activity_name = str(teams.get("activity", "?"))
    dnd_key = "dndStatusPersonal" if rc_mode == "chs" else "dndStatus"
    status = str(rc.get("userStatus", "?"))
    dnd = str(rc.get(dnd_key, "?"))
    telephony = str(rc.get("telephonyStatus", "?"))
    problems = []
    if availability != want.teams_availability or (
        want.teams_activity is not None and activity_name != want.teams_activity
    ):
        problems.append(f"Teams shows {_teams_text(availability, activity_name)}")
    if status != want.rc_user_status:
        problems.append(f"RingCentral status {status}, expected {want.rc_user_status}")
    if dnd != want.rc_dnd:
        problems.append(f"RingCentral {dnd_key} {dnd}, expected {want.rc_dnd}")
    if telephony != want.rc_telephony:
        problems.append(f"RingCentral telephony {telephony}, expected {want.rc_telephony}")
    return Row(
        name=str(person.get("display_name") or person.get("email")),
        email=str(person.get("email")),
        teams=_teams_text(availability, activity_name),
        ringcentral=_rc_text(status, dnd, telephony),
        expected=f"{activity.label}: {want.teams_text} | {want.rc_text}",
        ok=not problems,
        problem="; ".join(problems),
    )


_DND_WORDS = {
    "TakeAllCalls": "",
    "DoNotAcceptAnyCalls": "DND",
    "DoNotAcceptDepartmentCalls": "no queue calls",
    "TakeDepartmentCallsOnly": "queue calls only",
}


def _teams_text(availability: str, activity: str | None) -> str:
    if activity is None or activity == availability:
        return availability
    return f"{availability}/{activity}"


def _rc_text(status: str, dnd: str, telephony: str) -> str:
    parts = [status]
    dnd_word = _DND_WORDS.get(dnd, dnd)
    if dnd_word:
        parts.append(dnd_word)
    if telephony != "NoCall":
        parts.append(telephony)
    return ", ".join(parts)


def format_table(rows: Sequence[Row]) -> str:
    """The summary table: user, Teams, RingCentral, expected, ok (failing rows first)."""
    header = ("USER", "TEAMS", "RINGCENTRAL", "EXPECTED", "OK")
    lines = [(r.email, r.teams, r.ringcentral, r.expected, "ok" if r.ok else "FAIL") for r in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=False)]
    out = []
    for cells in (header, *lines):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return "\n".join(out)
