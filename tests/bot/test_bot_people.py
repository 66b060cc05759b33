"""Who a command names: splitting chunks into people, ambiguity, unknown names, bounded work."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from bot.commands import Command, Mention, PersonRef, parse
from bot.people import MAX_WORDS, Candidate, Resolution, resolve

ALICE = Candidate("l-alice", "alice@contoso.com", "Alice Smith")
ALICE_JONES = Candidate("l-alicej", "alice.jones@contoso.com", "Alice Jones")
BOB = Candidate("l-bob", "bob@contoso.com", "Bob Brown")
BOB_JONES = Candidate("l-bobj", "bob.jones@contoso.com", "Bob Jones")
CAROL = Candidate("l-carol", "carol.king@contoso.com", "Carol King")
SAL = Candidate("l-sal", "sal@contoso.com", "Sal Romano")
CONTOSO = [ALICE, ALICE_JONES, BOB, BOB_JONES, CAROL, SAL]


@dataclass
class FakeDirectory:
    """People searched as the store does: email or display name contains the text."""

    people: Sequence[Candidate]
    asked: list[str] = field(default_factory=list)

    async def lookup(self, name: str) -> Sequence[Candidate]:
        """Everyone whose email or display name contains `name`, in any case."""
        self.asked.append(name)
        wanted = name.casefold()
        return [p for p in self.people if wanted in f"{p.email} {p.display_name}".casefold()]


def refs(*texts: str) -> tuple[PersonRef, ...]:
    """People references as typed."""
    return tuple(PersonRef(text) for text in texts)


async def named(*texts: str, people: Sequence[Candidate] = CONTOSO) -> Resolution:
    """Whom the typed references name in a directory."""
    return await resolve(refs(*texts), FakeDirectory(people).lookup)


async def test_words_of_one_chunk_split_into_people() -> None:
    """`sync alice bob` is two people, `Alice Jones` one, `Alice Jones bob` two."""
    assert (await named("alice bob")).found == (ALICE, BOB)
    assert (await named("Alice Jones")).found == (ALICE_JONES,)
    assert (await named("Alice Jones bob")).found == (ALICE_JONES, BOB)
    assert (await named("bob Carol King alice")).found == (BOB, CAROL, ALICE)


async def test_an_exact_name_wins_over_a_partial_one() -> None:
    """`alice` is alice@contoso.com, though Alice Jones's name contains it too."""
    result = await named("alice")
    assert result.found == (ALICE,)
    assert result.complete


async def test_exact_names_beat_a_longer_partial_one() -> None:
    """`alice bob` is alice and bob, even with an Alice Bobson in the directory."""
    bobson = Candidate("l-bobson", "a.bobson@contoso.com", "Alice Bobson")
    assert (await named("alice bob", people=[*CONTOSO, bobson])).found == (ALICE, BOB)


async def test_a_unique_partial_name_is_that_person() -> None:
    """`carol` or `Romano` name the one person they fit."""
    assert (await named("carol", "Romano")).found == (CAROL, SAL)


async def test_a_name_fitting_several_people_is_ambiguous() -> None:
    """`jones` with two Joneses changes nobody and offers both to pick from."""
    result = await named("jones")
    assert result.found == ()
    assert dict(result.ambiguous) == {"jones": (ALICE_JONES, BOB_JONES)}
    assert not result.complete


async def test_two_people_with_the_same_name_are_ambiguous() -> None:
    """Two exact matches are no better than two partial ones."""
    twins = [
        Candidate("l-kim1", "alex.kim@contoso.com", "Alex Kim"),
        Candidate("l-kim2", "akim@contoso.com", "Alex Kim"),
    ]
    result = await named("Alex Kim", people=twins)
    assert dict(result.ambiguous) == {"Alex Kim": tuple(twins)}
    assert result.found == ()


async def test_the_longest_ambiguous_run_is_what_is_asked_about() -> None:
    """`Bob Jones alice` with two Bob Joneses asks about "Bob Jones", then finds alice."""
    other = Candidate("l-bobj2", "robert.jones@contoso.com", "Bob Jones")
    result = await named("Bob Jones alice", people=[*CONTOSO, other])
    assert dict(result.ambiguous) == {"Bob Jones": (BOB_JONES, other)}
    assert result.found == (ALICE,)


async def test_names_fitting_nobody_are_unknown_neighbours_together() -> None:
    """Unknown words next to each other are one name in the answer; known people still count."""
    result = await named("Zed Qux alice Yolanda", "nobody@contoso.com")
    assert result.unknown == ("Zed Qux", "Yolanda", "nobody@contoso.com")
    assert result.found == (ALICE,)
    assert not result.complete


async def test_an_email_names_its_person_only() -> None:
    """An address is matched whole: `al@contoso.com` is not sal@contoso.com."""
    assert (await named("Bob.Jones@Contoso.com")).found == (BOB_JONES,)
    assert (await named("al@contoso.com")).unknown == ("al@contoso.com",)


async def test_an_email_on_another_domain_names_the_person_with_that_local_part() -> None:
    """A UPN such as carol.king@contoso.onmicrosoft.com finds Carol when the search does."""

    async def by_upn(name: str) -> Sequence[Candidate]:
        return [CAROL] if name == "carol.king@contoso.onmicrosoft.com" else []

    result = await resolve(refs("carol.king@contoso.onmicrosoft.com"), by_upn)
    assert result.found == (CAROL,)


