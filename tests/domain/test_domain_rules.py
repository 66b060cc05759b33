"""§4.3 rules: validation with clear errors, the documented defaults, and org settings."""

from __future__ import annotations

import json

import pytest

from presence_sync.domain import (
    DEFAULT_RULES,
    CallPresenceRules,
    CallRule,
    OrgSettings,
    RulesError,
    TeamsState,
    parse_rule,
    parse_state,
)
from presence_sync.errors import ValidationError


def test_reset_to_default_values_are_the_documented_ones() -> None:
    """Busy and Offline accept all calls; calls, conference calls and meetings refuse queues."""
    assert DEFAULT_RULES.labelled() == [
        ("Busy", "Accept all calls"),
        ("In a call", "Do not accept queue calls"),
        ("In a conference call", "Do not accept queue calls"),
        ("In a meeting", "Do not accept queue calls"),
        ("Offline", "Accept all calls"),
    ]


def test_customisation_starts_off() -> None:
    """A fresh install uses the default two-way mapping (customisation off), as RingCentral does."""
    fresh = OrgSettings()
    assert not fresh.call_presence_customisation
    assert not fresh.preserve_during_inactivity
    assert fresh.rules == DEFAULT_RULES


@pytest.mark.parametrize(
    "names",
    [
        {
            "Busy": "Do not accept any calls",
            "In a call": "Accept all calls",
            "In a conference call": "Do not accept queue calls",
            "In a meeting": "Do not accept any calls",
            "Offline": "Accept all calls",
        },
        {
            "busy": "no_calls",
            "in_a_call": "accept_all_calls",
            "IN A CONFERENCE CALL": "no_queue_calls",
            "in_a_meeting": "DO NOT ACCEPT ANY CALLS",
            " offline ": "accept all calls",
        },
    ],
)
def test_rules_accept_labels_and_ids_in_any_case(names: dict[str, str]) -> None:
    """The tab sends ids, the bot may send what an admin typed; both mean the same rules."""
    rules = CallPresenceRules.from_mapping(names)
    assert rules.rule_for(TeamsState.BUSY) is CallRule.NO_CALLS
    assert rules.rule_for(TeamsState.IN_A_CALL) is CallRule.ACCEPT_ALL_CALLS
    assert rules.rule_for(TeamsState.IN_A_CONFERENCE_CALL) is CallRule.NO_QUEUE_CALLS
    assert rules.rule_for(TeamsState.IN_A_MEETING) is CallRule.NO_CALLS
    assert rules.rule_for(TeamsState.OFFLINE) is CallRule.ACCEPT_ALL_CALLS


def test_unknown_state_and_rule_are_each_named() -> None:
    """Every problem is reported at once, naming what was wrong and what is allowed."""
    with pytest.raises(RulesError) as caught:
        CallPresenceRules.from_mapping(
            {"Lunch": "Accept all calls", "Busy": "Send to voicemail"}, base=DEFAULT_RULES
        )
    problems = caught.value.problems
    assert len(problems) == 2
    assert "unknown Teams state 'Lunch'" in problems[0]
    assert "'In a meeting'" in problems[0]
    assert "unknown call rule 'Send to voicemail' for 'Busy'" in problems[1]
    assert "'Do not accept queue calls'" in problems[1]
    assert isinstance(caught.value, ValidationError)


def test_full_rules_need_every_state() -> None:
    """Without a base, a missing state is an error that names it."""
    with pytest.raises(RulesError, match="no rule given for 'In a call'"):
        CallPresenceRules.from_mapping(
            {
                "Busy": "Accept all calls",
                "In a conference call": "Accept all calls",
                "In a meeting": "Accept all calls",
                "Offline": "Accept all calls",
            }
        )


def test_a_state_given_twice_is_refused() -> None:
    """Two spellings of one state in one request are ambiguous."""
    with pytest.raises(RulesError, match="given more than once"):
        CallPresenceRules.from_mapping(
            {"Busy": "Accept all calls", "busy": "Do not accept any calls"}, base=DEFAULT_RULES
        )


def test_non_text_rule_is_refused() -> None:
    """A JSON number where a rule name belongs is an unknown rule, not a crash."""
    with pytest.raises(RulesError, match="unknown call rule 3"):
        CallPresenceRules.from_mapping({"Busy": 3}, base=DEFAULT_RULES)  # type: ignore[dict-item]


def test_partial_update_keeps_the_other_states() -> None:
    """Editing one row leaves the rest as they were."""
    rules = CallPresenceRules.from_mapping(
        {"In a meeting": "Do not accept any calls"}, base=DEFAULT_RULES
    )
    assert rules.in_a_meeting is CallRule.NO_CALLS
    assert rules.in_a_call is CallRule.NO_QUEUE_CALLS
    assert rules == DEFAULT_RULES.with_rule(TeamsState.IN_A_MEETING, CallRule.NO_CALLS)


def test_single_names_parse_or_fail_clearly() -> None:
    """Bot commands name one state or rule at a time."""
    assert parse_state("In a conference call") is TeamsState.IN_A_CONFERENCE_CALL
    assert parse_rule("do not accept queue calls") is CallRule.NO_QUEUE_CALLS
    with pytest.raises(RulesError, match="unknown Teams state 'Sleeping'"):
        parse_state("Sleeping")
    with pytest.raises(RulesError, match="unknown call rule 'Maybe'"):
        parse_rule("Maybe")


def test_settings_round_trip_through_json() -> None:
    """The store keeps settings as JSON and gets the same settings back."""
    settings = OrgSettings(
        call_presence_customisation=True,
        rules=DEFAULT_RULES.with_rule(TeamsState.BUSY, CallRule.NO_CALLS),
        preserve_during_inactivity=True,
        ringing_counts_as_busy=True,
    )
    assert OrgSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    assert OrgSettings.from_dict({}) == OrgSettings()


def test_bad_settings_documents_are_refused_with_every_reason() -> None:
    """A wrong type, an unknown key and a bad rule are all reported."""
    with pytest.raises(RulesError) as caught:
        OrgSettings.from_dict(
            {"call_presence_customisation": "yes", "colour": "blue", "rules": {"Busy": "Nope"}}
        )
    text = str(caught.value)
    assert "call_presence_customisation must be true or false" in text
    assert "unknown settings: colour" in text
    assert "unknown call rule 'Nope'" in text
