"""Graph calls for the Teams app and mail: catalog, per-user installation, its chat, sendMail.

A mixin of `GraphClient`: its methods go through the client's `_request()` like every other
Graph call, so timeouts, retries and error mapping stay in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Protocol

from presence_sync.errors import GraphError, GraphNotFoundError
from presence_sync.graph.auth import APP_TOKEN, GraphToken
from presence_sync.graph.errors import GraphConflictError
from presence_sync.graph.models import InstalledApp, collection_values
from presence_sync.graph.urls import odata_literal, segment

__all__ = ["GraphCalls", "TeamsAppsApi"]


class GraphCalls(Protocol):
    """What the mixin needs of the client."""

    graph_url: str

    async def _request(
        self,
        method: str,
        path: str,
        *,
        token: GraphToken = APP_TOKEN,
        json: Any = None,
        params: dict[str, str] | None = None,
        expected: Iterable[int] = (200,),
        idempotent: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - per-call timeout
    ) -> Any: ...

    def _pages(
        self, path: str, params: dict[str, str] | None, token: GraphToken = APP_TOKEN
    ) -> AsyncIterator[dict[str, Any]]: ...


class TeamsAppsApi:
    """Teams app installation and mail, for the bot's chats and the notice outbox."""

    async def send_mail(
        self: GraphCalls,
        from_user_id: str,
        to: Sequence[str],
        subject: str,
        html: str,
        text: str | None = None,
    ) -> None:
        """Send an HTML mail from a mailbox (Graph's JSON sendMail carries one body)."""
        # Graph's JSON message has a single itemBody; HTML reads well everywhere, and the
        # plain text would only matter through MIME, which adds a parser for little gain.
        del text
        message = {
            "subject": subject,
            "body": {"contentType": "HTML", "content": html},
            "toRecipients": [{"emailAddress": {"address": address}} for address in to],
        }
        await self._request(
            "POST",
            f"/users/{segment(from_user_id)}/sendMail",
            json={"message": message, "saveToSentItems": False},
            expected=(202, 200, 204),
            idempotent=False,
        )

    async def catalog_app_id(self: GraphCalls, manifest_id: str) -> str:
        """The org catalog's id of the Teams app whose manifest id is `manifest_id`."""
        params = {"$filter": f"externalId eq {odata_literal(manifest_id)}"}
        page = await self._request("GET", "/appCatalogs/teamsApps", params=params)
        for item in collection_values(page):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                return str(item["id"])
        raise GraphNotFoundError(f"Teams app {manifest_id} is not in the org catalog")

    async def install_app_for_user(
        self: GraphCalls, user_id: str, teams_app_id: str
    ) -> InstalledApp:
        """Install the product's Teams app for a user; an existing installation is returned."""
        bind = f"{self.graph_url}/appCatalogs/teamsApps/{segment(teams_app_id)}"
        try:
            item = await self._request(
                "POST",
                f"/users/{segment(user_id)}/teamwork/installedApps",
                json={"teamsApp@odata.bind": bind},
                expected=(201, 200, 204),
            )
        except GraphConflictError:
            item = None  # already installed: look it up below
        if isinstance(item, dict) and item.get("id"):
            return InstalledApp.from_json(item)
        return await _find_installation(self, user_id, teams_app_id)

    async def installed_app_chat_id(self: GraphCalls, user_id: str, install_id: str) -> str:
        """The 1:1 chat between the bot and the user of an installation."""
        item = await self._request(
            "GET", f"/users/{segment(user_id)}/teamwork/installedApps/{segment(install_id)}/chat"
        )
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise GraphError("Graph answered an installation chat without an id")
        return str(item["id"])


async def _find_installation(
    client: GraphCalls, user_id: str, teams_app_id: str
) -> InstalledApp:
    params = {"$expand": "teamsApp", "$filter": f"teamsApp/id eq {odata_literal(teams_app_id)}"}
    path = f"/users/{segment(user_id)}/teamwork/installedApps"
    async for page in client._pages(path, params):
        for item in collection_values(page):
            app = InstalledApp.from_json(item)
            if app.teams_app_id in (None, teams_app_id):
                return app
    raise GraphNotFoundError(f"app {teams_app_id} is not installed for user {user_id}")
