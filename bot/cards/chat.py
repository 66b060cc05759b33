"""Cards for the conversation itself: help, typos, refusals, picking a person, confirmations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from bot.cards.base import (
    Card,
    Verb,
    bold,
    buttons,
    card,
    clip,
    columns,
    execute,
    facts,
    heading,
    open_url,
    people,
    run,
    section,
    text,
)
from bot.commands import CommandName
from bot.people import Candidate

__all__ = [
    "MAX_CANDIDATES",
    "Preview",
    "apology_card",
    "cancelled_card",
    "confirm_card",
    "confirmed_card",
    "did_you_mean_card",
    "expired_card",
    "help_card",
    "not_yours_card",
    "pick_card",
    "refused_card",
    "team_chat_card",
    "unknown_card",
]

MAX_CANDIDATES: Final = 10  # a pick card lists this many people; more, and an email is surer
_MAX_REASONS: Final = 8
_NAME_BYTES: Final = 160

_ADMIN_COMMANDS: Final = (
    ("help", "This list"),
    ("status", "Connections, who is synced and how quickly changes are seen"),
    ("sync all", "Sync everyone who has both accounts (I ask first)"),
    ("sync people", "Sync the people you name"),
    ("unsync people", "Stop syncing them; they get their own presence back"),
    ("disable", "Stop syncing everyone (I ask first); enable brings back who was synced"),
    ("enable", "Turn syncing back on"),
    ("rules", "What Teams meetings and calls do to RingCentral calls"),
    ("users [filter]", "Everyone, or those matching the filter, with Sync and Unsync buttons"),
    ("report [job]", "The last job's report, or that job's"),
    ("connect", "Connect Microsoft and RingCentral"),
)
_EXAMPLES: Final = (
    "sync alice@contoso.com bob",
    "unsync Alice Jones, Bob and @Carol",
)


def help_card(is_admin: bool) -> Card:
    """What the person may ask for, one line each; non-admins only see what is theirs."""
    if not is_admin:
        return card(
            [
                heading("Presence Sync"),
                text("I keep your presence in Microsoft Teams and RingCentral in step."),
                facts(
                    [
                        ("status", "Whether you are synced and what Teams does to your calls"),
                        ("help", "This message"),
                    ]
                ),
                text(
                    "Only Presence Sync admins can change who is synced; ask one of them.",
                    subtle=True,
                ),
            ],
            [run("My status", "status")],
        )
    return card(
        [
            heading("What I can do"),
            facts(_ADMIN_COMMANDS),
            section("Naming people"),
            text('Use emails, names or @mentions, separated by spaces, commas or "and":'),
            *(text(f"- {bold(example)}", subtle=True) for example in _EXAMPLES),
        ],
        [run("Status", "status"), run("Users", "users"), run("Rules", "rules")],
    )


def did_you_mean_card(word: str, suggestion: str | None) -> Card:
    """Offer the closest command to what was typed, or say it was not understood."""
    shown = clip(word, _NAME_BYTES)
    if suggestion is None:
        return card(
            [text(f'I did not understand "{shown}".'), text("Type help for what I can do.")],
            [run("Help", "help")],
        )
    return card(
        [text(f"Did you mean {bold(clip(suggestion, _NAME_BYTES))}?")],
        [run(f"Yes: {clip(suggestion, 60)}", suggestion, style="positive"), run("Help", "help")],
    )


def refused_card(what: str) -> Card:
    """A non-admin asked for an admin's command."""
    return card(
        [text(f"Only Presence Sync admins can {what}; ask one of them.")],
        [run("My status", "status")],
    )


def team_chat_card(chat_link: str) -> Card:
    """A command arrived in a team or group chat; point to the personal chat."""
    return card(
        [text("I only take commands in our personal chat.")],
        [open_url("Open our chat", chat_link)],
    )


def apology_card(correlation_id: str) -> Card:
    """Something failed on the product's side; give the id the admin can look up."""
    return card(
        [
            text("Something went wrong on our side; nothing more was changed."),
            text(
                f"If it keeps happening, quote {bold(correlation_id)} to your admin.", subtle=True
            ),
        ]
    )


