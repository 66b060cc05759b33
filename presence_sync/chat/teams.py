"""One person's Teams chat with the bot, through the sandbox's Teams client and connector.

What the person says goes to `/_sandbox/teams/{email}/say` (a message, or an Action.Submit's
data as its `value`) or `/invoke` (an Action.Execute), which the sandbox signs as the Bot
Framework channel and posts to the bot's `/api/messages`; what the bot sends back, answers and
notices alike, is read from the sandbox connector at `/_sandbox/chats/{email}`.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from presence_sync.chat.target import EXIT_REFUSED, ChatError, ChatTarget

__all__ = ["TeamsChat"]

TIMEOUT = 60.0  # a turn of the bot's (a status card reads both platforms) answers well within


@dataclass
class TeamsChat:
    """`email`'s personal chat with the bot, over an HTTP session that trusts the sandbox."""

    target: ChatTarget
    email: str
    session: aiohttp.ClientSession
    sent: set[str] = field(default_factory=set)  # ids of the activities the person sent

    @classmethod
    def open(cls, target: ChatTarget, email: str) -> TeamsChat:
        """A chat with its own session; close it with `close()`."""
        context = ssl.create_default_context(cafile=target.ca_file)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
        )
        return cls(target, email, session)

    async def close(self) -> None:
        """Close the session."""
        await self.session.close()

    async def check(self) -> None:
        """ChatError unless the sandbox answers, a bot is attached and `email` is a Teams user."""
        config = await self._request("GET", "/_sandbox/config")
        if not isinstance(config, dict) or not config.get("product_url"):
            raise ChatError(
                f"the sandbox at {self.target.base_url} runs, but no product is attached to it "
                "(its product_url is not set); start the whole demo with `presence-sync demo`"
            )
        try:
            await self.messages()
        except ChatError as err:
            admins = ", ".join(str(a.get("email")) for a in config.get("admins") or [])
            raise ChatError(f"--as: {err} (the org's admins: {admins or 'none'})") from err

    async def say(self, text: str) -> None:
        """The person sends `text`; the bot has answered when this returns."""
        self._sent(await self._request("POST", f"{self._teams()}/say", {"text": text}))

    async def submit(self, value: dict[str, Any]) -> None:
        """The person presses an Action.Submit: a message carrying its data as `value`."""
        self._sent(await self._request("POST", f"{self._teams()}/say", {"value": value}))

    async def execute(self, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        """The person presses an Action.Execute; the bot's invoke answer (statusCode, value)."""
        value = {
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        }
        answer = await self._request(
            "POST", f"{self._teams()}/invoke", {"name": "adaptiveCard/action", "value": value}
        )
        self._sent(answer)
        body = answer.get("body") if isinstance(answer, dict) else None
        return body if isinstance(body, dict) else {}

    async def messages(self) -> list[dict[str, Any]]:
        """Everything the bot has sent the person, oldest first (as last updated)."""
        chat = await self._request("GET", f"/_sandbox/chats/{quote(self.email, safe='@')}")
        found = chat.get("messages") if isinstance(chat, dict) else None
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    def answers(self, message: dict[str, Any]) -> bool:
        """Whether `message` answers something the person sent (else the bot sent it unasked).

        A reply names the activity it answers in `replyToId`. Proactive sends may name an
        older activity too (the stored conversation reference's), so only ours count.
        """
        return str(message.get("replyToId")) in self.sent

    def _sent(self, answer: Any) -> None:
        if isinstance(answer, dict) and answer.get("activity_id"):
            self.sent.add(str(answer["activity_id"]))

    def _teams(self) -> str:
        return f"/_sandbox/teams/{quote(self.email, safe='@')}"

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.target.base_url}{path}"
        try:
            async with self.session.request(method, url, json=body) as response:
                text = await response.text()
                status = response.status
        except aiohttp.ClientConnectorError as err:
            raise ChatError(
                f"no demo is running: nothing answers at {self.target.base_url} "
                f"(from {self.target.found_in}); start one with `presence-sync demo`"
            ) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ChatError(f"the sandbox at {self.target.base_url} did not answer: {err}") from err
        try:
            answer = json.loads(text) if text else None
        except ValueError:
            answer = text
        if status >= 400:
            detail = answer.get("error") if isinstance(answer, dict) else answer
            raise ChatError(str(detail or f"the sandbox answered {status}"), EXIT_REFUSED)
        return answer
