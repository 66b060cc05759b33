"""The card check: Microsoft's renderer accepts a good 1.5 card and names what breaks a bad one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cards.check import (
    CARDS_DIR,
    MAX_CARD_BYTES,
    CardCheckError,
    CardEvent,
    check_card_files,
    check_cards,
)


def status_card() -> dict[str, Any]:
    """A card shaped like the bot's status answer, using every element the bot relies on."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "Presence Sync", "size": "Large",
             "weight": "Bolder", "style": "heading", "wrap": True},
            {"type": "FactSet", "facts": [
                {"title": "Synced", "value": "38 people"},
                {"title": "Waiting for RingCentral", "value": "2 people"},
            ]},
            {"type": "ColumnSet", "columns": [
                {"type": "Column", "width": "auto",
                 "items": [{"type": "TextBlock", "text": "Alice Ames", "weight": "Bolder"}]},
                {"type": "Column", "width": "stretch",
                 "items": [{"type": "TextBlock", "text": "In a call", "isSubtle": True}]},
            ]},
            {"type": "Input.ChoiceSet", "id": "rule", "label": "Call queue calls",
             "style": "compact", "value": "ring", "choices": [
                 {"title": "Ring me", "value": "ring"},
                 {"title": "Hold in the queue", "value": "hold"},
             ]},
            {"type": "ActionSet", "actions": [
                {"type": "Action.Execute", "title": "Apply", "verb": "setRule",
                 "data": {"version": 7}, "associatedInputs": "auto"},
            ]},
        ],
        "actions": [
            {"type": "Action.Execute", "title": "Sync all", "verb": "syncAll",
             "data": {"version": 7}, "style": "positive"},
        ],
    }


def test_a_1_5_card_with_every_element_the_bot_uses_passes_with_no_event() -> None:
    [report] = check_cards({"status": status_card()})
    assert report.events == ()
    assert report.ok
    assert report.name == "status"
    assert 0 < report.size < MAX_CARD_BYTES
    assert str(report).startswith("status: ok (")


def _with(change: Any) -> dict[str, Any]:
    card = status_card()
    change(card)
    return card


def _body(card: dict[str, Any], index: int) -> dict[str, Any]:
    element: dict[str, Any] = card["body"][index]
    return element