async def test_a_mention_is_looked_up_by_its_whole_name() -> None:
    """An @mention is one person: its display name is never split into words."""
    directory = FakeDirectory(CONTOSO)
    result = await resolve((PersonRef("Alice Jones", teams_id="29:1alice"),), directory.lookup)
    assert result.found == (ALICE_JONES,)
    assert directory.asked == ["Alice Jones"]


async def test_people_named_twice_are_found_once() -> None:
    """Email, name and local part of one person fold into one; so do repeated unknowns."""
    result = await named(
        "alice", "Alice Smith", "ALICE@contoso.com", "zed", "Zed", "jones", "Jones"
    )
    assert result.found == (ALICE,)
    assert result.unknown == ("zed",)
    assert list(result.ambiguous) == ["jones"]


async def test_nobody_named_is_not_complete() -> None:
    """An empty resolution is nothing to act on."""
    result = await named()
    assert result == Resolution()
    assert not result.complete


async def test_a_message_names_the_people_an_admin_meant() -> None:
    """From the chat message to the people: mentions, emails, names and chunks together."""
    alice = Mention("29:1alice", "Alice Jones", "<at>Alice Jones</at>")
    command = parse(
        "sync <at>Alice Jones</at>, bob and Carol King sal@contoso.com", [alice], "28:bot"
    )
    assert isinstance(command, Command)
    result = await resolve(command.people, FakeDirectory(CONTOSO).lookup)
    assert result.found == (ALICE_JONES, BOB, CAROL, SAL)
    assert result.complete


# The bound on work


async def test_a_long_chunk_of_unknown_words_asks_once_per_word() -> None:
    """Forty words nobody has make forty lookups, not thousands."""
    directory = FakeDirectory(CONTOSO)
    words = " ".join(f"word{i}" for i in range(40))
    result = await resolve(refs(words), directory.lookup)
    assert len(directory.asked) == 40
    assert result.unknown == (words,)


async def test_a_long_chunk_of_first_names_asks_about_twice_per_name() -> None:
    """Forty people by first name: each name, and each name with the next one, once."""
    people = [Candidate(f"l-{i}", f"p{i}@contoso.com", f"Person{i:02d} Doe") for i in range(40)]
    directory = FakeDirectory(people)
    result = await resolve(refs(" ".join(f"person{i:02d}" for i in range(40))), directory.lookup)
    assert result.found == tuple(people)
    assert len(directory.asked) <= 80


async def test_repeated_words_are_looked_up_once() -> None:
    """The same name forty times costs what it costs once."""
    directory = FakeDirectory(CONTOSO)
    result = await resolve(refs(" ".join(["bob"] * 40)), directory.lookup)
    assert result.found == (BOB,)
    assert len(directory.asked) == 2  # "bob", and "bob bob" which fits nobody


async def test_a_run_is_never_longer_than_any_display_name() -> None:
    """Even when every run matches someone, lookups stay short and few."""
    words = [f"w{i}" for i in range(40)]
    # Everyone's name holds every run of words, the worst case for the splitting.
    crowd = [Candidate(f"l-{i}", f"c{i}@contoso.com", " ".join(words)) for i in range(2)]
    directory = FakeDirectory(crowd)
    result = await resolve(refs(" ".join(words)), directory.lookup)
    assert max(len(name.split()) for name in directory.asked) == MAX_WORDS
    assert len(directory.asked) <= 40 * MAX_WORDS
    assert result.found == ()
    assert len(result.ambiguous) == -(-40 // MAX_WORDS)


# Properties

WORDS = ["Ann", "Lee", "Bo", "Ray", "Kim", "Noor", "Ivo", "Zoe", "Amal", "Tess"]


@st.composite
def directories(draw: st.DrawFn) -> list[Candidate]:
    """People with distinct display names of one to four words and distinct emails."""
    names = draw(
        st.lists(
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
            min_size=1,
            max_size=8,
            unique_by=str.casefold,
        )
    )
    return [Candidate(f"l-{i}", f"u{i}@contoso.com", name) for i, name in enumerate(names)]


@given(directories(), st.data())
def test_people_named_by_email_are_exactly_those_people(
    people: list[Candidate], data: st.DataObject
) -> None:
    """Any mix of addresses, repeated or not, in any case, finds exactly those people."""
    chosen = data.draw(st.lists(st.sampled_from(people), min_size=1, max_size=12))
    typed = [data.draw(st.sampled_from([str, str.upper]))(p.email) for p in chosen]
    result = asyncio.run(resolve(refs(*typed), FakeDirectory(people).lookup))
    assert set(result.found) == set(chosen)
    assert result.complete


@given(directories(), st.data())
def test_people_named_by_display_name_and_commas_are_exactly_those_people(
    people: list[Candidate], data: st.DataObject
) -> None:
    """`sync Ann Lee, Bo and Ray Kim`: whole names between commas find their people."""
    chosen = data.draw(st.lists(st.sampled_from(people), min_size=1, max_size=6))
    separators = data.draw(st.lists(st.sampled_from([", ", " and ", "; "]), min_size=6))
    text = "sync " + "".join(
        sep + p.display_name for sep, p in zip(["", *separators], chosen, strict=False)
    )
    command = parse(text, [], "28:bot")
    assert isinstance(command, Command)
    result = asyncio.run(resolve(command.people, FakeDirectory(people).lookup))
    assert set(result.found) == set(chosen)
    assert result.complete
