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
from bot.people import MAX_WORDS, Candidate, Lookup, Resolution, resolve

__all__ = [
    "COMMAND_WORDS",
    "MAX_WORDS",
    "Candidate",
    "Command",
    "CommandName",
    "Empty",
    "Lookup",
    "Mention",
    "Misspelt",
    "PersonRef",
    "Resolution",
    "mentions_from_entities",
    "parse",
    "resolve",
]
