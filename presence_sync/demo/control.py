"""A small client for the sandbox's control API, as the demo uses it."""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp

from presence_sync.demo.scenario import Person, Step, control_request

__all__ = ["ControlError", "SandboxControl", "as_person", "linked_people"]

logger = logging.getLogger(__name__)


class ControlError(Exception):
    """The sandbox refused a control call; the message has its answer."""


@dataclass
class SandboxControl:
    """Calls `/_sandbox/...` on the sandbox at `base_url` over a session that trusts its CA."""

    base_url: str
    session: aiohttp.ClientSession

    @classmethod
    def open(cls, base_url: str, ca_file: str) -> SandboxControl:
        """A control client with its own session; close it with `close()`."""
        context = ssl.create_default_context(cafile=ca_file)
        timeout = aiohttp.ClientTimeout(total=15)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context), timeout=timeout
        )
        return cls(base_url.rstrip("/"), session)

    async def close(self) -> None:
        """Close the session."""
        await self.session.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control route; its JSON answer, or ControlError naming the refusal."""
        async with self.session.request(method, f"{self.base_url}{path}", json=body) as response:
            text = await response.text()
            answer = json.loads(text) if text else None
            if response.status >= 400:
                detail = answer.get("error") if isinstance(answer, dict) else text
                raise ControlError(f"{method} {path}: {response.status} {detail}")
            return answer

    async def config(self) -> dict[str, Any]:
        """GET /_sandbox/config."""
        answer: dict[str, Any] = await self.call("GET", "/_sandbox/config")
        return answer

    async def set_product_url(self, url: str | None) -> None:
        """Tell the sandbox where the bot's messaging endpoint is."""
        await self.call("PUT", "/_sandbox/config", {"product_url": url})

    async def state(self) -> dict[str, Any]:
        """GET /_sandbox/state: both presences of everyone."""
        answer: dict[str, Any] = await self.call("GET", "/_sandbox/state")
        return answer

    async def consent(self, **choices: Any) -> dict[str, Any]:
        """POST /_sandbox/consent (sign_in_as, admin_decision, granted)."""
        answer: dict[str, Any] = await self.call("POST", "/_sandbox/consent", choices)
        return answer

    async def act(self, step: Step, person: Person, rc_mode: str = "legacy") -> None:
        """Act out one scenario step as `person`."""
        method, path, body = control_request(step, person, rc_mode)
        await self.call(method, path, body)


def linked_people(
    state: dict[str, Any], teams_user_ids: set[str] | None = None
) -> list[dict[str, Any]]:
    """People in `/_sandbox/state` on both sides; only those in `teams_user_ids` if given."""
    chosen = []
    for person in state.get("users", []):
        teams, rc = person.get("teams"), person.get("ringcentral")
        if not teams or not rc:
            continue
        if teams_user_ids is not None:
            if teams.get("id") not in teams_user_ids:
                continue
        elif not teams.get("accountEnabled") or rc.get("status") != "Enabled":
            continue
        chosen.append(person)
    return chosen


def as_person(entry: dict[str, Any]) -> Person:
    """The scenario's view of a `/_sandbox/state` entry."""
    teams = entry["teams"]
    return Person(
        name=str(entry.get("display_name") or teams["userPrincipalName"]),
        teams_email=str(teams["userPrincipalName"]),
        rc_email=str(entry["ringcentral"]["email"]),
    )
