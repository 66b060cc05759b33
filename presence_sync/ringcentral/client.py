"""RingCentral REST client: every call goes through `_request()`, the one choke point.

The SDK (`auth.py`) owns tokens; REST calls go over the shared aiohttp session with its
current access token. `_request()` owns the timeout, the bearer header (one refresh on 401),
recording `X-Rate-Limit-*` per group into `limits`, the status → error mapping and retries
(429 honouring Retry-After or the group's penalty; 5xx, timeouts and connection errors with
jittered exponential backoff), each bounded by `max_retries`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from presence_sync.errors import (
    RingCentralAuthError,
    RingCentralError,
    RingCentralNotFoundError,
    RingCentralRateLimitedError,
    RingCentralUnavailableError,
)
from presence_sync.http import backoff_delay, parse_retry_after, server_error_delay
from presence_sync.ringcentral.auth import RingCentralAuth
from presence_sync.ringcentral.errors import request_error
from presence_sync.ringcentral.gate import CallGate
from presence_sync.ringcentral.limits import RateLimits, call_group
from presence_sync.ringcentral.models import (
    CallQueue,
    CallQueueMember,
    Extension,
    RcPresence,
    RcSubscription,
    parse_batch_presences,
)

__all__ = ["RingCentralClient"]

logger = logging.getLogger(__name__)

API = "/restapi/v1.0"
ACCOUNT = f"{API}/account/~"
PRESENCE_BATCH = 30  # RingCentral's limit of ids per batch presence GET
PAGE_SIZE = 1000
BATCH_JSON = "application/vnd.ringcentral.multipart+json"
DEFAULT_PENALTY = 60.0


@dataclass(frozen=True)
class Answer:
    """A raw answer from RingCentral (the client's methods decode it)."""

    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        if not self.body.strip():
            return None
        try:
            return jsonlib.loads(self.body)
        except ValueError as err:
            raise RingCentralError("RingCentral answered with a body that is not JSON") from err


@dataclass
class RingCentralClient:
    """RingCentral's REST API over an injected aiohttp session; see the module docstring."""

    session: aiohttp.ClientSession
    auth: RingCentralAuth
    timeout: float
    max_retries: int = 3
    max_retry_wait: float = 60.0  # a longer Retry-After is raised to the caller, not slept
    page_size: int = PAGE_SIZE  # records per page of list calls (RingCentral allows 1,000)
    limits: RateLimits = field(default_factory=RateLimits)
    gate: CallGate = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.auth.server_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        # Every request waits for a slot of its group in this identity's budget.
        self.gate = CallGate(self.limits)

    # -- the choke point -------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Sequence[tuple[str, str]] | None = None,
        expected: Iterable[int] = (200,),
        accept: str = "application/json",
        idempotent: bool = True,
    ) -> Answer:
        """Send one REST call; the raw answer when its status is expected, else an error."""
        url = self._url(path)
        accepted = frozenset(expected)
        attempt = 0
        refreshed = False
        token = await self.auth.access_token()
        group_of_call = call_group(method, path)
        while True:
            try:
                async with (
                    self.gate.slot(group_of_call),
                    self.session.request(
                        method,
                        url,
                        json=json,
                        params=list(params) if params else None,
                        headers={"Authorization": f"Bearer {token}", "Accept": accept},
                        timeout=aiohttp.ClientTimeout(total=self.timeout),
                    ) as response,
                ):
                    status = response.status
                    body = await response.read()
                    content_type = response.headers.get("Content-Type", "")
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    group = self.limits.record(response.headers, status, retry_after)
            except (TimeoutError, aiohttp.ClientError) as err:
                if attempt >= self.max_retries or not idempotent:
                    raise RingCentralUnavailableError(
                        f"RingCentral {method} {path}: {type(err).__name__}"
                        f" after {attempt + 1} tries"
                    ) from err
                await self._back_off(method, path, type(err).__name__, backoff_delay(attempt))
                attempt += 1
                continue
            logger.debug("ringcentral %s %s -> %s (%s)", method, path, status, group)
            if status in accepted:
                return Answer(status, content_type, body)
            problem = request_error(status, body)
            if status == 401:
                if not refreshed:
                    # Refresh once through the SDK; a refused refresh raises invalid_grant.
                    refreshed = True
                    token = await self.auth.rejected(token)
                    continue
                raise RingCentralAuthError(f"RingCentral refused the token: {problem}") from problem
            if status == 404:
                raise RingCentralNotFoundError(
                    f"RingCentral {method} {path}: {problem}"
                ) from problem
            if status == 429:
                wait = retry_after
                if wait is None:
                    wait = self.limits.reset_in(group) if group else DEFAULT_PENALTY
                if attempt >= self.max_retries or wait > self.max_retry_wait:
                    raise RingCentralRateLimitedError(
                        f"RingCentral throttled {method} {path} ({group or 'unknown group'})", wait
                    ) from problem
                logger.warning(
                    "ringcentral throttled %s %s (%s); retrying after %.1f s",
                    method,
                    path,
                    group,
                    wait,
                )
                await asyncio.sleep(wait)
                attempt += 1
                continue
            if status >= 500:
                if attempt >= self.max_retries:
                    raise RingCentralUnavailableError(
                        f"RingCentral {method} {path}: {status} after {attempt + 1} tries"
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
        logger.warning("ringcentral %s %s failed (%s); retry in %.2f s", method, path, why, delay)
        await asyncio.sleep(delay)

    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            # Navigation links come from the answer; never send our token to another host.
            if not path.startswith(self._origin + "/"):
                raise RingCentralError(f"refusing to follow a link elsewhere: {path[:80]}")
            return path
        return f"{self.auth.server_url}{path}"

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self._request(method, path, **kwargs)
        return answer.json()

    # -- directory -------------------------------------------------------------------------

    async def list_user_extensions(
        self, include_disabled: bool = False
    ) -> AsyncIterator[Extension]:
        """Every User extension (enabled only, or also disabled), a page at a time."""
        params: list[tuple[str, str]] = [("type", "User"), ("status", "Enabled")]
        if include_disabled:
            params.append(("status", "Disabled"))
        async for item in self._records(f"{ACCOUNT}/extension", params, "an extension list"):
            yield Extension.from_json(item)

    async def list_call_queues(self) -> AsyncIterator[CallQueue]:
        """Every call queue of the account (a Medium-group read per page)."""
        async for item in self._records(f"{ACCOUNT}/call-queues", [], "a call-queue list"):
            yield CallQueue.from_json(item)

    async def list_call_queue_members(self, queue_id: str) -> AsyncIterator[CallQueueMember]:
        """Every member of one call queue (a Light-group read per page)."""
        path = f"{ACCOUNT}/call-queues/{_seg(queue_id)}/members"
        async for item in self._records(path, [], "a call-queue member list"):
            yield CallQueueMember.from_json(item)

    async def _records(
        self, path: str, params: list[tuple[str, str]], what: str
    ) -> AsyncIterator[Any]:
        """The records of a paged list, following `navigation.nextPage` to the end."""
        link: str | None = path
        query: list[tuple[str, str]] | None = [
            *params,
            ("perPage", str(self.page_size)),
            ("page", "1"),
        ]
        while link:
            page = await self._json("GET", link, params=query)
            records = page.get("records") if isinstance(page, dict) else None
            if not isinstance(records, list):
                raise RingCentralError(f"RingCentral answered {what} without records")
            for item in records:
                yield item
            link = _next_page(page)
            query = None  # the navigation link carries the query

    async def current_extension(self) -> Extension:
        """The extension the tokens belong to (the JWT's owner)."""
        return Extension.from_json(await self._json("GET", f"{ACCOUNT}/extension/~"))

    # -- presence --------------------------------------------------------------------------

    async def get_presence(self, ext_id: str, detailed: bool = True) -> RcPresence:
        """One extension's presence (with call detail unless `detailed` is False)."""
        params = [("detailedTelephonyState", "true")] if detailed else None
        item = await self._json(
            "GET", f"{ACCOUNT}/extension/{_seg(ext_id)}/presence", params=params
        )
        return RcPresence.from_json(item)

    async def get_presences(self, ext_ids: Sequence[str]) -> list[RcPresence]:
        """Presence of many extensions, 30 per batch request; missing extensions are skipped."""
        ids = list(dict.fromkeys(str(i) for i in ext_ids))
        found: list[RcPresence] = []
        for start in range(0, len(ids), PRESENCE_BATCH):
            chunk = ids[start : start + PRESENCE_BATCH]
            if len(chunk) == 1:
                # A single id is not a batch: RingCentral answers 200 with one body.
                try:
                    found.append(await self.get_presence(chunk[0]))
                except RingCentralNotFoundError:
                    logger.info("ringcentral extension %s not found", chunk[0])
                continue
            answer = await self._request(
                "GET",
                f"{ACCOUNT}/extension/{','.join(_seg(i) for i in chunk)}/presence",
                params=[("detailedTelephonyState", "true")],
                expected=(207, 200),
                accept=BATCH_JSON,
            )
            found.extend(parse_batch_presences(answer.status, answer.content_type, answer.body))
        return found

    async def set_presence(
        self,
        ext_id: str,
        user_status: str | None = None,
        dnd_status: str | None = None,
        dnd_status_personal: str | None = None,
        accept_call_queue_calls: bool | None = None,
    ) -> RcPresence:
        """Change an extension's presence; only the given fields are sent."""
        body: dict[str, Any] = {}
        if user_status is not None:
            body["userStatus"] = user_status
        if dnd_status is not None:
            body["dndStatus"] = dnd_status
        if dnd_status_personal is not None:
            body["dndStatusPersonal"] = dnd_status_personal
        if accept_call_queue_calls is not None:
            body["acceptCallQueueCalls"] = accept_call_queue_calls
        if not body:
            raise ValueError("set_presence needs at least one field to change")
        item = await self._json("PUT", f"{ACCOUNT}/extension/{_seg(ext_id)}/presence", json=body)
        return RcPresence.from_json(item)

    # -- subscriptions ---------------------------------------------------------------------

    async def create_subscription(
        self,
        event_filters: Sequence[str],
        address: str,
        verification_token: str,
        expires_in: int,
    ) -> RcSubscription:
        """Create a webhook subscription (RingCentral validates `address` before answering)."""
        body = {
            "eventFilters": list(event_filters),
            "deliveryMode": {
                "transportType": "WebHook",
                "address": address,
                "verificationToken": verification_token,
            },
            "expiresIn": expires_in,
        }
        # Not repeated after a timeout: the first attempt may have created it.
        item = await self._json("POST", f"{API}/subscription", json=body, idempotent=False)
        return RcSubscription.from_json(item)

    async def renew_subscription(self, subscription_id: str) -> RcSubscription:
        """Extend a subscription by its lifetime."""
        item = await self._json("POST", f"{API}/subscription/{_seg(subscription_id)}/renew")
        return RcSubscription.from_json(item)

    async def get_subscription(self, subscription_id: str) -> RcSubscription:
        """One subscription (RingCentralNotFoundError when it is gone)."""
        item = await self._json("GET", f"{API}/subscription/{_seg(subscription_id)}")
        return RcSubscription.from_json(item)

    async def list_subscriptions(self) -> list[RcSubscription]:
        """This app's and user's subscriptions."""
        page = await self._json("GET", f"{API}/subscription")
        records = page.get("records") if isinstance(page, dict) else None
        return [RcSubscription.from_json(item) for item in records or ()]

    async def delete_subscription(self, subscription_id: str) -> bool:
        """Delete a subscription; False when it was already gone."""
        try:
            await self._request(
                "DELETE", f"{API}/subscription/{_seg(subscription_id)}", expected=(200, 204)
            )
        except RingCentralNotFoundError:
            return False
        return True


def _seg(value: str) -> str:
    return quote(str(value), safe="~")


def _next_page(page: Any) -> str | None:
    navigation = page.get("navigation") if isinstance(page, dict) else None
    nxt = navigation.get("nextPage") if isinstance(navigation, dict) else None
    uri = nxt.get("uri") if isinstance(nxt, dict) else None
    return uri if isinstance(uri, str) and uri else None
