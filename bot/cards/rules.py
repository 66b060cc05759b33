"""The call presence rules card: two toggles, one rule per Teams state, Save and Reset."""

from __future__ import annotations

from typing import Final

from bot.cards.base import (
    RULE_INPUT_PREFIX,
    RULES_INPUT_CUSTOMISATION,
    RULES_INPUT_PRESERVE,
    Card,
    Element,
    Verb,
    card,
    columns,
    execute,
    facts,
    heading,
    text,
)
from presence_sync.admin import RulesView
from presence_sync.domain import DEFAULT_RULES, CallRule, TeamsState, parse_rule

__all__ = ["RULES_CONFLICT", "RULES_SAVED", "rc_result", "reset_confirm_card", "rules_card"]

RULES_SAVED: Final = "Saved."
RULES_CONFLICT: Final = (
    "Someone else changed the rules meanwhile; here are the current ones — nothing was overwritten."
)

_CALLS: Final = {
    CallRule.ACCEPT_ALL_CALLS: "all calls ring",
    CallRule.NO_QUEUE_CALLS: "no call-queue calls",
    CallRule.NO_CALLS: "Do not disturb, no calls",
}
# Teams often reports a meeting as a call; the editor says so beside both rows (DESIGN §4.2).
_LOOK_ALIKE: Final = (TeamsState.IN_A_CALL, TeamsState.IN_A_MEETING)
_LOOK_ALIKE_NOTE: Final = "Teams often reports a meeting as In a call: give both the same rule."


def rc_result(state: TeamsState, rule: CallRule) -> str:
    """What RingCentral shows while the person is in `state` under `rule`, in plain words."""
    status = "Offline" if state is TeamsState.OFFLINE else "Busy"
    return f"{status}, {_CALLS[rule]}"


def _toggle(input_id: str, title: str, on: bool) -> Element:
    return {
        "type": "Input.Toggle",
        "id": input_id,
        "title": title,
        "value": "true" if on else "false",
        "valueOn": "true",
        "valueOff": "false",
    }


def _rule_row(state: TeamsState, rule: CallRule) -> Element:
    choice = {
        "type": "Input.ChoiceSet",
        "id": f"{RULE_INPUT_PREFIX}{state.value}",
        "label": state.label,
        "style": "compact",
        "isRequired": True,
        "errorMessage": f"Choose a rule for {state.label}.",
        "value": rule.value,
        "choices": [{"title": r.label, "value": r.value} for r in CallRule],
    }
    result = text(f"Now: {rc_result(state, rule)}", subtle=True)
    return columns(("3", [choice]), ("2", [result]))


def rules_card(view: RulesView, *, message: str | None = None) -> Card:
    """The rules editor as it stands at `view.version`; `message` says what just happened."""
    body: list[Element] = [heading("Call presence rules")]
    if message is not None:
        body.append(text(message, color="Good" if message == RULES_SAVED else "Warning"))
    if not view.sync_enabled:
        body.append(
            text("Syncing is off for everyone; rules apply once it is enabled.", subtle=True)
        )
    body += [
        _toggle(
            RULES_INPUT_CUSTOMISATION,
            "Use these rules for how RingCentral handles calls during Teams calls and meetings",
            view.call_presence_customisation,
        ),
        _toggle(
            RULES_INPUT_PRESERVE,
            "Keep the RingCentral status while Teams only shows inactivity (idle, away, closed)",
            view.preserve_during_inactivity,
        ),
    ]
    if not view.call_presence_customisation:
        body.append(text("While the rules are off, Teams Busy sets RingCentral Busy.", subtle=True))
    for state in TeamsState:
        rule = parse_rule(view.rule_ids.get(state.value, DEFAULT_RULES.rule_for(state).value))
        body.append(_rule_row(state, rule))
        if state is _LOOK_ALIKE[-1]:
            body.append(text(_LOOK_ALIKE_NOTE, subtle=True))
    body.append(
        text("People outside call queues take all calls under the queue rule.", subtle=True)
    )
    version = {"version": view.version}
    return card(
        body,
        [
            execute("Save", Verb.RULES_SAVE, version, style="positive", with_inputs=True),
            execute("Reset to default", Verb.RULES_RESET, version),
        ],
    )


def reset_confirm_card(view: RulesView) -> Card:
    """Ask before the rules go back to the defaults."""
    defaults = [(state.label, DEFAULT_RULES.rule_for(state).label) for state in TeamsState]
    keeps = "on" if view.call_presence_customisation else "off"
    version = {"version": view.version}
    return card(
        [
            heading("Reset the rules to the defaults?"),
            facts(defaults),
            text(f"The rules stay switched {keeps}.", subtle=True),
        ],
        [
            execute("Reset", Verb.RULES_RESET_CONFIRM, version, style="destructive"),
            execute("Keep my rules", Verb.RULES_RESET_CANCEL, version),
        ],
    )
