"""Every Adaptive Card the bot sends, as pure functions of the admin use cases' views."""

from bot.cards.base import (
    RULE_INPUT_PREFIX,
    RULES_INPUT_CUSTOMISATION,
    RULES_INPUT_PRESERVE,
    VERB_DATA,
    Card,
    Verb,
)
from bot.cards.chat import (
    MAX_CANDIDATES,
    Preview,
    apology_card,
    cancelled_card,
    confirm_card,
    confirmed_card,
    did_you_mean_card,
    expired_card,
    help_card,
    not_yours_card,
    pick_card,
    refused_card,
    team_chat_card,
    unknown_card,
)

__all__ = [
    "MAX_CANDIDATES",
    "RULES_INPUT_CUSTOMISATION",
    "RULES_INPUT_PRESERVE",
    "RULE_INPUT_PREFIX",
    "VERB_DATA",
    "Card",
    "Preview",
    "Verb",
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
