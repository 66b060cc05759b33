"""Writes needed: how many presence writes a perfect syncer makes for a scenario's ground truth.

This counts from the scenario alone (who did what, when), following DESIGN §4.2 with call
presence customisation off, as the office day runs; it never asks the product's engine.

For each person and each side we walk their steps in time order and keep what that side shows
if a perfect syncer had acted on every step at once:

- **RingCentral** shows (userStatus, dndStatus). The person's *own* values are their start
  values, with dndStatus replaced whenever they set DND by hand in RingCentral (that change is
  theirs, made in RingCentral, and costs the syncer nothing). Their own Teams presence (not the
  sessions the syncer holds) asks for an overlay: signed out → userStatus Offline; Do not
  disturb chosen in Teams → dndStatus DoNotAcceptAnyCalls (Teams shows DND above a meeting);
  in a meeting → userStatus Busy; otherwise nothing (the own values come back). After each
  step the wanted values are the own values under the overlay; one PUT is needed each time
  they differ from what RingCentral shows.
- **Teams** shows the syncer's presence session: Busy/InACall while a RingCentral call is
  connected, DoNotDisturb/Presenting while the person's own RingCentral DND is on, none
  otherwise. One write (setPresence or clearPresence) is needed each time that changes.

A step that changes nothing a side must show needs no write on that side, so duplicated or
reordered notifications cannot raise the count: they are not part of the ground truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from presence_sync.demo.expect import ACTION_EFFECTS
from presence_sync.demo.scenario import Step

__all__ = ["DND", "TAKE_ALL", "Doing", "NeededWrites", "needed_writes", "rc_wanted", "session"]

DND = "DoNotAcceptAnyCalls"
TAKE_ALL = "TakeAllCalls"
IN_A_CALL = ("Busy", "InACall")
DND_SESSION = ("DoNotDisturb", "Presenting")



@dataclass(frozen=True)
class Doing:
    """What a person is doing at one moment, as the scenario tells it."""

    meeting: bool = False
    rc_call: bool = False
    rc_dnd: bool = False  # DND set by hand in RingCentral
    teams_choice: str = "Available"  # Available, DoNotDisturb or Offline (signed out)


@dataclass(frozen=True)
class NeededWrites:
    """Writes a perfect syncer needs for one person: RingCentral PUTs and Teams session writes."""

    ringcentral: int = 0
    teams: int = 0


def rc_wanted(doing: Doing, own: tuple[str, str]) -> tuple[str, str]:
    """(userStatus, dndStatus) RingCentral must show: the person's `own` under the overlay."""
    status, dnd = own
    if doing.teams_choice == "Offline":
        return "Offline", dnd
    if doing.teams_choice == "DoNotDisturb":
        return status, DND
    if doing.meeting:
        return "Busy", dnd
    return status, dnd


def session(doing: Doing) -> tuple[str, str] | None:
    """The Teams presence session the syncer must hold, or None."""
    if doing.rc_call:
        return IN_A_CALL
    if doing.rc_dnd:
        return DND_SESSION
    return None


def needed_writes(
    steps: Iterable[Step],
    start: Mapping[str, tuple[Doing, tuple[str, str]]],
) -> dict[str, NeededWrites]:
    """Writes needed per person (Teams email, lower case) for `steps`.

    `start` gives each person's activity and RingCentral (userStatus, dndStatus) when the
    steps begin; everyone in it gets an entry, also those without steps.
    """
    doing = {key.lower(): value[0] for key, value in start.items()}
    own = {key.lower(): value[1] for key, value in start.items()}
    shown = {key: rc_wanted(doing[key], own[key]) for key in doing}
    held = {key: session(doing[key]) for key in doing}
    counts = {key: [0, 0] for key in doing}
    for step in sorted(steps, key=lambda s: s.at):
        key = step.person.lower()
        if key not in doing:
            raise KeyError(f"step for {step.person}, who has no start state")
        now = replace(doing[key], **ACTION_EFFECTS[step.action])
        doing[key] = now
        if step.action in ("rc-dnd-on", "rc-dnd-off"):
            # The person's own change, made in RingCentral: it shows there already.
            own[key] = (own[key][0], DND if now.rc_dnd else TAKE_ALL)
            shown[key] = (shown[key][0], own[key][1])
        wanted = rc_wanted(now, own[key])
        if wanted != shown[key]:
            counts[key][0] += 1
            shown[key] = wanted
        wanted_session = session(now)
        if wanted_session != held[key]:
            counts[key][1] += 1
            held[key] = wanted_session
    return {key: NeededWrites(rc, teams) for key, (rc, teams) in counts.items()}
