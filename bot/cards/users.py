"""The users card: one page of people, each with their state and a Sync or Unsync button."""

from __future__ import annotations

from typing import Final

from bot.cards.base import (
    Card,
    Element,
    Verb,
    bold,
    buttons,
    card,
    clip,
    columns,
    execute,
    heading,
    text,
)
from presence_sync.admin import UserPage, UserView

__all__ = ["USERS_PAGE_SIZE", "users_card"]

USERS_PAGE_SIZE: Final = 15
"""People on one page: the worst page (longest names, emails and reasons) stays under 28 KB."""

# Cut by bytes as sent, not characters, so a page's size has a bound whatever the script.
_NAME_BYTES: Final = 120
_EMAIL_BYTES: Final = 160
_REASON_BYTES: Final = 240
_FILTER_BYTES: Final = 120


def _state(user: UserView) -> tuple[str, str | None]:
    """What the row says about the person, and its colour."""
    if not user.linked:
        return f"Not matched: {user.reason or 'no reason recorded'}", "Warning"
    if user.last_error:
        return f"Failed: {user.last_error}", "Attention"
    return ("Synced", "Good") if user.synced else ("Not synced", None)


def _row(user: UserView) -> Element:
    words, color = _state(user)
    who = [
        text(bold(clip(user.display_name or user.email, _NAME_BYTES))),
        text(clip(user.email, _EMAIL_BYTES), subtle=True),
        text(clip(words, _REASON_BYTES), color=color),
    ]
    if not user.linked:
        return columns(("stretch", who))
    button = (
        execute("Unsync", Verb.UNSYNC_ONE, {"link_id": user.id})
        if user.synced
        else execute("Sync", Verb.SYNC_ONE, {"link_id": user.id}, style="positive")
    )
    return columns(("stretch", who), ("auto", [buttons(button)]))


def users_card(
    page: UserPage,
    *,
    filter: str | None = None,
    cursor: str | None = None,
    previous_cursor: str | None = None,
) -> Card:
    """One page of people matching `filter`; `cursor` is this page's (None: the first page).

    `previous_cursor` is the cursor of the page before this one (None: that is the first
    page); Previous is offered whenever this page is not the first.
    """
    if len(page.users) > USERS_PAGE_SIZE:
        raise ValueError(
            f"a users card shows at most {USERS_PAGE_SIZE} people, not {len(page.users)}"
        )
    # A filter is as long as the admin typed it; no name is this long, so cutting loses nothing.
    filter = clip(filter, _FILTER_BYTES).removesuffix("…") if filter else None
    shown = filter
    title = f'People matching "{shown}"' if shown else "People"
    body: list[Element] = [heading(title)]
    if not page.users:
        body.append(text("No one matches." if shown else "No one is known yet."))
    body += [_row(user) for user in page.users]
    actions = []
    if cursor is not None:
        back = {"filter": filter, "cursor": previous_cursor}
        actions.append(execute("Previous page", Verb.USERS_PAGE, back))
    if page.next_cursor is not None:
        ahead = {"filter": filter, "cursor": page.next_cursor}
        actions.append(execute("Next page", Verb.USERS_PAGE, ahead))
    return card(body, actions)
