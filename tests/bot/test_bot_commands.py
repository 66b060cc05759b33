"""What the bot understands in an admin's message: commands, people, mentions and typos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

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

FIXTURES = Path(__file__).parents[1] / "fixtures" / "teams"
BOT_ID = "28:00000000-0000-4000-8000-000000000b07"
BOT = Mention(BOT_ID, "Presence Sync", "<at>Presence Sync</at>")
ALICE = Mention("29:1alice", "Alice Jones", "<at>Alice Jones</at>")


def people(*texts: str) -> tuple[PersonRef, ...]:
    """People references typed as words (no mentions)."""
    return tuple(PersonRef(text) for text in texts)


def said(text: str, *mentions: Mention) -> Command | Misspelt | Empty:
    """The parse of a message to the bot."""
    return parse(text, mentions, BOT_ID)


# Every command form, as an admin types it, and what the bot does with it.
FORMS = [
    ("help", Command(CommandName.HELP)),
    ("help sync", Command(CommandName.HELP, argument="sync")),
    ("status", Command(CommandName.STATUS)),
    ("sync all", Command(CommandName.SYNC_ALL)),
    ("sync alice", Command(CommandName.SYNC, people("alice"))),
    ("sync alice.jones@contoso.com", Command(CommandName.SYNC, people("alice.jones@contoso.com"))),
    ("sync alice+pager@contoso.com", Command(CommandName.SYNC, people("alice+pager@contoso.com"))),
    ("sync Alice Jones", Command(CommandName.SYNC, people("Alice Jones"))),
    ("sync alice bob", Command(CommandName.SYNC, people("alice bob"))),
    (
        "sync alice, bob and Carol King",
        Command(CommandName.SYNC, people("alice", "bob", "Carol King")),
    ),
    (
        "sync O'Brien; Mary-Jane",
        Command(CommandName.SYNC, people("O'Brien", "Mary-Jane")),
    ),
    ("unsync alice", Command(CommandName.UNSYNC, people("alice"))),
    ("unsync bob and alice", Command(CommandName.UNSYNC, people("bob", "alice"))),
    ("disable", Command(CommandName.DISABLE)),
    ("enable", Command(CommandName.ENABLE)),
    ("rules", Command(CommandName.RULES)),
    ("users", Command(CommandName.USERS)),
    ("users jones", Command(CommandName.USERS, argument="jones")),
    ("users @contoso.com", Command(CommandName.USERS, argument="contoso.com")),
    ("report", Command(CommandName.REPORT)),
    ("report 3f2a9c0d", Command(CommandName.REPORT, argument="3f2a9c0d")),
    ("connect", Command(CommandName.CONNECT)),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_every_command_form(text: str, expected: Command) -> None:
    """Each documented command does what its help says."""
    assert said(text) == expected


def test_every_command_the_parser_knows_has_a_form() -> None:
    """The help, the app manifest and the parser can name the same command list."""
    assert {expected.name for _, expected in FORMS} == set(CommandName)
    assert {name.value.split()[0] for name in CommandName} == set(COMMAND_WORDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sync ALL!", Command(CommandName.SYNC_ALL)),
        ("  status? ", Command(CommandName.STATUS)),
        ("sync: alice.", Command(CommandName.SYNC, people("alice"))),
        ("HELP!!!", Command(CommandName.HELP)),
        (
            "sync alice.jones@contoso.com.",
            Command(CommandName.SYNC, people("alice.jones@contoso.com")),
        ),
        ("sync <alice@contoso.com>", Command(CommandName.SYNC, people("alice@contoso.com"))),
        ('sync "Carol King"', Command(CommandName.SYNC, people("Carol King"))),
        ("sync O\u2019Brien", Command(CommandName.SYNC, people("O'Brien"))),
        ("<p>users&nbsp;jones</p>", Command(CommandName.USERS, argument="jones")),
        ("sync Tom &amp; Jerry", Command(CommandName.SYNC, people("Tom", "Jerry"))),
        ("sync alice,bob", Command(CommandName.SYNC, people("alice", "bob"))),
        ("sync\u200b alice", Command(CommandName.SYNC, people("alice"))),
        ("<div>rules<br></div>", Command(CommandName.RULES)),
    ],
)
def test_case_spaces_punctuation_and_html_do_not_matter(text: str, expected: Command) -> None:
    """What Teams or a phone adds around the words leaves the command as it was."""
    assert said(text) == expected


def test_the_same_person_named_twice_is_one_reference() -> None:
    """Repeating a name does not make a second reference."""
    assert said("sync alice, Alice and alice") == Command(CommandName.SYNC, people("alice"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stauts", Misspelt("stauts", "status")),
        ("snyc alice", Misspelt("snyc", "sync alice")),
        ("hepl", Misspelt("hepl", "help")),
        ("unsinc bob", Misspelt("unsinc", "unsync bob")),
        ("rulez", Misspelt("rulez", "rules")),
        ("user jones", Misspelt("user", "users jones")),
        ("disabel", Misspelt("disabel", "disable")),
        ("Conect", Misspelt("Conect", "connect")),
        ("nsync bob", Misspelt("nsync", "unsync bob")),
        ("snyc all", Misspelt("snyc", "sync all")),
        ("unsinc all", Misspelt("unsinc", "disable")),
        ("syncall", Misspelt("syncall", "sync all")),
        ("sync-all", Misspelt("sync-all", "sync all")),
        ("sync:alice", Misspelt("sync:alice", "sync alice")),
    ],
)
def test_a_misspelt_command_suggests_the_closest(text: str, expected: Misspelt) -> None:
    """The person sees "Did you mean `status`?" with the rest of what they wrote."""
    assert said(text) == expected


@pytest.mark.parametrize(
    "text", ["hello there", "thanks!", "Synchronize everyone", "sink alice", "what can you do"]
)
def test_unrelated_text_suggests_nothing(text: str) -> None:
    """Text that is no command and no near miss gets no guess (the bot answers with help)."""
    result = said(text)
    assert isinstance(result, Misspelt)
    assert result.suggestion is None
    assert result.word == text.split()[0].strip("!")


def test_unsync_all_is_not_a_command_and_points_to_disable() -> None:
    """Stopping sync for everyone is `disable`; `unsync all` does nothing and says so."""
    assert said("unsync all") == Misspelt("unsync all", "disable")
    assert said("Unsync ALL.") == Misspelt("unsync all", "disable")


@pytest.mark.parametrize(
    ("text", "suggestion"), [("disable alice", "unsync alice"), ("enable bob", "sync bob")]
)
def test_turning_the_organisation_off_with_a_name_is_refused(text: str, suggestion: str) -> None:
    """`disable alice` does not switch off everyone; the bot offers the per-person command."""
    assert said(text) == Misspelt(text, suggestion)


@pytest.mark.parametrize("text", ["status please", "rules now", "connect ringcentral"])
def test_words_after_a_command_without_arguments_are_refused(text: str) -> None:
    """The bot does not guess what the extra words meant; it offers the bare command."""
    assert said(text) == Misspelt(text, text.split()[0])


@pytest.mark.parametrize("text", ["sync", "unsync", "sync and", "unsync ,"])
def test_sync_without_people_names_nobody_and_offers_nothing(text: str) -> None:
    """A bare `sync` is never taken as `sync all`, nor offered as one."""
    assert said(text) == Misspelt(text.split()[0], None)


@pytest.mark.parametrize(
    "text", ["", "   ", "?", "<p>&nbsp;</p>", "!!! ...", "<at>Presence Sync</at>"]
)
def test_a_message_with_nothing_in_it_is_empty(text: str) -> None:
    """An empty message (or only the bot's mention) gets the help, not an error."""
    assert said(text, BOT) == Empty()


# Mentions


def test_the_bots_own_mention_is_dropped_wherever_it_is() -> None:
    """In group chats people @mention the bot first, last or in the middle."""
    for text in (
        "<at>Presence Sync</at> sync all",
        "sync all <at>Presence Sync</at>",
        "sync <at>Presence Sync</at> all",
        "<at>Presence Sync</at>sync all<at>Presence Sync</at>",
    ):
        assert said(text, BOT) == Command(CommandName.SYNC_ALL), text


def test_the_bots_mention_inside_a_name_keeps_the_name_whole() -> None:
    """Dropping the mention does not split the words around it into two people."""
    assert said("sync Carol <at>Presence Sync</at> King", BOT) == Command(
        CommandName.SYNC, people("Carol King")
    )


def test_the_bots_mention_is_known_by_its_id_with_or_without_the_prefix() -> None:
    """Some clients name the bot by its bare app id."""
    bare = Mention(BOT_ID.removeprefix("28:"), "Presence Sync", "<at>Presence Sync</at>")
    assert said("<at>Presence Sync</at> status", bare) == Command(CommandName.STATUS)


def test_other_mentions_are_people_with_their_teams_id() -> None:
    """@mentioning a colleague names exactly that colleague."""
    assert said("sync <at>Alice Jones</at>", ALICE) == Command(
        CommandName.SYNC, (PersonRef("Alice Jones", teams_id="29:1alice"),)
    )


def test_a_mention_ends_the_words_before_it() -> None:
    """`sync bob <at>Alice Jones</at> carol` names bob, Alice and carol apart."""
    assert said("sync bob <at>Alice Jones</at> carol", ALICE) == Command(
        CommandName.SYNC,
        (PersonRef("bob"), PersonRef("Alice Jones", teams_id="29:1alice"), PersonRef("carol")),
    )


def test_two_people_with_one_name_are_two_mentions() -> None:
    """Each entity takes its own place in the text, so two Alex Kims stay two people."""
    first = Mention("29:1alexa", "Alex Kim", "<at>Alex Kim</at>")
    second = Mention("29:1alexb", "Alex Kim", "<at>Alex Kim</at>")
    result = said("unsync <at>Alex Kim</at> and <at>Alex Kim</at>", first, second)
    assert isinstance(result, Command)
    assert [ref.teams_id for ref in result.people] == ["29:1alexa", "29:1alexb"]


def test_a_mention_whose_text_is_escaped_is_still_found() -> None:
    """Teams escapes `&` in the message but not always in the entity."""
    tom = Mention("29:1tom", "Tom & Jerry", "<at>Tom & Jerry</at>")
    assert said("sync <at>Tom &amp; Jerry</at>", tom) == Command(
        CommandName.SYNC, (PersonRef("Tom & Jerry", teams_id="29:1tom"),)
    )


def test_a_mention_in_the_users_filter_searches_by_the_name() -> None:
    """`users @Alice Jones` lists people matching the mentioned name."""
    assert said("users <at>Alice Jones</at>", ALICE) == Command(
        CommandName.USERS, argument="Alice Jones"
    )


def test_a_message_starting_with_someone_else_is_not_a_command() -> None:
    """Mentioning a colleague first is not a command; the bot answers with help."""
    assert said("<at>Alice Jones</at> sync", ALICE) == Misspelt("Alice Jones", None)


def test_mentions_are_read_from_a_teams_activity() -> None:
    """A group-chat message: the bot's mention goes, Alice's becomes a person."""
    activity = json.loads((FIXTURES / "message_group_mentions.json").read_text())
    mentions = mentions_from_entities(activity["entities"])
    assert mentions == (
        Mention(BOT_ID, "Presence Sync", "<at>Presence Sync</at>"),
        ALICE,
    )
    assert parse(activity["text"], mentions, activity["recipient"]["id"]) == Command(
        CommandName.SYNC,
        (PersonRef("Alice Jones", teams_id="29:1alice"), PersonRef("bob"), PersonRef("Carol King")),
    )


def test_html_from_a_teams_activity_is_read_as_text() -> None:
    """Paragraphs, links Teams adds to emails and escaped characters are plain words."""
    activity = json.loads((FIXTURES / "message_html.json").read_text())
    mentions = mentions_from_entities(activity["entities"])
    assert mentions == ()
    assert parse(activity["text"], mentions, activity["recipient"]["id"]) == Command(
        CommandName.UNSYNC, people("Tom", "jerry.o'brien@contoso.com")
    )


def test_malformed_mention_entities_are_skipped() -> None:
    """An entity without a mentioned id is no mention; a missing text is the usual tag."""
    entities = [
        {"type": "mention"},
        {"type": "mention", "mentioned": "alice"},
        {"type": "mention", "mentioned": {"name": "No Id"}},
        {"type": "mention", "mentioned": {"id": "29:1bob", "name": "Bob"}},
        {"type": "clientInfo", "locale": "en-GB"},
    ]
    assert mentions_from_entities(entities) == (Mention("29:1bob", "Bob", "<at>Bob</at>"),)


# Properties

PLAIN = [
    "help",
    "status",
    "sync all",
    "sync alice",
    "sync Carol King",
    "sync alice.jones@contoso.com and bob",
    "unsync O'Brien and Mary-Jane",
    "disable",
    "enable",
    "rules",
    "users jones",
    "report 3f2a9c0d",
    "connect",
]
# Punctuation that may stand around a word without changing it (commas separate people).
AROUND = st.text(alphabet=".!?:\"()'*_~`", max_size=3)
SPACE = st.sampled_from([" ", "  ", "\t", "\n", "&nbsp;", " \u00a0", "<br>"])
CASE = st.sampled_from([str.lower, str.upper, str.title, str.swapcase])


def folded(result: Command | Misspelt | Empty) -> object:
    """A parse with the case of names and arguments set aside (people match in any case)."""
    if isinstance(result, Command):
        return (
            result.name,
            tuple((ref.text.casefold(), ref.teams_id) for ref in result.people),
            result.argument.casefold() if result.argument else None,
        )
    return result


@st.composite
def decorated(draw: st.DrawFn) -> tuple[str, str]:
    """A valid command, and the same command as a hurried person might type it."""
    plain = draw(st.sampled_from(PLAIN))
    out = draw(st.sampled_from(["", " ", "<p>", "&nbsp;"]))
    for i, word in enumerate(plain.split()):
        if i:
            out += draw(SPACE)
        out += draw(AROUND) + draw(CASE)(word) + draw(AROUND)
    out += draw(st.sampled_from(["", " ", "</p>", "\n"]))
    return plain, out


@given(decorated())
def test_case_spacing_and_punctuation_never_change_a_command(pair: tuple[str, str]) -> None:
    """However the command is dressed, the bot does the same thing."""
    plain, typed = pair
    assert folded(said(typed)) == folded(said(plain))


@st.composite
def with_bot_mentions(draw: st.DrawFn) -> tuple[str, str]:
    """A valid command, and the same command with the bot's mention between any words."""
    plain = draw(st.sampled_from([*PLAIN, "sync <at>Alice Jones</at> bob"]))
    words = plain.replace(ALICE.text, "ALICE").split()
    places = draw(st.lists(st.integers(0, len(words)), min_size=1, max_size=3))
    for place in sorted(places, reverse=True):
        words.insert(place, BOT.text)
    return plain, " ".join(words).replace("ALICE", ALICE.text)


@given(with_bot_mentions())
def test_the_bots_mention_anywhere_never_changes_a_command(pair: tuple[str, str]) -> None:
    """@mentioning the bot, once or more, wherever, changes nothing."""
    plain, typed = pair
    assert said(typed, BOT, ALICE) == said(plain, ALICE)


def one_typo(word: str) -> list[str]:
    """Every word one dropped letter, swapped pair or wrong letter away from `word`."""
    dropped = [word[:i] + word[i + 1 :] for i in range(len(word))]
    swapped = [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]
    wrong = [word[:i] + "x" + word[i + 1 :] for i in range(len(word))]
    return [typo for typo in {*dropped, *swapped, *wrong} if typo != word and len(typo) >= 3]


@pytest.mark.parametrize("command", COMMAND_WORDS)
def test_one_typo_in_any_command_suggests_that_command(command: str) -> None:
    """A dropped letter, swapped pair or wrong letter is recognised for every command."""
    rest = " alice" if command in ("sync", "unsync") else ""
    for typo in one_typo(command):
        assert said(typo + rest) == Misspelt(typo, command + rest), typo


VOCABULARY = [
    *COMMAND_WORDS,
    "all",
    "and",
    ",",
    "alice",
    "Carol King",
    "bob@contoso.com",
    "stauts",
    "snyc",
    "unsinc",
    "syncall",
    "sync-all",
    "hello",
]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(VOCABULARY),
            st.text(alphabet="abcdehilnorstuy-_:.@'", min_size=1, max_size=9),
        ),
        max_size=6,
    ).map(" ".join)
)
def test_every_suggestion_is_a_command(text: str) -> None:
    """What the bot offers ("Did you mean ...?") works when the person types it."""
    result = said(text)
    if isinstance(result, Misspelt) and result.suggestion is not None:
        assert isinstance(said(result.suggestion), Command)


@given(
    st.text(),
    st.lists(st.builds(Mention, st.text(max_size=5), st.text(max_size=8), st.text(max_size=12))),
)
def test_any_message_gets_an_answer(text: str, mentions: list[Mention]) -> None:
    """No text or entities, however odd, makes the parser fail."""
    assert isinstance(parse(text, mentions, BOT_ID), Command | Misspelt | Empty)