def pick_card(command: CommandName, name: str, candidates: Sequence[Candidate]) -> Card:
    """Several people fit `name`: one button each to say whom the sync or unsync meant."""
    if command not in (CommandName.SYNC, CommandName.UNSYNC):
        raise ValueError(f"only sync and unsync pick a person, not {command}")
    shown = clip(name, _NAME_BYTES)
    rows = [
        columns(
            (
                "stretch",
                [
                    text(bold(clip(person.display_name or person.email, _NAME_BYTES))),
                    text(clip(person.email, _NAME_BYTES), subtle=True),
                ],
            ),
            (
                "auto",
                [
                    buttons(
                        execute(
                            "This one",
                            Verb.PICK,
                            {"command": command.value, "link_id": person.link_id},
                        )
                    )
                ],
            ),
        )
        for person in candidates[:MAX_CANDIDATES]
    ]
    more = len(candidates) - MAX_CANDIDATES
    tail = [text(f"{people(more)} more fit; name them by email.", subtle=True)] if more > 0 else []
    return card([heading(f"Which {shown} did you mean?"), *rows, *tail])


def unknown_card(names: Sequence[str]) -> Card:
    """Names that fit nobody in the directory."""
    listed = [text(f"- {clip(name, _NAME_BYTES)}") for name in names[:30]]
    if len(names) > 30:
        listed.append(text(f"and {len(names) - 30:,} more", subtle=True))
    return card(
        [
            text("I could not find these people, so nothing was changed for them:"),
            *listed,
            text("Check the spelling, or use their email.", subtle=True),
        ],
        [run("Users", "users")],
    )


@dataclass(frozen=True)
class Preview:
    """What a `sync all` or `disable` would do, counted before the admin confirms."""

    change: int  # people who would be synced (sync all) or unsynced (disable)
    already: int = 0  # people already as asked
    unmatched: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Why people cannot be synced → how many, for `sync all`."""


_CONFIRMABLE: Final = (CommandName.SYNC_ALL, CommandName.DISABLE)


def _confirmable(kind: CommandName) -> CommandName:
    if kind not in _CONFIRMABLE:
        raise ValueError(f"only sync all and disable are confirmed, not {kind}")
    return kind


def confirm_card(kind: CommandName, preview: Preview, token: str) -> Card:
    """What `sync all` or `disable` will do, with Confirm and Cancel."""
    _confirmable(kind)
    if kind is CommandName.SYNC_ALL:
        title = "Sync everyone?"
        lines = [f"{bold(people(preview.change))} will be synced."]
        if preview.already:
            lines.append(f"{people(preview.already)} are synced already.")
    else:
        title = "Stop syncing everyone?"
        lines = [
            f"{bold(people(preview.change))} will be unsynced and get their own presence back.",
            "Enable turns syncing back on for the same people.",
        ]
    body = [heading(title), *map(text, lines)]
    unmatched = sorted(preview.unmatched.items(), key=lambda item: (-item[1], item[0]))
    if unmatched:
        total = sum(n for _, n in unmatched)
        body.append(section(f"{people(total)} cannot be synced"))
        rows = [(f"{n:,}", clip(reason, _NAME_BYTES)) for reason, n in unmatched[:_MAX_REASONS]]
        rest = sum(n for _, n in unmatched[_MAX_REASONS:])
        if rest:
            rows.append((f"{rest:,}", "other reasons"))
        body.append(facts(rows))
    return card(
        body,
        [
            execute("Confirm", Verb.CONFIRM, {"token": token}, style="positive"),
            execute("Cancel", Verb.CANCEL, {"token": token}),
        ],
    )


def confirmed_card(kind: CommandName) -> Card:
    """The confirmation was accepted; the job's progress follows in its own card."""
    if _confirmable(kind) is CommandName.SYNC_ALL:
        return card([text("Confirmed: syncing everyone. I will post the progress here.")])
    return card([text("Confirmed: syncing is off for everyone. Type enable to turn it back on.")])


def cancelled_card(kind: CommandName) -> Card:
    """The admin cancelled; nothing changed."""
    _confirmable(kind)
    return card([text(f"Cancelled {bold(kind.value)}: nothing was changed.")])


def expired_card(kind: CommandName) -> Card:
    """Confirm was pressed too late."""
    return card(
        [text("This confirmation has expired; ask again.")],
        [run(f"Ask again: {_confirmable(kind).value}", kind.value)],
    )


def not_yours_card(admin: str) -> Card:
    """Someone other than the asking admin pressed Confirm or Cancel."""
    return card([text(f"Only {clip(admin, _NAME_BYTES)} who asked can confirm this.")])
