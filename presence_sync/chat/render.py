"""Bot messages as terminal text: Adaptive Cards read top to bottom, buttons numbered.

Pure functions from the activity JSON the bot sent (as the sandbox's connector keeps it) to
lines and buttons. A card reads as it looks in Teams: the title, text blocks, facts as
`label: value`, a column set on one line (a column's own lines joined by ` · `), inputs with
their current value, and every button numbered in the order it appears, `[1] Confirm`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CARD", "Button", "Rendered", "render_card", "render_message"]

CARD = "application/vnd.microsoft.card.adaptive"
_PRESSABLE = frozenset({"Action.Execute", "Action.Submit", "Action.OpenUrl", "imBack"})


@dataclass(frozen=True)
class Button:
    """A button as a person presses it: what it is called and what pressing it sends."""

    title: str
    kind: str  # Action.Execute, Action.Submit, Action.OpenUrl or imBack (a suggested action)
    verb: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    with_inputs: bool = False


@dataclass(frozen=True)
class Rendered:
    """What one message shows: its lines, its buttons (numbered from 1) and its inputs."""

    lines: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    inputs: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Page:
    """The renderer's running state: buttons so far and the inputs' values."""

    buttons: list[Button] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)

    def button(self, action: Mapping[str, Any]) -> str:
        self.buttons.append(_button(action))
        return f"[{len(self.buttons)}] {self.buttons[-1].title}"

    def row(self, actions: Iterable[Any]) -> str:
        pressable = [a for a in actions if isinstance(a, Mapping) and a.get("type") in _PRESSABLE]
        return "  ".join(self.button(a) for a in pressable)


def _button(action: Mapping[str, Any]) -> Button:
    kind = str(action.get("type"))
    if kind == "imBack":  # a suggested action: pressing it says its value
        return Button(
            str(action.get("title") or action.get("value")),
            kind,
            data={"text": action.get("value")},
        )
    data = action.get("data")
    return Button(
        title=str(action.get("title") or action.get("verb") or "button"),
        kind=kind,
        verb=str(action["verb"]) if action.get("verb") is not None else None,
        data=dict(data) if isinstance(data, Mapping) else {},
        url=str(action["url"]) if action.get("url") else None,
        # Action.Submit always carries the card's inputs; Execute only when it says so.
        with_inputs=kind == "Action.Submit"
        or (kind == "Action.Execute" and action.get("associatedInputs", "auto") == "auto"),
    )


def plain(words: str) -> str:
    """Teams card markdown as terminal text: bold marks dropped."""
    return words.replace("**", "").strip()


def _elements(page: _Page, items: Any) -> Iterator[str]:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and item.get("isVisible", True) is not False:
            yield from _element(page, item)


def _element(page: _Page, item: Mapping[str, Any]) -> Iterator[str]:
    kind = item.get("type")
    if kind == "TextBlock" and item.get("text"):
        words = plain(str(item["text"]))
        if item.get("style") == "heading" or item.get("size") in ("Medium", "Large", "ExtraLarge"):
            yield words
            yield "─" * min(len(words), 60)
        elif item.get("weight") == "Bolder" and item.get("spacing") in ("Medium", "Large"):
            yield ""  # a section of the card: a blank line before it, as Teams leaves a gap
            yield words
        elif item.get("color") == "Attention":
            yield f"! {words}"
        else:
            yield words
    elif kind == "RichTextBlock":
        runs = item.get("inlines") or []
        yield plain("".join(str(r.get("text", "")) for r in runs if isinstance(r, Mapping)))
    elif kind == "FactSet":
        facts = [f for f in item.get("facts") or [] if isinstance(f, Mapping)]
        width = max((len(plain(str(f.get("title", "")))) for f in facts), default=0)
        for fact in facts:
            title = plain(str(fact.get("title", ""))) + ":"
            yield f"{title:<{width + 1}} {plain(str(fact.get('value', '')))}"
    elif kind == "ColumnSet":
        cells = [
            " · ".join(_elements(page, column.get("items")))
            for column in item.get("columns") or []
            if isinstance(column, Mapping)
        ]
        line = "  ".join(cell for cell in cells if cell)
        if line:
            yield line
    elif kind == "Container":
        yield from _elements(page, item.get("items"))
    elif kind == "Table":
        for row in item.get("rows") or []:
            cells = [" · ".join(_elements(page, c.get("items"))) for c in row.get("cells") or []]
            yield "  ".join(cells)
    elif kind == "ActionSet":
        line = page.row(item.get("actions") or [])
        if line:
            yield line
    elif kind == "Input.Toggle":
        on = str(item.get("value", item.get("valueOff", "false"))) == str(
            item.get("valueOn", "true")
        )
        page.inputs[str(item.get("id"))] = str(item.get("value", item.get("valueOff", "false")))
        yield f"[{'x' if on else ' '}] {plain(str(item.get('title', '')))}"
    elif kind == "Input.ChoiceSet":
        chosen = str(item.get("value", ""))
        page.inputs[str(item.get("id"))] = chosen
        titles = {str(c.get("value")): str(c.get("title")) for c in item.get("choices") or []}
        yield f"{plain(str(item.get('label', item.get('id', ''))))}: {titles.get(chosen, chosen)}"
    elif kind in ("Input.Text", "Input.Number", "Input.Date", "Input.Time"):
        page.inputs[str(item.get("id"))] = str(item.get("value", ""))
        label = item.get("label") or item.get("placeholder") or item.get("id")
        yield f"{plain(str(label))}: {item.get('value', '')}"


def _card_lines(page: _Page, card: Mapping[str, Any]) -> list[str]:
    lines = list(_elements(page, card.get("body")))
    foot = page.row(card.get("actions") or [])
    if foot:
        lines.append(foot)
    return lines


def render_card(card: Mapping[str, Any]) -> Rendered:
    """One Adaptive Card as lines, with its buttons numbered from 1."""
    page = _Page()
    lines = _card_lines(page, card)
    return Rendered(tuple(lines), tuple(page.buttons), dict(page.inputs))


def render_message(message: Mapping[str, Any]) -> Rendered:
    """A bot message (text, cards, suggested actions) as lines; buttons numbered across all."""
    page = _Page()
    lines: list[str] = []
    if message.get("text"):
        lines.extend(plain(line) for line in str(message["text"]).splitlines())
    for attachment in _attachments(message.get("attachments")):
        if lines:
            lines.append("")
        if attachment.get("contentType") == CARD and isinstance(attachment.get("content"), Mapping):
            lines.extend(_card_lines(page, attachment["content"]))
        else:
            lines.append(f"(an attachment of type {attachment.get('contentType')})")
    suggested = message.get("suggestedActions")
    if isinstance(suggested, Mapping):
        row = page.row(suggested.get("actions") or [])
        if row:
            lines.append(row)
    return Rendered(tuple(lines), tuple(page.buttons), dict(page.inputs))


def _attachments(value: Any) -> Sequence[Mapping[str, Any]]:
    return [a for a in value if isinstance(a, Mapping)] if isinstance(value, list) else []
