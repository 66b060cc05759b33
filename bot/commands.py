"""What an admin's chat message asks for: `parse(text, mentions, bot_id)`.

Teams sends a message as a little HTML: the bot's own @mention inside the text as
`<at>Presence Sync</at>` (with a `mention` entity beside it), `&amp;`, `&nbsp;` and sometimes
`<p>` or `<br>` around the words. `parse` reads past all of that and returns one of:

    Command   a command the bot knows, with the people or the argument it names
    Misspelt  not a command; `suggestion` is the closest command, ready to type, or None
    Empty     nothing but the bot's own @mention, spaces or punctuation

Commands match whole words, case-insensitively, with punctuation around words ignored
(`Sync ALL!`, `  status? `, `sync: alice.`); dots, @, hyphens and apostrophes inside words are
kept (`alice.jones@contoso.com`, `O'Brien`, `Mary-Jane`). People come back as *chunks*: the
words between commas, semicolons, `&` and the word "and"; an email or an @mention is always a
reference of its own. How a chunk's words split into people (`alice bob`, `Alice Jones`) is
for `bot.people.resolve`, which can ask the directory.
"""

from __future__ import annotations

import html
import itertools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeAlias

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


class CommandName(StrEnum):
    """Every command the bot understands, as its help names it."""

    HELP = "help"
    STATUS = "status"
    SYNC_ALL = "sync all"
    SYNC = "sync"
    UNSYNC = "unsync"
    DISABLE = "disable"
    ENABLE = "enable"
    RULES = "rules"
    USERS = "users"
    REPORT = "report"
    CONNECT = "connect"


# The words a command starts with, in the order ties between suggestions are broken.
COMMAND_WORDS: Final = (
    "help",
    "status",
    "sync",
    "unsync",
    "disable",
    "enable",
    "rules",
    "users",
    "report",
    "connect",
)

_BARE = {
    "status": CommandName.STATUS,
    "disable": CommandName.DISABLE,
    "enable": CommandName.ENABLE,
    "rules": CommandName.RULES,
    "connect": CommandName.CONNECT,
}
_WITH_ARGUMENT = {
    "help": CommandName.HELP,
    "users": CommandName.USERS,
    "report": CommandName.REPORT,
}
# A person who names people after these most likely meant the per-person command.
_PER_PERSON = {"disable": "unsync", "enable": "sync"}


@dataclass(frozen=True)
class Mention:
    """One @mention in a message: who (Teams id and name) and the text standing for it."""

    id: str
    name: str
    text: str


@dataclass(frozen=True)
class PersonRef:
    """Words naming one or more people, an email or UPN, or an @mention (with its Teams id)."""

    text: str  # as typed, single-spaced; an @mention's display name
    teams_id: str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """The words of the reference, for splitting a chunk into people."""
        return tuple(self.text.split())

    @property
    def is_mention(self) -> bool:
        """Whether the person was @mentioned (one person, named exactly)."""
        return self.teams_id is not None

    @property
    def is_email(self) -> bool:
        """Whether the reference is an email or UPN (one person)."""
        return _is_email(self.text)


@dataclass(frozen=True)
class Command:
    """A command with what it names.

    `people` is set for `sync` and `unsync` (never empty there); `argument` is the rest of the
    message for `users` (the filter), `report` (the job) and `help` (a topic), None if nothing
    follows. Other commands carry neither.
    """

    name: CommandName
    people: tuple[PersonRef, ...] = ()
    argument: str | None = None


@dataclass(frozen=True)
class Misspelt:
    """Not a command: `word` is what was not understood, `suggestion` a command to offer.

    A suggestion is always text that parses as a `Command` ("Did you mean `sync alice`?").
    """

    word: str
    suggestion: str | None


@dataclass(frozen=True)
class Empty:
    """A message with nothing in it but the bot's own @mention, spaces or punctuation."""


