"""The organisation's sync settings as the engine reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from presence_sync.domain.rules import DEFAULT_RULES, CallPresenceRules, RulesError

_BOOL_FIELDS = (
    "call_presence_customisation",
    "preserve_during_inactivity",
    "ringing_counts_as_busy",
)


@dataclass(frozen=True, slots=True)
class OrgSettings:
    """Org-wide switches and rules; every default matches a fresh install.

    ``call_presence_customisation`` turns the §4.3 rules on (off by default, as in
    RingCentral's product); ``preserve_during_inactivity`` keeps RingCentral unchanged while
    Teams only reports idleness or a closed client; ``ringing_counts_as_busy`` makes a ringing
    RingCentral phone show In a call in Teams (a user may override it).
    """

    call_presence_customisation: bool = False
    rules: CallPresenceRules = field(default=DEFAULT_RULES)
    preserve_during_inactivity: bool = False
    ringing_counts_as_busy: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the store and the tab API."""
        return {
            "call_presence_customisation": self.call_presence_customisation,
            "rules": self.rules.to_dict(),
            "preserve_during_inactivity": self.preserve_during_inactivity,
            "ringing_counts_as_busy": self.ringing_counts_as_busy,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrgSettings:
        """Parse `to_dict` output; missing keys take defaults; raises `RulesError` on bad values."""
        problems: list[str] = []
        flags: dict[str, bool] = {}
        for name in _BOOL_FIELDS:
            value = data.get(name, False)
            if not isinstance(value, bool):
                problems.append(f"{name} must be true or false, not {value!r}")
            else:
                flags[name] = value
        unknown = sorted(set(data) - {*_BOOL_FIELDS, "rules"})
        if unknown:
            problems.append("unknown settings: " + ", ".join(unknown))
        rules = DEFAULT_RULES
        raw_rules = data.get("rules")
        if raw_rules is not None:
            if not isinstance(raw_rules, Mapping):
                problems.append("rules must be an object of Teams state → call rule")
            else:
                try:
                    rules = CallPresenceRules.from_mapping(raw_rules, base=DEFAULT_RULES)
                except RulesError as err:
                    problems.extend(err.problems)
        if problems:
            raise RulesError(tuple(problems))
        return cls(rules=rules, **flags)
