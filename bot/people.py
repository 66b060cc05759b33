"""Who a command names: `resolve(refs, lookup)` turns people references into directory entries.

`lookup(name)` is a search the caller provides (the bot passes one over the store): the people
whose email, UPN or display name contains `name`, case-insensitively. From what it returns,
the resolver decides:

- a person matches a name *exactly* when it is their display name, their email or their
  email's local part; exact matches win over partial ones, so `alice` is alice@contoso.com
  even though Alice Jones's name contains it too;
- an email names the person with that email, or else the one person whose email has the same
  local part (a UPN or alias on another domain); never a person whose address merely
  contains it;
- one match is found, several are ambiguous (the bot offers a pick-one card), none unknown.

A chunk of several words is read from the left: the longest run of words that names someone
is taken, and the rest of the chunk is read the same way. So `alice bob` is two people,
`Alice Jones` one, `Alice Jones bob` two. Exact beats partial here too: the longest run that
matches exactly is taken (one person found, or several ambiguous: two Bob Joneses make
`Bob Jones` a question, not bob@contoso.com), else the longest run that fits one person
partly, else the longest that fits several (`jones` with two Joneses). Words that name
nobody are unknown, neighbours together (`Zed Qux`). Nothing is decided for ambiguous or
unknown names: the caller changes nothing for them.

The work is bounded: each distinct name is looked up once per call, a run is at most
`max_words` words long (longer than any display name), and a run stops growing at the first
longer run that matches nobody (a search that finds no "alice bob" finds no "alice bob
carol"). A chunk of n words therefore costs at most n x `max_words` lookups, and about n when
it names people by their first names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeAlias

from bot.commands import PersonRef

__all__ = ["MAX_WORDS", "Candidate", "Lookup", "Resolution", "resolve"]

# Display names run to about five words ("Maria de la Cruz Santos"); one more for safety.
MAX_WORDS: Final = 6


@dataclass(frozen=True)
class Candidate:
    """One person in the directory, as the resolver and the pick-one card need them."""

    link_id: str
    email: str
    display_name: str


Lookup: TypeAlias = Callable[[str], Awaitable[Sequence[Candidate]]]


@dataclass(frozen=True)
class Resolution:
    """Who the references name: people found, names that fit several, names that fit nobody."""

    found: tuple[Candidate, ...] = ()
    ambiguous: Mapping[str, tuple[Candidate, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    unknown: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether someone was named and every name was settled (safe to act on everyone)."""
        return bool(self.found) and not self.ambiguous and not self.unknown


async def resolve(
    refs: Sequence[PersonRef], lookup: Lookup, *, max_words: int = MAX_WORDS
) -> Resolution:
    """The people `refs` name, asking `lookup` at most once per distinct name."""
    directory = _Directory(lookup)
    found: dict[str, Candidate] = {}
    # Names are folded by case; the first spelling is the one shown.
    ambiguous: dict[str, tuple[str, tuple[Candidate, ...]]] = {}
    unknown: dict[str, str] = {}
    for ref in refs:
        if ref.is_mention:
            names = [(ref.text, (await directory.search(ref.text)).people)]
        else:
            names = await _split(directory, ref.words, max(1, max_words))
        for name, matches in names:
            if len(matches) == 1:
                found.setdefault(matches[0].link_id, matches[0])
            elif matches:
                ambiguous.setdefault(name.casefold(), (name, matches))
            else:
                unknown.setdefault(name.casefold(), name)
    return Resolution(
        found=tuple(found.values()),
        ambiguous=MappingProxyType(dict(ambiguous.values())),
        unknown=tuple(unknown.values()),
    )


async def _split(
    directory: _Directory, words: Sequence[str], max_words: int
) -> list[tuple[str, tuple[Candidate, ...]]]:
    """Each name in a chunk of words with whom it matches, unknown neighbours joined."""
    names: list[tuple[str, tuple[Candidate, ...]]] = []
    nobody: list[str] = []

    def settle(name: str, matches: tuple[Candidate, ...]) -> None:
        if nobody:
            names.append((" ".join(nobody), ()))
            nobody.clear()
        names.append((name, matches))

    start = 0
    while start < len(words):
        if "@" in words[start]:
            settle(words[start], (await directory.search(words[start])).people)
            start += 1
            continue
        # The longest run with exact matches, else the longest that fits one person partly,
        # else the longest that fits several partly.
        exact: _Run | None = None
        one: _Run | None = None
        several: _Run | None = None
        end = start + 1
        while end <= min(len(words), start + max_words) and "@" not in words[end - 1]:
            found = await directory.search(" ".join(words[start:end]))
            if not found.people:
                break
            run = (end, found.people)
            if found.exact:
                exact = run
            elif len(found.people) == 1:
                one = run
            else:
                several = run
            end += 1
        chosen = exact or one or several
        if chosen is None:
            nobody.append(words[start])
            start += 1
            continue
        end, matches = chosen
        settle(" ".join(words[start:end]), matches)
        start = end
    if nobody:
        names.append((" ".join(nobody), ()))
    return names


_Run: TypeAlias = tuple[int, tuple[Candidate, ...]]  # where a run of words ends, whom it fits


@dataclass(frozen=True)
class _Found:
    """Whom a name fits best, and whether they match it exactly."""

    people: tuple[Candidate, ...]
    exact: bool


class _Directory:
    """`lookup` behind a per-call cache, with the exact-over-partial choice."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._seen: dict[str, _Found] = {}

    async def search(self, name: str) -> _Found:
        """The people `name` fits best: the exact matches if any, else every partial one."""
        key = name.casefold()
        if key not in self._seen:
            candidates = {c.link_id: c for c in await self._lookup(name)}.values()
            self._seen[key] = _best(key, tuple(candidates))
        return self._seen[key]


def _local_part(email: str) -> str:
    return email.casefold().partition("@")[0]


def _best(name: str, candidates: tuple[Candidate, ...]) -> _Found:
    if "@" in name:
        same = tuple(c for c in candidates if c.email.casefold() == name)
        alias = tuple(c for c in candidates if _local_part(c.email) == _local_part(name))
        return _Found(same or alias, exact=True)
    exact = tuple(
        c
        for c in candidates
        if name in (c.display_name.casefold(), c.email.casefold(), _local_part(c.email))
    )
    return _Found(exact, exact=True) if exact else _Found(candidates, exact=False)