def mentions_from_entities(entities: Sequence[Mapping[str, Any]]) -> tuple[Mention, ...]:
    """The @mentions among an activity's entities; malformed ones are skipped."""
    found: list[Mention] = []
    for entity in entities:
        if not isinstance(entity, Mapping) or entity.get("type") != "mention":
            continue
        mentioned = entity.get("mentioned")
        if not isinstance(mentioned, Mapping):
            continue
        mention_id = mentioned.get("id")
        if not isinstance(mention_id, str) or not mention_id:
            continue
        name = mentioned.get("name")
        name = name if isinstance(name, str) else ""
        text = entity.get("text")
        text = text if isinstance(text, str) and text else f"<at>{html.escape(name)}</at>"
        found.append(Mention(id=mention_id, name=name, text=text))
    return tuple(found)


def parse(text: str, mentions: Sequence[Mention], bot_id: str) -> Command | Misspelt | Empty:
    """What the message `text` asks for; `bot_id` is the bot's own Teams id (its mention goes)."""
    return _parse(_tokens(text, mentions, bot_id))


# A token is a word (punctuation around it removed), an @mention of someone else, or _SEP.
class _Separator:
    """A comma, semicolon or `&` between words (`+` is not: it is in plus-addressed emails)."""


_SEP: Final = _Separator()
_Token: TypeAlias = str | Mention | _Separator

# Only what looks like an HTML tag: `<alice@contoso.com>` typed by hand is an address.
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^>]*)?/?>")
_PIECE = re.compile(r"[,;&]|[^\s,;&]+")
# Teams and copy-paste bring invisible characters that str.split() does not count as spaces.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Quotes, dashes and marks that phones and word processors put around words.
_PUNCTUATION = (
    string.punctuation
    + "\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e\u2026\u2013\u2014\u00a1\u00bf\u00b7\u2022"
)
# A typographic apostrophe inside a name ("O\u2019Brien") is the directory's plain one.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_GLUED = re.compile(r"([a-z]+)[-_/.:]+(.+)")


def _is_email(text: str) -> bool:
    return _EMAIL.fullmatch(text) is not None


def _same_id(a: str, b: str) -> bool:
    # Bot mentions carry "28:<app id>", though some clients send the bare app id.
    return a.removeprefix("28:").casefold() == b.removeprefix("28:").casefold()


def _forms(mention: Mention) -> tuple[str, ...]:
    """The texts that may stand for the mention in the message, most exact first."""
    forms = [mention.text]
    for name in (html.escape(mention.name, quote=False), mention.name):
        form = f"<at>{name}</at>"
        if mention.name and form not in forms:
            forms.append(form)
    return tuple(forms)


def _mention_spans(
    text: str, mentions: Sequence[Mention], bot_id: str
) -> list[tuple[int, int, Mention]]:
    """Where each mention stands in `text`: the first free place its text occurs.

    Two people with the same display name each have an entity with the same text, so each
    entity takes the next occurrence. The bot's own mention takes every occurrence.
    """
    spans: list[tuple[int, int, Mention]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in spans)

    for mention in mentions:
        is_bot = _same_id(mention.id, bot_id)
        for form in _forms(mention):
            taken = False
            start = text.find(form)
            while start >= 0:
                end = start + len(form)
                if free(start, end):
                    spans.append((start, end, mention))
                    taken = True
                    if not is_bot:
                        break
                start = text.find(form, start + 1)
            if taken:
                break
    return sorted(spans, key=lambda span: span[0])


def _words(segment: str) -> list[_Token]:
    """The words and separators in a stretch of message text without mentions."""
    plain = html.unescape(_TAG.sub(" ", segment)).translate(_INVISIBLE)
    tokens: list[_Token] = []
    for piece in _PIECE.findall(plain):
        if piece in ",;&":
            tokens.append(_SEP)
            continue
        word = piece.strip(_PUNCTUATION).translate(_APOSTROPHES)
        if word:
            tokens.append(word)
    return tokens


