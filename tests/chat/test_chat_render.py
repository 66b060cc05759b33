"""The terminal chat's renderer on the bot's real cards (the snapshots tests/bot keeps true).

Each test reads a card as the bot sends it and checks what a person sees in the terminal and
what pressing a numbered button would send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from presence_sync.chat import render_card, render_message

SNAPSHOTS = Path(__file__).resolve().parents[1] / "bot" / "snapshots"


def snapshot(name: str) -> dict[str, Any]:
    card: dict[str, Any] = json.loads((SNAPSHOTS / f"{name}.json").read_text())
    return card


def test_a_confirmation_reads_as_its_title_and_text_with_numbered_buttons() -> None:
    shown = render_card(snapshot("confirm_disable"))

    assert shown.lines[0] == "Stop syncing everyone?"
    assert "395 people will be unsynced and get their own presence back." in shown.lines
    assert shown.lines[-1] == "[1] Confirm  [2] Cancel"
    confirm, cancel = shown.buttons
    assert (confirm.kind, confirm.verb, dict(confirm.data)) == (
        "Action.Execute",
        "confirm",
        {"token": "c0nf1rm-7d2a"},
    )
    assert (cancel.verb, dict(cancel.data)) == ("cancel", {"token": "c0nf1rm-7d2a"})
    assert not confirm.with_inputs


def test_status_facts_line_up_and_each_connection_is_one_line() -> None:
    lines = render_card(snapshot("status")).lines

    assert "Microsoft (admin consent)  Connected" in lines
    assert "RingCentral  Connected" in lines
    assert "Synced:                371" in lines
    assert "Waiting to be checked: 3" in lines
    assert "" in lines  # sections stand apart
    assert lines[-1] == "[1] Refresh  [2] Users  [3] Job progress"


def test_people_rows_carry_their_own_numbered_buttons_in_order() -> None:
    shown = render_card(snapshot("users_first"))

    first = next(line for line in shown.lines if line.startswith("Alice Jones"))
    assert first == "Alice Jones · alice.jones@contoso.com · Synced  [1] Unsync"
    assert "**" not in "".join(shown.lines)
    assert shown.buttons[0].verb == "unsync.one"
    assert dict(shown.buttons[0].data) == {"link_id": "link-alice.jones"}
    numbers = [int(n) for line in shown.lines for n in _numbers(line)]
    assert numbers == list(range(1, len(shown.buttons) + 1))


def _numbers(line: str) -> list[str]:
    return [part.split("]")[0] for part in line.split("[")[1:] if part.split("]")[0].isdigit()]


def test_rules_show_the_inputs_values_and_save_sends_them() -> None:
    shown = render_card(snapshot("rules"))

    assert "In a meeting: Do not accept any calls  Now: Busy, Do not disturb, no calls" in (
        shown.lines
    )
    assert any(line.startswith("[x] Use these rules") for line in shown.lines)
    assert any(line.startswith("[ ] Keep the RingCentral status") for line in shown.lines)
    save, reset = shown.buttons
    assert (save.title, save.with_inputs, reset.with_inputs) == ("Save", True, False)
    assert shown.inputs["rule.in_a_meeting"] == "no_calls"
    assert shown.inputs["preserve"] == "false"


def test_a_link_button_is_numbered_and_keeps_its_address() -> None:
    shown = render_card(snapshot("connect_fresh"))

    assert "[1] Grant admin consent" in shown.lines
    assert shown.buttons[0].kind == "Action.OpenUrl"
    assert shown.buttons[0].url == "https://presence.contoso.com/connect/microsoft"
    assert shown.buttons[-1].verb == "run"


def test_a_job_report_lists_failures_and_warnings_stand_out() -> None:
    report = render_card(snapshot("job_done")).lines
    alert = render_card(snapshot("alert")).lines

    assert "eve.ruiz@contoso.com: The Microsoft account has no Teams licence." in report
    assert report[-1] == "[1] Retry failed"
    assert "! RingCentral refused the refresh token (invalid_grant)." in alert


def test_a_message_with_text_and_a_card_shows_both_and_numbers_across_them() -> None:
    message = {
        "text": "Here is **your** status:",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": snapshot("status"),
            },
            {"contentType": "image/png", "contentUrl": "https://example.invalid/x.png"},
        ],
        "suggestedActions": {"actions": [{"type": "imBack", "title": "Help", "value": "help"}]},
    }
    shown = render_message(message)

    assert shown.lines[0] == "Here is your status:"
    assert "(an attachment of type image/png)" in shown.lines
    assert shown.lines[-1] == "[4] Help"
    assert (shown.buttons[-1].kind, dict(shown.buttons[-1].data)) == ("imBack", {"text": "help"})


def test_a_plain_text_message_is_its_lines() -> None:
    shown = render_message({"text": "Syncing is on.\nType status to see who."})

    assert shown.lines == ("Syncing is on.", "Type status to see who.")
    assert shown.buttons == ()
