"""Microsoft Graph client: every call goes through `_request()`, the one choke point.

`_request()` owns the per-call timeout, the bearer token (app-only or a sync account's), the
status → error mapping, retries (429 honouring Retry-After, never earlier; 5xx, timeouts and
connection errors with jittered exponential backoff) and JSON decoding. Methods return frozen
models from `models.py`.

Retry bound: at most `max_retries` retries per call, so a call that keeps failing returns
within about (max_retries + 1) * timeout plus the backoff (at most 0.5 + 1 + 2 + ... s) or the
Retry-After waits, each capped at `max_retry_wait`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from presence_sync.errors import (
    GraphAuthError,
    GraphError,
    GraphNotFoundError,
    GraphRateLimitedError,
    GraphUnavailableError,
)
from presence_sync.graph.auth import APP_TOKEN, GraphToken, GraphTokenProvider
from presence_sync.graph.budget import GraphBudget
from presence_sync.graph.errors import (
    GraphPermissionError,
    GraphRequestError,
    decode_body,
    graph_error,
)
from presence_sync.graph.models import (
    PRESENCE_BATCH,
    SESSION_MIN,
    DeltaPage,
    DirectoryRole,
    GraphUser,
    Presence,
    Subscription,
    collection_values,
    format_time,
    iso_duration,
    presence_subscription_body,
    session_duration,
)
from presence_sync.graph.teams_apps import TeamsAppsApi
from presence_sync.graph.urls import segment
from presence_sync.http import backoff_delay, parse_retry_after, server_error_delay

__all__ = ["GraphClient"]

logger = logging.getLogger(__name__)

USER_FIELDS = ("id", "displayName", "userPrincipalName", "mail", "accountEnabled")
PRESENCE_CONCURRENCY = 4
SUBSCRIPTION_TIMEOUT = 30.0  # Graph validates both webhook URLs (10 s each) before answering


@dataclass
class GraphClient(TeamsAppsApi):
    """Microsoft Graph over an injected aiohttp session; see the module docstring."""

    session: aiohttp.ClientSession
    tokens: GraphTokenProvider
    graph_url: str
    timeout: float
    max_retries: int = 3
    max_retry_wait: float = 60.0  # a longer Retry-After is raised to the caller, not slept
    budget: GraphBudget = field(default_factory=GraphBudget)

    def __post_init__(self) -> None:
        self.graph_url = self.graph_url.rstrip("/")
        parts = urlsplit(self.graph_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"

    # -- the choke point -------------------------------------------------------------------

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
        timeout: float | None = None,  # noqa: ASYNC109 - per-call timeout, applied by aiohttp
    ) -> Any:
        """Send one Graph call and decode its JSON answer (None for an empty body).

        Whatever it raises names the token the call was made with (`GraphError.token`).
        """
        try:
            return await self._send(
                method,
                path,
                token=token,
                json=json,
                params=params,
                expected=expected,
                idempotent=idempotent,
                timeout=timeout,
            )
        except GraphError as err:
            if err.token is None:
                err.token = token
            raise

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: GraphToken,
        json: Any,
        params: dict[str, str] | None,
        expected: Iterable[int],
        idempotent: bool,
        timeout: float | None,  # noqa: ASYNC109 - per-call timeout, applied by aiohttp
    ) -> Any:
        url = self._url(path)
        accepted = frozenset(expected)
        attempt = 0
        refreshed = False
        while True:
            access = await self.tokens.token_for(token)
            self.budget.record_request()
            try:
                async with self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
                ) as response:
                    status = response.status
                    body = await response.read()
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
            except (TimeoutError, aiohttp.ClientError) as err:
                # A timed-out POST may have been applied; only repeat it when that is harmless.
                if attempt >= self.max_retries or not idempotent:
                    raise GraphUnavailableError(
                        f"Graph {method} {path}: {type(err).__name__} after {attempt + 1} tries"
                    ) from err
                await self._back_off(method, path, type(err).__name__, backoff_delay(attempt))
                attempt += 1
                continue
            logger.debug("graph %s %s -> %s", method, path, status)
            if status in accepted:
                return decode_body(body)
            problem = graph_error(status, body)
            if status == 401:
                # Graph refuses a cached token that was revoked or expired early: fetch a new
                # one once; if Entra refuses too, its EntraError says why.
                if not refreshed:
                    refreshed = True
                    self.tokens.forget_token(access)
                    continue
                raise GraphAuthError(f"Graph refused the token: {problem}") from problem
            if status == 403:
                raise GraphPermissionError(problem.code, problem.message) from problem
            if status == 404:
                raise GraphNotFoundError(f"Graph {method} {path}: {problem}") from problem
            if status == 429:
                self.budget.record_throttled(retry_after)
                wait = retry_after if retry_after is not None else backoff_delay(attempt)
                if attempt >= self.max_retries or wait > self.max_retry_wait:
                    raise GraphRateLimitedError(
                        f"Graph throttled {method} {path}", wait
                    ) from problem
                logger.warning("graph throttled %s %s; retrying after %.1f s", method, path, wait)
                await asyncio.sleep(wait)
                attempt += 1
                continue
            if status >= 500:
                if attempt >= self.max_retries:
                    raise GraphUnavailableError(
                        f"Graph {method} {path}: {status} after {attempt + 1} tries"
                    ) from problem
                await self._back_off(
                    method,
                    path,
                    str(status),
                    server_error_delay(attempt, retry_after, self.max_retry_wait),
                )
                attempt += 1
                continue
            raise problem

    async def _back_off(self, method: str, path: str, why: str, delay: float) -> None:
        logger.warning("graph %s %s failed (%s); retry in %.2f s", method, path, why, delay)
        await asyncio.sleep(delay)

    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            # Paging links come from the answer; never send our token to another host.
            if not path.startswith(self._origin + "/"):
                raise GraphError(f"refusing to follow a link outside Graph: {path[:80]}")
            return path
        return f"{self.graph_url}{path}"

    async def _pages(
        self, path: str, params: dict[str, str] | None, token: GraphToken = APP_TOKEN
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page of a collection, following `@odata.nextLink`."""
        link: str | None = path
        query = params
        while link:
            page = await self._request("GET", link, token=token, params=query)
            collection_values(page)  # raises unless it is a collection
            yield page
            next_link = page.get("@odata.nextLink")
            link = next_link if isinstance(next_link, str) else None
            query = None  # the next link carries the query

    async def list_users(
        self, select: Sequence[str] = USER_FIELDS, enabled_only: bool = True
    ) -> AsyncIterator[GraphUser]:
        """Every user in the tenant (999 per page), optionally only enabled accounts."""
        fields = list(dict.fromkeys([*select, "id", "accountEnabled"]))
        params = {"$select": ",".join(fields), "$top": "999"}
        if enabled_only:
            params["$filter"] = "accountEnabled eq true"
        async for page in self._pages("/users", params):
            for item in collection_values(page):
                user = GraphUser.from_json(item)
                # Filtered again here: a filter Graph ignored must not let disabled users in.
                if enabled_only and user.account_enabled is False:
                    continue
                yield user

    async def users_delta(self, delta_link: str | None = None) -> DeltaPage:
        """Users changed since `delta_link` (everyone when None), following every page.

        When Graph has forgotten the link's sync state the round starts over and the page is
        marked `full`: users missing from it are gone. Graph says so with 410 Gone, or for
        directory resources with 400 `syncStateNotFound`.
        """
        if delta_link is not None:
            try:
                return await self._delta_round(delta_link, None, full=False)
            except GraphRequestError as err:
                forgotten = err.status == 410 or (
                    err.status == 400 and err.code == "syncStateNotFound"
                )
                if not forgotten:
                    raise
                logger.info("graph users delta link expired; reading every user again")
        return await self._delta_round("/users/delta", {"$select": ",".join(USER_FIELDS)}, True)

    async def _delta_round(
        self, start: str, params: dict[str, str] | None, full: bool
    ) -> DeltaPage:
        users: list[GraphUser] = []
        removed: list[str] = []
        final: str | None = None
        async for page in self._pages(start, params):
            for item in collection_values(page):
                if isinstance(item, dict) and "@removed" in item:
                    removed.append(str(item.get("id", "")))
                else:
                    users.append(GraphUser.from_json(item))
            link = page.get("@odata.deltaLink")
            if isinstance(link, str):
                final = link
        if final is None:
            raise GraphError("Graph users delta ended without a deltaLink")
        return DeltaPage(tuple(users), tuple(r for r in removed if r), final, full)

    async def user_roles(self, user_id: str) -> list[DirectoryRole]:
        """The directory roles (with role template ids) a user is a member of."""
        roles: list[DirectoryRole] = []
        path = f"/users/{segment(user_id)}/memberOf"
        async for page in self._pages(path, None):
            for item in collection_values(page):
                if isinstance(item, dict) and item.get("@odata.type") == (
                    "#microsoft.graph.directoryRole"
                ):
                    roles.append(DirectoryRole.from_json(item))
        return roles

    async def get_presence(self, user_id: str) -> Presence:
        """One user's presence."""
        item = await self._request("GET", f"/users/{segment(user_id)}/presence")
        return Presence.from_json(item)

    async def get_presences(self, user_ids: Sequence[str]) -> list[Presence]:
        """Presence of many users: 650 per call, a few calls at a time."""
        ids = list(dict.fromkeys(user_ids))
        chunks = [ids[i : i + PRESENCE_BATCH] for i in range(0, len(ids), PRESENCE_BATCH)]
        gate = asyncio.Semaphore(PRESENCE_CONCURRENCY)

        async def read(chunk: list[str]) -> list[Presence]:
            async with gate:
                page = await self._request(
                    "POST", "/communications/getPresencesByUserId", json={"ids": chunk}
                )
            return [Presence.from_json(item) for item in collection_values(page)]

        results = await asyncio.gather(*(read(chunk) for chunk in chunks))
        return [presence for chunk in results for presence in chunk]

    async def set_presence(
        self,
        user_id: str,
        availability: str,
        activity: str,
        expiration: dt.timedelta = SESSION_MIN,
    ) -> None:
        """Set the product's presence session for a user (expiry clamped to 5 min..4 h)."""
        body = {
            "sessionId": self.tokens.client_id,
            "availability": availability,
            "activity": activity,
            "expirationDuration": session_duration(expiration),
        }
        await self._request(
            "POST",
            f"/users/{segment(user_id)}/presence/setPresence",
            json=body,
            expected=(200, 204),
        )

    async def clear_presence(self, user_id: str) -> bool:
        """End the product's presence session; False when there was none (already cleared)."""
        try:
            await self._request(
                "POST",
                f"/users/{segment(user_id)}/presence/clearPresence",
                json={"sessionId": self.tokens.client_id},
                expected=(200, 204),
            )
        except GraphNotFoundError:
            return False
        return True

    async def set_preferred_presence(
        self,
        user_id: str,
        availability: str,
        activity: str,
        expiration: dt.timedelta | None = None,
    ) -> None:
        """Set the user's preferred presence (overrides every session while one exists)."""
        body: dict[str, Any] = {"availability": availability, "activity": activity}
        if expiration is not None:
            body["expirationDuration"] = iso_duration(expiration)
        await self._request(
            "POST",
            f"/users/{segment(user_id)}/presence/setUserPreferredPresence",
            json=body,
            expected=(200, 204),
        )

    async def clear_preferred_presence(self, user_id: str) -> None:
        """Remove the user's preferred presence."""
        await self._request(
            "POST",
            f"/users/{segment(user_id)}/presence/clearUserPreferredPresence",
            json={},
            expected=(200, 204),
        )

    async def create_subscription(
        self,
        *,
        user_ids: Sequence[str],
        notification_url: str,
        lifecycle_notification_url: str | None,
        client_state: str,
        expiration: dt.datetime,
        account_upn: str,
        include_resource_data: bool = False,
        certificate: str | None = None,
        certificate_id: str | None = None,
    ) -> Subscription:
        """Subscribe a sync account to presence changes of up to 650 users."""
        body = presence_subscription_body(
            user_ids=user_ids,
            notification_url=notification_url,
            lifecycle_notification_url=lifecycle_notification_url,
            client_state=client_state,
            expiration=expiration,
            include_resource_data=include_resource_data,
            certificate=certificate,
            certificate_id=certificate_id,
        )
        item = await self._request(
            "POST",
            "/subscriptions",
            token=GraphToken.delegated(account_upn),
            json=body,
            expected=(201, 200),
            idempotent=False,
            timeout=max(self.timeout, SUBSCRIPTION_TIMEOUT),
        )
        return Subscription.from_json(item)

    async def renew_subscription(
        self, subscription_id: str, expiration: dt.datetime, account_upn: str
    ) -> Subscription:
        """Move a subscription's expiry (at most an hour ahead for presence)."""
        item = await self._request(
            "PATCH",
            f"/subscriptions/{segment(subscription_id)}",
            token=GraphToken.delegated(account_upn),
            json={"expirationDateTime": format_time(expiration)},
        )
        return Subscription.from_json(item)

    async def reauthorize_subscription(self, subscription_id: str, account_upn: str) -> None:
        """Answer a `reauthorizationRequired` lifecycle event."""
        await self._request(
            "POST",
            f"/subscriptions/{segment(subscription_id)}/reauthorize",
            token=GraphToken.delegated(account_upn),
            json={},
            expected=(200, 202, 204),
            timeout=max(self.timeout, SUBSCRIPTION_TIMEOUT),
        )

    async def delete_subscription(self, subscription_id: str, account_upn: str) -> bool:
        """Delete a subscription; False when it was already gone."""
        try:
            await self._request(
                "DELETE",
                f"/subscriptions/{segment(subscription_id)}",
                token=GraphToken.delegated(account_upn),
                expected=(204, 200),
            )
        except GraphNotFoundError:
            return False
        return True

    async def get_subscription(self, subscription_id: str, account_upn: str) -> Subscription:
        """One subscription (GraphNotFoundError when Graph removed it)."""
        item = await self._request(
            "GET",
            f"/subscriptions/{segment(subscription_id)}",
            token=GraphToken.delegated(account_upn),
        )
        return Subscription.from_json(item)

    async def list_subscriptions(self, account_upn: str | None = None) -> list[Subscription]:
        """The app's subscriptions visible to a sync account (or app-only when None)."""
        token = GraphToken.delegated(account_upn) if account_upn else APP_TOKEN
        found: list[Subscription] = []
        async for page in self._pages("/subscriptions", None, token=token):
            found.extend(Subscription.from_json(item) for item in collection_values(page))
        return found
