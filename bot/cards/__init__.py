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
from bot.cards.jobs import JOB_FAILURE_ROWS, JOB_REASON_ROWS, job_card
from bot.cards.notices import (
    alert_card,
    recovered_card,
    synced_notice_card,
    text_card,
    unsynced_notice_card,
)
from bot.cards.rules import RULES_CONFLICT, RULES_SAVED, reset_confirm_card, rules_card
from bot.cards.status import ConnectUrls, WriteBudget, connect_card, my_status_card, status_card
from bot.cards.users import USERS_PAGE_SIZE, users_card

__all__ = [
    "JOB_FAILURE_ROWS",
    "JOB_REASON_ROWS",
    "MAX_CANDIDATES",
    "RULES_CONFLICT",
    "RULES_INPUT_CUSTOMISATION",
    "RULES_INPUT_PRESERVE",
    "RULES_SAVED",
    "RULE_INPUT_PREFIX",
    "USERS_PAGE_SIZE",
    "VERB_DATA",
    "Card",
    "ConnectUrls",
    "Preview",
    "Verb",
    "WriteBudget",
    "alert_card",
    "apology_card",
    "cancelled_card",
    "confirm_card",
    "confirmed_card",
    "connect_card",
    "did_you_mean_card",
    "expired_card",
    "help_card",
    "job_card",
    "my_status_card",
    "not_yours_card",
    "pick_card",
    "recovered_card",
    "refused_card",
    "reset_confirm_card",
    "rules_card",
    "status_card",
    "synced_notice_card",
    "team_chat_card",
    "text_card",
    "unknown_card",
    "unsynced_notice_card",
    "users_card",
]