def _execute(card: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = _body(card, 4)["actions"][0]
    return action


BROKEN = [
    pytest.param(
        lambda c: c["body"].append({"type": "Input.Slider", "id": "level"}),
        CardEvent("Parse", "UnknownElementType",
                  'Unknown element type "Input.Slider". Fallback will be used if present.'),
        id="unknown element type",
    ),
    pytest.param(
        lambda c: _body(c, 0).update(size="huge"),
        CardEvent("Parse", "InvalidPropertyValue", 'Invalid value "huge" for property "size".'),
        id="bad enum value",
    ),
    pytest.param(
        lambda c: c["actions"].append({"type": "Action.Bogus", "title": "Undo"}),
        CardEvent("Parse", "UnknownActionType",
                  'Unknown action type "Action.Bogus". Fallback will be used if present.'),
        id="unknown action type",
    ),
    pytest.param(
        lambda c: _body(c, 3).pop("id"),
        CardEvent("Validation", "PropertyCantBeNull", "All inputs must have a unique Id."),
        id="input without id",
    ),
    pytest.param(
        lambda c: _body(c, 3).update(choices=[]),
        CardEvent("Validation", "CollectionCantBeEmpty",
                  "An Input.ChoiceSet must have at least one choice defined."),
        id="choice set without choices",
    ),
    pytest.param(
        lambda c: (_execute(c).update(id="apply"), c["actions"][0].update(id="apply")),
        CardEvent("Validation", "DuplicateId", 'Duplicate Id "apply".'),
        id="two Action.Execute with one id",
    ),
    pytest.param(
        lambda c: c["actions"].extend(
            {"type": "Action.Execute", "title": f"Page {n}", "verb": "page", "data": {"n": n}}
            for n in range(5)
        ),
        CardEvent("Validation", "TooManyActions", "Maximum number of actions exceeded (5)."),
        id="six actions",
    ),
    pytest.param(
        lambda c: _execute(c).update(role="Button"),
        CardEvent("Parse", "UnsupportedProperty",
                  'Property "role" is supported in version 1.6, but you are using version 1.5.'),
        id="1.6 Action.Execute role",
    ),
    pytest.param(
        lambda c: _body(c, 3).update(labelPosition="inline"),
        CardEvent("Parse", "UnsupportedProperty",
                  'Property "labelPosition" is supported in version 1.6, '
                  "but you are using version 1.5."),
        id="1.6 input labelPosition",
    ),
    pytest.param(
        lambda c: c["body"].append({"type": "Carousel", "pages": []}),
        CardEvent("Parse", "UnknownElementType",
                  'Unknown element type "Carousel". Fallback will be used if present.'),
        id="1.6 Carousel",
    ),
    pytest.param(
        lambda c: c.update(version="1.6"),
        CardEvent("Validation", "UnsupportedCardVersion",
                  "The specified card version (1.6) is not supported or still in preview. "
                  "The latest released card version is 1.5."),
        id="card declares 1.6",
    ),
]


@pytest.mark.parametrize(("change", "expected"), BROKEN)
def test_a_broken_card_fails_with_the_renderers_words_for_the_problem(
    change: Any, expected: CardEvent
) -> None:
    [report] = check_cards({"broken": _with(change)})
    assert not report.ok
    assert report.events == (expected,)
    assert f"  {expected.phase} {expected.event}: {expected.message}" in str(report)


def test_a_card_over_28_kb_fails_on_its_size_alone() -> None:
    card = status_card()
    card["body"][1]["facts"] = [
        {"title": f"person{n}@contoso.example", "value": "Available in Teams and RingCentral"}
        for n in range(500)
    ]
    [report] = check_cards({"everyone": card})
    assert report.size > MAX_CARD_BYTES
    assert report.events == (
        CardEvent("Size", "TooLarge",
                  f"The card is {report.size} bytes; Teams accepts at most 28672 bytes (28 KB) "
                  "in one message."),
    )
    assert not report.ok


def test_many_cards_are_checked_at_once_and_each_report_keeps_its_name() -> None:
    cards = {
        "status card": status_card(),
        "rule card": _with(lambda c: _body(c, 0).update(size="huge")),
        "help/card": status_card(),
    }
    reports = check_cards(cards)
    assert [(r.name, r.ok) for r in reports] == [
        ("status card", True), ("rule card", False), ("help/card", True),
    ]


def test_snapshot_files_are_checked_and_an_unreadable_one_is_named(tmp_path: Path) -> None:
    good = tmp_path / "status.json"
    good.write_text(json.dumps(status_card()), encoding="utf-8")
    torn = tmp_path / "torn.json"
    torn.write_text('{"type": "AdaptiveCard", "body": [', encoding="utf-8")
    reports = check_card_files([good, torn])
    assert [(r.name, r.ok) for r in reports] == [(str(good), True), (str(torn), False)]
    [event] = reports[1].events
    assert (event.phase, event.event) == ("Load", "Unreadable")
    assert event.message.startswith("Cannot read the card: ")


def test_the_script_reads_an_array_on_stdin_and_exits_non_zero_on_any_event() -> None:
    node = shutil.which("node")
    assert node is not None, "the card check needs Node on PATH"
    cards = [status_card(), _with(lambda c: c["body"].append({"type": "Bogus"}))]
    done = subprocess.run(
        [node, str(CARDS_DIR / "check-cards.cjs")], input=json.dumps(cards),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["file"], r["ok"]) for r in lines] == [("<stdin>[0]", True), ("<stdin>[1]", False)]
    clean = subprocess.run(
        [node, str(CARDS_DIR / "check-cards.cjs")], input=json.dumps(cards[:1]),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert clean.returncode == 0, clean.stderr


def test_a_missing_renderer_says_how_to_install_it(tmp_path: Path) -> None:
    checker = tmp_path / "cards"
    checker.mkdir()
    shutil.copy(CARDS_DIR / "check-cards.cjs", checker)
    with pytest.raises(CardCheckError, match=r"not installed: run `npm ci --prefix .*cards`"):
        check_cards({"status": status_card()}, checker_dir=checker)


def test_the_renderer_is_installed_from_the_lock_as_pinned() -> None:
    # The committed lock is what `npm ci` installs; a drifting renderer would move the goalposts.
    package = json.loads((CARDS_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((CARDS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    installed = json.loads(
        (CARDS_DIR / "node_modules" / "adaptivecards" / "package.json").read_text(encoding="utf-8")
    )
    pinned = package["dependencies"]["adaptivecards"]
    assert pinned.startswith("3.0.")
    assert lock["packages"]["node_modules/adaptivecards"]["version"] == pinned
    assert installed["version"] == pinned
