"""The bot through the sandbox acting as Teams: signed activities in, the connector's chat out.

`say` and `press` go through `/_sandbox/teams/{email}/say` and `/invoke`, which POST a
channel-signed activity to the product's `/api/messages`; `cards` reads what the bot sent
back through the connector from `/_sandbox/chats/{email}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox.server import RunningSandbox

__all__ = ["ADMIN", "cards", "last_card", "press", "say", "words"]

ADMIN = "admin@contoso.example"  # the sandbox org's Global Administrator


async def say(sandbox: RunningSandbox, email: str, text: str) -> None:
    """`email` sends the bot `text` in their personal chat (the bot has answered on return)."""
    status, body = await sandbox.control("POST", f"/_sandbox/teams/{email}/say", {"text": text})
    assert status == 200, body


async def cards(sandbox: RunningSandbox, email: str) -> list[dict[str, Any]]:
    """Every Adaptive Card the bot sent `email`, oldest first (as last updated)."""
    status, chat = await sandbox.control("GET", f"/_sandbox/chats/{email}")
    assert status == 200, chat
    found = []
    for message in chat["messages"]:
        for attachment in message.get("attachments") or ():
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                found.append(dict(attachment["content"]))
    return found


async def last_card(sandbox: RunningSandbox, email: str) -> dict[str, Any]:
    """The bot's latest card to `email`."""
    sent = await cards(sandbox, email)
    assert sent, f"the bot sent {email} no card"
    return sent[-1]


async def press(
    sandbox: RunningSandbox, email: str, verb: str, data: dict[str, Any]
) -> dict[str, Any]:
    """`email` presses an Action.Execute button; the card the bot answers with."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
    status, answer = await sandbox.control(
        "POST", f"/_sandbox/teams/{email}/invoke", {"name": "adaptiveCard/action", "value": value}
    )
    assert status == 200, answer
    body = answer["body"]
    assert body["statusCode"] == 200, body
    return dict(body["value"])


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "title", "label", "value") and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def words(card: dict[str, Any]) -> str:
    """Everything a person reads on a card, as one string."""
    return " | ".join(_texts(card))


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute on a card (in the card's actions and in its body)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found
