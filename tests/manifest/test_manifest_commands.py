"""The command lists Teams shows name only commands the bot's parser knows."""

from __future__ import annotations

import json

from bot.commands import Command, CommandName, parse
from tests.manifest.package_env import MANIFEST_DIR

BOT_ID = "28:0b6e8f8a-51f4-4f63-9a2b-7d1c2e3f4a5b"


def command_lists() -> dict[str, list[str]]:
    """Scope → the command titles the template lists for it."""
    bot = json.loads((MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8"))["bots"][0]
    lists: dict[str, list[str]] = {}
    for command_list in bot["commandLists"]:
        for scope in command_list["scopes"]:
            lists[scope] = [command["title"] for command in command_list["commands"]]
    return lists


def test_every_listed_command_is_one_the_parser_runs() -> None:
    listed = {title for titles in command_lists().values() for title in titles}
    for title in sorted(listed):
        # Clicking a command puts its title in the compose box; sync and unsync then need
        # the people the admin types after it.
        text = f"{title} alice@contoso.com" if title in ("sync", "unsync") else title
        result = parse(text, (), BOT_ID)
        assert isinstance(result, Command), title
        assert result.name.value == title
    assert listed <= {name.value for name in CommandName}


def test_scopes_list_what_teams_shows_there() -> None:
    lists = command_lists()
    assert set(lists) == {"personal", "team", "groupChat"}
    assert 1 <= len(lists["personal"]) <= 10
    assert lists["personal"][0] == "help"
    assert lists["team"] == ["help"]
    assert lists["groupChat"] == ["help"]
