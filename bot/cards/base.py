"""The verbs the bot's buttons send, and the few Adaptive Card parts every card is built from.

Every card is Adaptive Cards 1.5, as Teams renders it. Buttons are `Action.Execute` (Universal
Actions): Teams posts an `adaptiveCard/action` invoke carrying the button's `verb` and `data`
(plus the card's inputs, when the button takes them), and the bot answers with the card that
replaces the one pressed. Only buttons that open a web page are `Action.OpenUrl`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, TypeAlias

__all__ = [
    "RULES_INPUT_CUSTOMISATION",
    "RULES_INPUT_PRESERVE",
    "RULE_INPUT_PREFIX",
    "VERB_DATA",
    "Card",
    "Verb",
]

Card: TypeAlias = dict[str, Any]
Element: TypeAlias = dict[str, Any]

SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION: Final = "1.5"

# The rules card's input ids; they ride along with `rules.save` beside its data.
RULES_INPUT_CUSTOMISATION: Final = "customisation"
RULES_INPUT_PRESERVE: Final = "preserve"
RULE_INPUT_PREFIX: Final = "rule."


class Verb(StrEnum):
    """What a card's button asks the bot to do; `VERB_DATA` names the data keys each carries.

    ====================  ==========================  =========================================
    verb                  data                        meaning
    ====================  ==========================  =========================================
    run                   text                        run `text` as if the admin typed it
                                                      (suggestions, Help, Status, Report…)
    confirm               token                       go ahead with the pending `sync all` or
                                                      `disable` that `token` names
    cancel                token                       drop that pending confirmation
    rules.save            version                     save the rules card's inputs, if the rules
                                                      are still at `version`; inputs
                                                      `customisation`, `preserve` ("true" or
                                                      "false") and `rule.<state id>` (rule id)
    rules.reset           version                     ask before resetting the rules
    rules.reset.confirm   version                     reset the rules to the defaults, if they
                                                      are still at `version`
    rules.reset.cancel    version                     keep the rules; show them again
    sync.one              link_id                     sync one person
    unsync.one            link_id                     stop syncing one person
    users.page            filter, cursor              show the users page starting at `cursor`
                                                      (null: the first) of those matching
                                                      `filter` (null: everyone)
    pick                  command, link_id            the person meant by an ambiguous name;
                                                      `command` is "sync" or "unsync"
    retry                 job_id                      run the job again for the people it
                                                      failed for
    job.refresh           job_id                      show the job's progress now
    ====================  ==========================  =========================================
    """

    RUN = "run"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RULES_SAVE = "rules.save"
    RULES_RESET = "rules.reset"
    RULES_RESET_CONFIRM = "rules.reset.confirm"
    RULES_RESET_CANCEL = "rules.reset.cancel"
    SYNC_ONE = "sync.one"
    UNSYNC_ONE = "unsync.one"
    USERS_PAGE = "users.page"
    PICK = "pick"
    RETRY = "retry"
    JOB_REFRESH = "job.refresh"


VERB_DATA: Final[Mapping[Verb, frozenset[str]]] = {
    Verb.RUN: frozenset({"text"}),
    Verb.CONFIRM: frozenset({"token"}),
    Verb.CANCEL: frozenset({"token"}),
    Verb.RULES_SAVE: frozenset({"version"}),
    Verb.RULES_RESET: frozenset({"version"}),
    Verb.RULES_RESET_CONFIRM: frozenset({"version"}),
    Verb.RULES_RESET_CANCEL: frozenset({"version"}),
    Verb.SYNC_ONE: frozenset({"link_id"}),
    Verb.UNSYNC_ONE: frozenset({"link_id"}),
    Verb.USERS_PAGE: frozenset({"filter", "cursor"}),
    Verb.PICK: frozenset({"command", "link_id"}),
    Verb.RETRY: frozenset({"job_id"}),
    Verb.JOB_REFRESH: frozenset({"job_id"}),
}
"""The data keys each verb's buttons carry, exactly (the inputs of `rules.save` come beside)."""


def card(body: Iterable[Element], actions: Iterable[Element] = ()) -> Card:
    """An Adaptive Card 1.5 with `body` and, if any, `actions` along its foot."""
    built: Card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION}
    built["body"] = list(body)
    listed = list(actions)
    if listed:
        built["actions"] = listed
    return built


def heading(words: str) -> Element:
    """The card's title line."""
    return {
        "type": "TextBlock",
        "text": words,
        "size": "Medium",
        "weight": "Bolder",
        "style": "heading",
        "wrap": True,
    }


def section(words: str) -> Element:
    """A bold line that opens a part of the card."""
    return {
        "type": "TextBlock",
        "text": words,
        "weight": "Bolder",
        "wrap": True,
        "spacing": "Medium",
    }


def text(words: str, *, subtle: bool = False, color: str | None = None) -> Element:
    """A wrapping paragraph; `color` is Good, Warning or Attention."""
    block: Element = {"type": "TextBlock", "text": words, "wrap": True}
    if subtle:
        block["isSubtle"] = True
        block["spacing"] = "Small"
    if color is not None:
        block["color"] = color
    return block


def facts(rows: Iterable[tuple[str, str]]) -> Element:
    """Rows of a label and its value."""
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in rows]}


def columns(*cells: tuple[str, list[Element]]) -> Element:
    """Cells side by side; each cell is (width, items), width "auto", "stretch" or a weight."""
    return {
        "type": "ColumnSet",
        "columns": [
            {"type": "Column", "width": width, "items": items, "verticalContentAlignment": "Center"}
            for width, items in cells
        ],
    }


def buttons(*actions: Element) -> Element:
    """Buttons inside the body, under what they act on."""
    return {"type": "ActionSet", "actions": list(actions)}


def execute(
    title: str,
    verb: Verb,
    data: Mapping[str, Any],
    *,
    style: str | None = None,
    with_inputs: bool = False,
) -> Element:
    """An `Action.Execute` button; its data keys must be exactly those documented for `verb`."""
    if set(data) != VERB_DATA[verb]:
        raise ValueError(f"{verb} carries {sorted(VERB_DATA[verb])}, not {sorted(data)}")
    action: Element = {
        "type": "Action.Execute",
        "title": title,
        "verb": verb.value,
        "data": dict(data),
        "associatedInputs": "auto" if with_inputs else "none",
    }
    if style is not None:
        action["style"] = style
    return action


def run(title: str, command: str, *, style: str | None = None) -> Element:
    """A button that runs a command as if it was typed."""
    return execute(title, Verb.RUN, {"text": command}, style=style)


def open_url(title: str, url: str) -> Element:
    """A button that opens a web page."""
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def clip(words: str, limit: int) -> str:
    """`words` cut to at most `limit` bytes as sent, with an ellipsis when cut.

    The Bot Connector client sends JSON with non-ASCII escaped, so "é" costs 6 bytes and an
    emoji 12; counting that way bounds a card's size whatever script names are written in.
    """
    if _sent_size(words) <= limit:
        return words
    kept, used = [], _sent_size(_ELLIPSIS)
    for char in words:
        used += _sent_size(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + _ELLIPSIS


_ELLIPSIS: Final = "…"


def _sent_size(words: str) -> int:
    return len(json.dumps(words)) - 2


def people(n: int) -> str:
    """'1 person', '1,250 people'."""
    return "1 person" if n == 1 else f"{n:,} people"


def bold(words: str) -> str:
    """Words in bold (Teams card markdown)."""
    return f"**{words}**"
