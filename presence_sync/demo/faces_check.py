"""`--check` of the tab and the bot: what the admin reads there agrees with the sandbox.

Presence being right on both sides is not all an admin relies on. Signed in to the tab API as
the Global Administrator (through the real sign-in, `signin.py`), the people list must hold
exactly the sandbox's people: every Teams user, every RingCentral user extension, and for
each linked row the pairing the sandbox's directories give. The bot, asked `status` through
the sandbox's Bot Connector as that admin would in Teams, must count as synced everyone who
can be: on both platforms, enabled on both, with a RingCentral email nobody else shares.
Each difference is a line naming the person or the field.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from presence_sync.demo.console import EXIT_CHECK_FAILED, Console, DemoFailedError
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.signin import SignedInAdmin, SignInError, signed_in_admin

__all__ = [
    "BotStatus",
    "bot_status",
    "check_faces",
    "syncable",
    "tab_differences",
    "tab_people",
]

PAGE = 200  # the tab API's largest page
REPLY_WAIT = 10.0  # seconds for the bot's answer to reach the chat
CARD = "application/vnd.microsoft.card.adaptive"
_SYNCED_TEXT = re.compile(r"\bsynced\b\D{0,3}([\d,]+)|([\d,]+)\s+synced\b", re.IGNORECASE)


@dataclass(frozen=True)
class BotStatus:
    """What the bot answered `status`: the synced count it shows, or why there is none."""

    synced: int | None
    problem: str | None = None


async def tab_people(signed_in: SignedInAdmin) -> list[dict[str, Any]]:
    """Every row of the tab's people list (`GET /api/tab/people`, all pages).

    DemoFailedError with the tab API's answer when it refuses.
    """
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"filter": "all", "limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
        status, body = await signed_in.call("GET", f"/api/tab/people?{urlencode(query)}")
        if status != 200 or not isinstance(body, dict):
            raise DemoFailedError(f"the people list answered {status}: {body}")
        rows.extend(body.get("people") or [])
        cursor = body.get("nextCursor")
        if not cursor:
            return rows


def _sandbox_sides(
    users: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, str]]:
    """Teams users by id, RingCentral extensions by id, and the extension paired with each."""
    teams: dict[str, dict[str, Any]] = {}
    rc: dict[str, dict[str, Any]] = {}
    paired: dict[str, str] = {}
    for person in users:
        t, r = person.get("teams"), person.get("ringcentral")
        if t:
            teams[str(t["id"])] = t
        if r:
            rc[str(r["id"])] = r
        if t and r:
            paired[str(t["id"])] = str(r["id"])
    return teams, rc, paired


def _duplicated(users: list[dict[str, Any]]) -> set[str]:
    emails = Counter(
        str(p["ringcentral"]["email"]).lower()
        for p in users
        if p.get("ringcentral") and p["ringcentral"].get("email")
    )
    return {email for email, n in emails.items() if n > 1}


def syncable(users: list[dict[str, Any]]) -> list[str]:
    """Who can be synced, by Teams address: both platforms, enabled, a unique RingCentral email.

    Teams users and RingCentral extensions are paired by the sandbox as the product matches
    them (RingCentral's contact email against the UPN or the mail address, any case).
    """
    shared = _duplicated(users)
    found = []
    for person in users:
        t, r = person.get("teams"), person.get("ringcentral")
        if not t or not r or not t.get("accountEnabled") or r.get("status") != "Enabled":
            continue
        if str(r.get("email") or "").lower() in shared:
            continue
        found.append(str(t["userPrincipalName"]))
    return found


def _ext(rc: dict[str, Any]) -> str:
    return f"extension {rc.get('extensionNumber') or rc.get('id')}"


def _unlisted(
    side: dict[str, dict[str, Any]],
    listed: dict[str, dict[str, Any]],
    who: Callable[[dict[str, Any]], str],
) -> list[str]:
    return [
        f"{who(entry)}, missing from the tab's people"
        for key, entry in side.items()
        if key not in listed
    ]


def tab_differences(rows: list[dict[str, Any]], users: list[dict[str, Any]]) -> list[str]:
    """Each way the tab's people list differs from the sandbox's people, naming who."""
    teams, rc, paired = _sandbox_sides(users)
    listed_teams: dict[str, dict[str, Any]] = {}
    listed_rc: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for row in rows:
        teams_id = (row.get("teams") or {}).get("id")
        ext_id = (row.get("ringcentral") or {}).get("extensionId")
        if teams_id:
            listed_teams[str(teams_id)] = row
        if ext_id:
            listed_rc[str(ext_id)] = row
        if not teams_id and not ext_id:
            problems.append(
                f"{row.get('email')}: a tab row with neither a Teams nor a RingCentral account"
            )
    problems += _unlisted(
        teams, listed_teams, lambda u: f"{u['userPrincipalName']}: in the sandbox's Teams directory"
    )
    for teams_id, row in listed_teams.items():
        known = teams.get(teams_id)
        if known is None:
            problems.append(
                f"{row.get('email')}: listed by the tab, not a Teams user in the sandbox"
            )
            continue
        upn = (row.get("teams") or {}).get("upn")
        if str(upn).lower() != str(known["userPrincipalName"]).lower():
            problems.append(f"{known['userPrincipalName']}: the tab shows the Teams address {upn}")
    problems += _unlisted(
        rc, listed_rc, lambda e: f"{e.get('email')}: RingCentral {_ext(e)} is in the sandbox"
    )
    for ext_id, row in listed_rc.items():
        if ext_id not in rc:
            problems.append(
                f"{row.get('email')}: listed by the tab with RingCentral extension id {ext_id}, "
                "which the sandbox does not have"
            )
    for row in rows:
        teams_id = (row.get("teams") or {}).get("id")
        ext_id = (row.get("ringcentral") or {}).get("extensionId")
        if row.get("linked") and teams_id and paired.get(str(teams_id)) != ext_id:
            theirs = paired.get(str(teams_id))
            said = _ext(rc[theirs]) if theirs in rc else "no RingCentral user"
            problems.append(
                f"{row.get('email')}: the tab links RingCentral extension "
                f"{(row.get('ringcentral') or {}).get('extensionNumber')}, the sandbox pairs {said}"
            )
    return problems


def _cards(message: dict[str, Any]) -> Iterator[Any]:
    for attachment in message.get("attachments") or ():
        if attachment.get("contentType") == CARD:
            yield attachment.get("content")


def _synced_fact(node: Any) -> int | None:
    """The value of the card's `Synced` fact, wherever in the card it is."""
    if isinstance(node, dict):
        if node.get("type") == "FactSet":
            for fact in node.get("facts") or ():
                if str(fact.get("title", "")).strip().lower() == "synced":
                    return _number(str(fact.get("value", "")))
        for value in node.values():
            found = _synced_fact(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _synced_fact(item)
            if found is not None:
                return found
    return None


def _number(text: str) -> int | None:
    digits = text.replace(",", "").strip()
    return int(digits) if digits.isdigit() else None


def synced_in(message: dict[str, Any]) -> int | None:
    """The synced count a bot message shows: its card's `Synced` fact, else its text."""
    for content in _cards(message):
        found = _synced_fact(content)
        if found is not None:
            return found
    match = _SYNCED_TEXT.search(str(message.get("text") or ""))
    if match:
        return _number(match.group(1) or match.group(2))
    return None


async def bot_status(control: SandboxControl, email: str) -> BotStatus:
    """Say `status` to the bot as `email` through the sandbox's Teams; the count it answers."""
    path = quote(email, safe="@")
    said = await control.call("POST", f"/_sandbox/teams/{path}/say", {"text": "status"})
    activity = str((said or {}).get("activity_id") or "")
    deadline = time.monotonic() + REPLY_WAIT
    while True:
        chat = await control.call("GET", f"/_sandbox/chats/{path}")
        replies = [m for m in chat.get("messages", []) if m.get("replyToId") == activity]
        for reply in replies:
            count = synced_in(reply)
            if count is not None:
                return BotStatus(count)
        if time.monotonic() > deadline:
            if replies:
                return BotStatus(None, "the bot answered status without a synced count")
            return BotStatus(None, f"the bot did not answer status within {REPLY_WAIT:.0f} s")
        await asyncio.sleep(0.5)


async def check_faces(
    say: Console, control: SandboxControl, product_url: str, ca_file: str, admin: str
) -> int:
    """Check the tab's people list and the bot's status against the sandbox; the exit status."""
    say.heading("Tab and bot")
    state = await control.state()
    users = list(state.get("users", []))
    try:
        async with signed_in_admin(product_url, ca_file, admin) as signed_in:
            rows = await tab_people(signed_in)
    except (SignInError, DemoFailedError) as err:
        problems = [f"tab: {err}"]
    else:
        problems = tab_differences(rows, users)
        if not problems:
            say.line(f"ok  the tab lists the sandbox's {len(users)} people, as {admin} sees them")
    right = len(syncable(users))
    status = await bot_status(control, admin)
    if status.problem is not None:
        problems.append(f"bot status: {status.problem}")
    elif status.synced != right:
        problems.append(
            f"bot status, Synced: the bot says {status.synced}, "
            f"but {right} people in the sandbox can be synced"
        )
    else:
        say.line(f"ok  the bot's status says {status.synced} synced, as it should")
    if problems:
        say.heading(
            f"FAILED: {len(problems)} differences between the tab or the bot and the sandbox"
        )
        for problem in problems:
            say.line(problem)
        return EXIT_CHECK_FAILED
    return 0