def _tokens(text: str, mentions: Sequence[Mention], bot_id: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for start, end, mention in _mention_spans(text, mentions, bot_id):
        tokens += _words(text[position:start])
        if not _same_id(mention.id, bot_id):
            tokens.append(mention)
        position = end
    tokens += _words(text[position:])
    return tokens


def _render(tokens: Sequence[_Token]) -> str:
    """Tokens as text a person would type again (mentions by name)."""
    out = ""
    for token in tokens:
        if isinstance(token, _Separator):
            out += ","
        else:
            word = token.name if isinstance(token, Mention) else token
            out += f" {word}" if out else word
    return out.strip(", ")


def _parse(tokens: list[_Token]) -> Command | Misspelt | Empty:
    tokens = list(itertools.dropwhile(lambda token: isinstance(token, _Separator), tokens))
    if not tokens:
        return Empty()
    head, rest = tokens[0], tokens[1:]
    if not isinstance(head, str):
        return Misspelt(head.name if isinstance(head, Mention) else "", None)
    word = head.casefold()
    if word in ("sync", "unsync"):
        return _selection(word, rest)
    if word in _WITH_ARGUMENT:
        return Command(_WITH_ARGUMENT[word], argument=_render(rest) or None)
    if word in _BARE:
        if not _render(rest):
            return Command(_BARE[word])
        if word in _PER_PERSON and _people(rest):
            return Misspelt(_render(tokens), _suggest([_PER_PERSON[word], *rest]))
        return Misspelt(_render(tokens), word)
    return Misspelt(head, _correct(word, rest))


def _selection(word: str, rest: list[_Token]) -> Command | Misspelt:
    """`sync`/`unsync` followed by people, or `sync all`."""
    people = _people(rest)
    if len(people) == 1 and not people[0].is_mention and people[0].text.casefold() == "all":
        if word == "sync":
            return Command(CommandName.SYNC_ALL)
        # Stopping sync for everyone is what `disable` does, and it keeps everyone's own flags.
        return Misspelt("unsync all", "disable")
    if not people:
        # Not "sync all": one click on a suggestion should never sync the whole organisation.
        return Misspelt(word, None)
    return Command(CommandName(word), people=people)


def _people(tokens: Sequence[_Token]) -> tuple[PersonRef, ...]:
    """The people chunks in `tokens`, without repeats."""
    refs: list[PersonRef] = []
    chunk: list[str] = []

    def close() -> None:
        if chunk:
            refs.append(PersonRef(" ".join(chunk)))
            chunk.clear()

    for token in tokens:
        if isinstance(token, _Separator) or (isinstance(token, str) and token.casefold() == "and"):
            close()
        elif isinstance(token, Mention):
            close()
            refs.append(PersonRef(token.name or token.id, teams_id=token.id))
        elif _is_email(token):
            close()
            refs.append(PersonRef(token))
        else:
            chunk.append(token)
    close()
    unique: dict[tuple[str, str | None], PersonRef] = {}
    for ref in refs:
        unique.setdefault((ref.text.casefold(), ref.teams_id), ref)
    return tuple(unique.values())


def _suggest(tokens: list[_Token]) -> str | None:
    """`tokens` as a command to offer: the text if it parses, else what its parse offers."""
    result = _parse(tokens)
    if isinstance(result, Command):
        return _render(tokens)
    if isinstance(result, Misspelt):
        return result.suggestion
    return None


def _correct(word: str, rest: list[_Token]) -> str | None:
    """The closest command to a word that is not one, with the rest of the message."""
    best = _closest(word)
    if best is not None:
        return _suggest([best, *rest])
    # "syncall", "sync-all", "sync:alice": a command word glued to what follows it.
    glued = _GLUED.fullmatch(word)
    if glued is not None and glued[1] in COMMAND_WORDS:
        return _suggest([glued[1], glued[2], *rest])
    if word in ("syncall", "unsyncall"):
        return _suggest([word.removesuffix("all"), "all", *rest])
    return None


def _closest(word: str) -> str | None:
    """The command word within a typo or two of `word`, or None.

    One edit is allowed in words of up to five letters, two in longer ones, so `stauts`,
    `snyc`, `hepl`, `unsinc` and `rulez` find their command while `hello` or `sink` do not.
    """
    if len(word) > 20:
        return None
    allowed = 1 if len(word) <= 5 else 2
    # On a tie the longer command wins: a dropped letter is the commonest typo ("nsync").
    scored = [
        (_distance(word, command), -len(command), i, command)
        for i, command in enumerate(COMMAND_WORDS)
    ]
    distance, _, _, command = min(scored)
    return command if distance <= allowed else None


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours is one."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[-1]
