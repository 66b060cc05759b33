"""Call presence rules (§4.3): one rule per Teams state, validated, with documented defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from presence_sync.domain.presence import TeamsState
from presence_sync.errors import ValidationError


class CallRule(StrEnum):
    """What RingCentral should do with calls while the user is in a Teams state."""

    ACCEPT_ALL_CALLS = "accept_all_calls"
    NO_QUEUE_CALLS = "no_queue_calls"
    NO_CALLS = "no_calls"

    @property
    def label(self) -> str:
        """The name admins see in the rules editor."""
        return _RULE_LABELS[self]


_RULE_LABELS: Final = {
    CallRule.ACCEPT_ALL_CALLS: "Accept all calls",
    CallRule.NO_QUEUE_CALLS: "Do not accept queue calls",
    CallRule.NO_CALLS: "Do not accept any calls",
}


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).lower()


_STATE_BY_KEY: Final = {
    **{_key(state.value): state for state in TeamsState},
    **{_key(state.label): state for state in TeamsState},
}
_RULE_BY_KEY: Final = {
    **{_key(rule.value): rule for rule in CallRule},
    **{_key(rule.label): rule for rule in CallRule},
}


class RulesError(ValidationError):
    """Rules were refused; ``problems`` lists every reason, each naming the bad state or rule."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_state(name: str) -> TeamsState:
    """The Teams state named by its id (``in_a_meeting``) or label (``In a meeting``)."""
    state = _STATE_BY_KEY.get(_key(name))
    if state is None:
        known = ", ".join(repr(s.label) for s in TeamsState)
        raise RulesError((f"unknown Teams state {name!r}; known states: {known}",))
    return state


def parse_rule(name: str) -> CallRule:
    """The call rule named by its id (``no_queue_calls``) or label (``Do not accept any calls``)."""
    rule = _RULE_BY_KEY.get(_key(name))
    if rule is None:
        known = ", ".join(repr(r.label) for r in CallRule)
        raise RulesError((f"unknown call rule {name!r}; known rules: {known}",))
    return rule


@dataclass(frozen=True, slots=True)
class CallPresenceRules:
    """The rule chosen for each of the five Teams states."""

    busy: CallRule = CallRule.ACCEPT_ALL_CALLS
    in_a_call: CallRule = CallRule.NO_QUEUE_CALLS
    in_a_conference_call: CallRule = CallRule.NO_QUEUE_CALLS
    in_a_meeting: CallRule = CallRule.NO_QUEUE_CALLS
    offline: CallRule = CallRule.ACCEPT_ALL_CALLS

    def rule_for(self, state: TeamsState) -> CallRule:
        """The rule for one Teams state."""
        rule: CallRule = getattr(self, state.value)
        return rule

    def with_rule(self, state: TeamsState, rule: CallRule) -> CallPresenceRules:
        """A copy with one state's rule changed."""
        values = self.to_dict()
        values[state.value] = rule.value
        return CallPresenceRules.from_mapping(values)

    def to_dict(self) -> dict[str, str]:
        """State id → rule id, in the editor's order; JSON-ready."""
        return {state.value: self.rule_for(state).value for state in TeamsState}

    def labelled(self) -> list[tuple[str, str]]:
        """(state label, rule label) rows in the editor's order, for cards and the tab."""
        return [(state.label, self.rule_for(state).label) for state in TeamsState]

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, str], *, base: CallPresenceRules | None = None
    ) -> CallPresenceRules:
        """Rules from state → rule names (ids or labels, any case).

        Without ``base`` all five states are required; with it, the mapping is a partial update
        of ``base``. Raises `RulesError` listing every unknown or missing state and unknown rule;
        nothing is returned unless every entry is valid.
        """
        problems: list[str] = []
        chosen: dict[TeamsState, CallRule] = {}
        for raw_state, raw_rule in values.items():
            state = _STATE_BY_KEY.get(_key(str(raw_state)))
            if state is None:
                known = ", ".join(repr(s.label) for s in TeamsState)
                problems.append(f"unknown Teams state {raw_state!r}; known states: {known}")
                continue
            if state in chosen:
                problems.append(f"Teams state {state.label!r} is given more than once")
                continue
            rule = _RULE_BY_KEY.get(_key(str(raw_rule))) if isinstance(raw_rule, str) else None
            if rule is None:
                known = ", ".join(repr(r.label) for r in CallRule)
                problems.append(
                    f"unknown call rule {raw_rule!r} for {state.label!r}; known rules: {known}"
                )
                continue
            chosen[state] = rule
        if base is None:
            missing = [s.label for s in TeamsState if s not in chosen]
            if missing and not problems:
                problems.append("no rule given for " + ", ".join(repr(m) for m in missing))
        if problems:
            raise RulesError(tuple(problems))
        start = base if base is not None else DEFAULT_RULES
        merged = {s: chosen.get(s, start.rule_for(s)) for s in TeamsState}
        return cls(**{s.value: r for s, r in merged.items()})


DEFAULT_RULES: Final = CallPresenceRules()
"""What "Reset to default" restores (§4.3): Busy and Offline accept all calls; In a call, In a
conference call and In a meeting do not accept queue calls."""
