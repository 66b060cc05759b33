"""The Teams bot: what admins' messages ask for, and who they name."""

from bot.commands import (
    COMMAND_WORDS,
    Command,
    CommandName,
    Empty,
    Mention,
    Misspelt,
    PersonRef,
    mentions_from_entities,
    parse,
)

__all__ = [
    "COMMAND_WORDS",
    "Command",
    "CommandName",
    "Empty",
    "Mention",
    "Misspelt",
    "PersonRef",
    "mentions_from_entities",
    "parse",
]
