"""RingCentral webhook subscriptions: the store, the Validation-Token handshake, delivery.

Delivery rules emulated here:
- one POST per presence change per subscription watching the extension, with the
  `Verification-Token` header when the subscriber set one, in change order (a per-subscription
  lock keeps order; injected faults may drop, duplicate, delay or reorder);
- an answer other than 2xx, a connection failure or an answer slower than 3 s counts as a
  failure; `BLACKLIST_AFTER` consecutive failures blacklist the subscription (status
  "Blacklisted", delivery stops); a success resets the count;
- subscriptions expire on the sandbox clock and then disappear (GET answers 404).

Who may watch whom: the account-level presence filter (`/account/~/presence`) needs company-wide
presence rights, which only the account's admin holds; anyone else is refused 403 CMN-408 and
has to list one extension filter per user. The control switch
`POST /_sandbox/ringcentral/permissions {"account_presence": false}` withdraws the right from
the admin too (an account whose admin role lacks it).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from sandbox.context import SandboxContext
from sandbox.model import RcExtension
from sandbox.ringcentral.api import invalid_parameter, iso, rest_error
from sandbox.ringcentral.status import PresenceSettings, event_body, is_user

logger = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 3.0  # real seconds, as RingCentral's 3000 ms
DELIVERY_TIMEOUT = 3.0
BLACKLIST_AFTER = 10
MAX_PER_USER = 30
DEFAULT_EXPIRES_IN = 604800
MAX_EXPIRES_IN = 315360000  # WebHook transport: 10 years
_EXT_FILTER = re.compile(r"^/restapi/v1\.0/account/([^/?]+)/extension/([^/?]+)/presence(\?.*)?$")
_ACCOUNT_FILTER = re.compile(r"^/restapi/v1\.0/account/([^/?]+)/presence(\?.*)?$")
_QUERY_FLAGS = frozenset({"detailedTelephonyState", "sipData", "aggregated"})


@dataclass(frozen=True)
class PresenceFilter:
    """One parsed event filter: an extension's presence, or the whole account's (None)."""

    text: str
    extension_id: str | None
    detailed: bool


@dataclass
class Subscription:
    """One WebHook subscription."""

    id: str
    client_id: str
    owner_id: str
    filters: list[PresenceFilter]
    address: str
    verification_token: str | None
    expires_in: int
    creation_time: float
    expires_at: float
    status: str = "Active"
    failures: int = 0
    delivered: int = 0
    failed: int = 0
    blacklisted_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def info(self, base: str, now: float) -> dict[str, Any]:
        """SubscriptionInfo as RingCentral answers it (the verificationToken is not echoed)."""
        body: dict[str, Any] = {
            "uri": f"{base}/restapi/v1.0/subscription/{self.id}",
            "id": self.id,
            "creationTime": iso(self.creation_time),
            "status": self.status,
            "eventFilters": [f.text for f in self.filters],
            "expirationTime": iso(self.expires_at),
            "expiresIn": max(0, round(self.expires_at - now)),
            "deliveryMode": {
                "transportType": "WebHook",
                "encryption": False,
                "address": self.address,
            },
        }
        if self.blacklisted_at is not None:
            body["blacklistedData"] = {
                "blacklistedAt": iso(self.blacklisted_at),
                "reason": "Webhook responses failed or were too slow",
            }
        return body

    def matching(self, ext_id: str) -> PresenceFilter | None:
        """The filter that makes this subscription watch `ext_id`, preferring detailed ones."""
        hits = [f for f in self.filters if f.extension_id in (None, ext_id)]
        hits.sort(key=lambda f: not f.detailed)
        return hits[0] if hits else None


@dataclass
class SubscriptionStore:
    """Every subscription of the sandbox account, and their deliveries."""

    ctx: SandboxContext
    settings_of: Callable[[RcExtension], PresenceSettings]
    blacklist_after: int = BLACKLIST_AFTER
    admin_id: str = ""  # the only user allowed the account-level filter ("" = everyone)
    account_presence: bool = True  # whether even the admin may use it
    _subs: dict[str, Subscription] = field(default_factory=dict)
    _own_http: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def http(self) -> aiohttp.ClientSession:
        """The sandbox's outbound session, or one of our own when none was provided."""
        if self.ctx.http is not None:
            return self.ctx.http
        if self._own_http is None or self._own_http.closed:
            self._own_http = aiohttp.ClientSession()
        return self._own_http

    async def close(self) -> None:
        """Stop pending deliveries and close our own session, if any."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_http is not None:
            await self._own_http.close()

    def _purge(self) -> None:
        now = self.ctx.clock.now()
        for sub_id in [s.id for s in self._subs.values() if s.expires_at <= now]:
            logger.info("RingCentral subscription %s expired", sub_id)
            del self._subs[sub_id]

    def all(self) -> list[Subscription]:
        """Every unexpired subscription."""
        self._purge()
        return list(self._subs.values())

    def owned(self, client_id: str, owner_id: str) -> list[Subscription]:
        """Unexpired subscriptions of one app and user."""
        return [s for s in self.all() if s.client_id == client_id and s.owner_id == owner_id]

    def get(self, sub_id: str) -> Subscription | None:
        """An unexpired subscription by id."""
        self._purge()
        return self._subs.get(sub_id)

    def remove(self, sub_id: str) -> bool:
        """Delete a subscription; whether it existed."""
        return self._subs.pop(sub_id, None) is not None

    def parse_filters(self, raw: Any, owner_id: str) -> list[PresenceFilter]:
        """Validated presence event filters, or CMN-101 naming the bad one."""
        if not isinstance(raw, list) or not raw or not all(isinstance(f, str) for f in raw):
            raise invalid_parameter("eventFilters", raw, "must be a non-empty list of strings")
        org = self.ctx.org
        parsed: list[PresenceFilter] = []
        for text in raw:
            ext_match = _EXT_FILTER.match(text)
            acct_match = _ACCOUNT_FILTER.match(text)
            match = ext_match or acct_match
            if match is None or match.group(1) not in ("~", org.rc_account_id):
                raise invalid_parameter("eventFilters", text, "unsupported event filter")
            query = (ext_match.group(3) if ext_match else match.group(2)) or ""
            flags = _flags(query, text)
            ext_id: str | None = None
            if ext_match is None and not self.may_watch_account(owner_id):
                raise rest_error(
                    403,
                    "CMN-408",
                    "In order to call this API endpoint, user needs to have "
                    "[ReadPresenceStatus] permission for requested resource.",
                )
            if ext_match is not None:
                ext_id = owner_id if ext_match.group(2) == "~" else ext_match.group(2)
                if ext_id not in org.rc_extensions:
                    raise invalid_parameter("eventFilters", text, f"extension {ext_id} not found")
            parsed.append(PresenceFilter(text, ext_id, flags.get("detailedTelephonyState", False)))
        return parsed

    def may_watch_account(self, owner_id: str) -> bool:
        """Whether `owner_id` may subscribe to the whole account's presence."""
        return self.account_presence and (not self.admin_id or owner_id == self.admin_id)

    async def handshake(self, address: Any) -> str:
        """Validate a WebHook address the way RingCentral does before creating a subscription."""
        if not isinstance(address, str) or not re.match(r"^https?://[^/\s]+", address):
            raise invalid_parameter("deliveryMode.address", address, "must be an http(s) URL")
        token = str(uuid.uuid4())
        invalid = rest_error(
            400,
            "SUB-521",
            "Parameter [deliveryMode.address] value is invalid",
            "deliveryMode.address",
            address,
        )
        try:
            async with self.http().post(
                address,
                headers={"Validation-Token": token, "Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=HANDSHAKE_TIMEOUT),
            ) as resp:
                status, echoed = resp.status, resp.headers.get("Validation-Token")
        except (aiohttp.ClientError, TimeoutError) as err:
            # Only the host: webhook addresses often carry a secret in their query.
            logger.info("RingCentral webhook handshake with %s failed: %s", _host(address), err)
            raise invalid from err
        if status != 200:
            logger.info("RingCentral webhook handshake with %s answered %d", _host(address), status)
            raise invalid
        if echoed != token:
            raise rest_error(400, "SUB-520", "Validation Token is not returned")
        return address

    def add(
        self,
        client_id: str,
        owner_id: str,
        filters: list[PresenceFilter],
        address: str,
        verification_token: str | None,
        expires_in: int,
    ) -> Subscription:
        """Store a validated subscription (the per-user quota is checked here)."""
        if len(self.owned(client_id, owner_id)) >= MAX_PER_USER:
            raise rest_error(
                400, "SUB-406", f"Subscriptions limit exceeded: at most {MAX_PER_USER} per user"
            )
        now = self.ctx.clock.now()
        sub = Subscription(
            id=str(uuid.uuid4()),
            client_id=client_id,
            owner_id=owner_id,
            filters=filters,
            address=address,
            verification_token=verification_token,
            expires_in=expires_in,
            creation_time=now,
            expires_at=now + expires_in,
        )
        self._subs[sub.id] = sub
        return sub

    def publish(self, ext: RcExtension) -> None:
        """Send a presence event for `ext` to every active subscription watching it."""
        if not is_user(ext):
            return
        items: list[tuple[Subscription, dict[str, Any]]] = []
        for sub in self.all():
            match = sub.matching(ext.id)
            if sub.status != "Active" or match is None:
                continue
            items.append((sub, self._event(sub, match, ext)))
        if not items:
            return
        plan = self.ctx.faults.shape_notifications("ringcentral-notifications", items)
        for delay, (sub, payload) in plan:
            task = self.ctx.spawn(self._deliver(sub, payload, delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _event(self, sub: Subscription, match: PresenceFilter, ext: RcExtension) -> dict[str, Any]:
        account = self.ctx.org.rc_account_id
        if match.extension_id is None:
            event = f"/restapi/v1.0/account/{account}/presence"
        else:
            event = f"/restapi/v1.0/account/{account}/extension/{ext.id}/presence"
        if match.detailed:
            event += "?detailedTelephonyState=true"
        settings = self.settings_of(ext)
        return {
            "uuid": str(uuid.uuid4()),
            "event": event,
            "timestamp": iso(self.ctx.clock.now()),
            "subscriptionId": sub.id,
            "ownerId": sub.owner_id,
            "body": event_body(ext, settings, self.ctx.org.rc_mode, sub.owner_id, match.detailed),
        }

    async def _deliver(self, sub: Subscription, payload: dict[str, Any], delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        headers = {"Content-Type": "application/json"}
        if sub.verification_token:
            headers["Verification-Token"] = sub.verification_token
        async with sub.lock:
            if sub.status != "Active" or sub.id not in self._subs:
                return
            try:
                async with self.http().post(
                    sub.address,
                    json=payload,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT),
                ) as resp:
                    ok = 200 <= resp.status < 300
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                sub.failures = 0
                sub.delivered += 1
                return
            sub.failures += 1
            sub.failed += 1
            if sub.failures >= self.blacklist_after:
                self.blacklist(sub)

    def blacklist(self, sub: Subscription) -> None:
        """Stop delivering to `sub` for good, as RingCentral does after failed deliveries."""
        sub.status = "Blacklisted"
        sub.blacklisted_at = self.ctx.clock.now()
        logger.warning(
            "RingCentral subscription %s blacklisted after %d failed deliveries",
            sub.id,
            sub.failures,
        )


def _host(address: str) -> str:
    return urlsplit(address).netloc


def _flags(query: str, text: str) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    for part in filter(None, query.lstrip("?").split("&")):
        name, _, value = part.partition("=")
        if name not in _QUERY_FLAGS or value.lower() not in ("true", "false"):
            raise invalid_parameter("eventFilters", text, f"unsupported filter parameter {name!r}")
        flags[name] = value.lower() == "true"
    return flags


def verification_token(token: Any) -> str | None:
    """A subscriber's verificationToken if acceptable (RingCentral allows up to 64 chars)."""
    if token is None:
        return None
    if not isinstance(token, str) or not 0 < len(token) <= 64:
        raise invalid_parameter("deliveryMode.verificationToken", None, "must be 1-64 characters")
    return token
