"""Notices in chat: a person's "you are now synced / unsynced", admins' alerts and recoveries.

The words for people come from `presence_sync.notices.texts`, so the chat card and the email
say the same thing.
"""

from __future__ import annotations

from typing import Final

from bot.cards.base import Card, card, clip, heading, run, text
from presence_sync.notices.texts import USER_SYNCED, USER_UNSYNCED, render

__all__ = [
    "alert_card",
    "recovered_card",
    "synced_notice_card",
    "text_card",
    "unsynced_notice_card",
]

_REASON_BYTES: Final = 400


def _from_text(kind: str, reason: str | None = None) -> Card:
    notice = render(kind, "", {"reason": clip(reason, _REASON_BYTES)} if reason else {})
    title, *paragraphs = notice.text.split("\n\n")
    return card(
        [heading(title), *(text(p) for p in paragraphs)],
        [run("My status", "status")],
    )


def synced_notice_card() -> Card:
    """Tell a person their presence is now kept in step, and what that means for them."""
    return _from_text(USER_SYNCED)


def unsynced_notice_card(reason: str | None = None) -> Card:
    """Tell a person their presence is no longer synced, and why when there is a reason."""
    return _from_text(USER_UNSYNCED, reason)


def alert_card(label: str, reason: str, fix: str | None = None) -> Card:
    """Tell admins a connection broke (or subscriptions keep failing), and how to fix it."""
    body = [
        heading(f"{label} needs attention"),
        text(clip(reason, _REASON_BYTES), color="Attention"),
        text("Until it is fixed, presence changes may not be synced."),
    ]
    if fix:
        body.append(text(f"What to do: {clip(fix, _REASON_BYTES)}"))
    return card(body, [run("Status", "status"), run("Connect", "connect")])


def recovered_card(label: str, note: str | None = None) -> Card:
    """Tell admins a connection that was broken works again."""
    body = [heading(f"{label} works again"), text("Presence is syncing as usual.", color="Good")]
    if note:
        body.append(text(clip(note, _REASON_BYTES), subtle=True))
    return card(body, [run("Status", "status")])


_TEXT_BYTES: Final = 8000


def text_card(title: str, words: str) -> Card:
    """A notice without a card of its own: its title and text, paragraph by paragraph."""
    paragraphs = [p for p in clip(words, _TEXT_BYTES).split("\n\n") if p.strip()]
    return card([heading(title or "Presence Sync"), *(text(p) for p in paragraphs)])
