"""A seeded, bounded fuzz of every webhook of the running product, connected to the sandbox.

2,000 hostile variations of a genuine delivery go to each webhook (Graph change notifications,
plain and sealed; Graph lifecycle events; RingCentral events; bot activities, half of them
signed by the channel), 8 in flight at a time, followed by a gzip bomb and oversized headers.
(8,000 requests take 19-42 s on the shared 2-core machine.)
None may answer 5xx, leave a traceback in the log or make anything raise where no caller
sees it (an exception "ignored" in a finaliser), and afterwards a Teams meeting must still
reach RingCentral and a RingCentral call must still reach Teams.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import logging
import random
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import pytest

from presence_sync.demo.server import ProductServer
from presence_sync.graph.validation import CHANGE_TRACKING_APP_ID
from presence_sync.web.keys import STORE, SUPERVISOR, WATCHERS
from sandbox.graph.crypto import encrypt_resource, load_certificate
from sandbox.server import RunningSandbox
from sandbox.teams_client import activity_for, channel_token
from tests.fuzz.strategies import hostile_body
from tests.sync.through_product import connected_product, person, plain_person, rc_status_becomes
from tests.watch.harness import eventually

pytestmark = pytest.mark.timeout(240)

SEED = 20261202
PER_WEBHOOK = 2000
IN_FLIGHT = 8
# An activity keeps its routing genuine when signed: the channel signs only what it routes.
ROUTING = frozenset({"serviceUrl", "conversation", "recipient", "channelId"})


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small organisation: the fuzz needs a victim and a bystander."""
    return {"users": 6}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product connected through its consent routes, everyone synced."""
    async with connected_product(sandbox, tmp_path, reconcile_interval=300.0) as server:
        yield server


class Log(logging.Handler):
    """Every record the server logs while the fuzz runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        """Records that carry a traceback, by message."""
        return [
            f"{r.name}: {r.getMessage()}"
            for r in self.records
            if r.exc_info is not None or "Traceback" in r.getMessage()
        ]


class Ignored:
    """Exceptions raised where no caller sees them (finalisers, callbacks), described safely.

    Described as they happen, with no repr of the object or formatting of the traceback:
    either can fail on the very condition that made the exception (a stack near its limit).
    """

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, unraisable: sys.UnraisableHookArgs) -> None:
        tb, where = unraisable.exc_traceback, "?"
        while tb is not None:
            code = tb.tb_frame.f_code
            where, tb = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}", tb.tb_next
        frame: FrameType | None = sys._getframe()
        depth = 0
        while frame is not None:
            frame, depth = frame.f_back, depth + 1
        self.seen.append(
            f"{getattr(unraisable.exc_type, '__name__', unraisable.exc_type)} "
            f"({unraisable.err_msg or 'ignored'} in a {type(unraisable.object).__name__}) "
            f"raised at {where}, {depth} frames deep"
        )


async def templates(
    sandbox: RunningSandbox, product: ProductServer, victim: dict[str, Any]
) -> dict[str, tuple[str, Any, dict[str, str], frozenset[str]]]:
    """Genuine deliveries about `victim`: (path, body, headers, fields kept genuine) each."""
    store = product.app[STORE].store

    async def subscribed() -> bool:
        kinds = {s.provider for s in await store.list_subscriptions()}
        return {"graph", "ringcentral"} <= kinds

    await eventually(subscribed, within=30)
    (graph, *_) = await store.list_subscriptions("graph")
    (rc, *_) = await store.list_subscriptions("ringcentral")
    teams_id = str(victim["teams"]["id"])
    extension = str(victim["ringcentral"]["id"])
    cert = await product.app[WATCHERS].certificate()
    resource = {
        "@odata.type": "#Microsoft.Graph.presence",
        "id": teams_id,
        "availability": "Busy",
        "activity": "InACall",
        "sequenceNumber": f"{10**12:020d}",
    }
    item = {
        "subscriptionId": graph.id,
        "clientState": graph.client_state,
        "changeType": "updated",
        "resource": f"communications/presences('{teams_id}')",
        "resourceData": {"@odata.type": "#Microsoft.Graph.presence", "id": teams_id},
        "subscriptionExpirationDateTime": "2026-11-27T04:00:00.0000000Z",
        "tenantId": sandbox.ctx.org.tenant_id,
    }
    validation = sandbox.ctx.entra_tokens.issue(
        {
            "aud": sandbox.config.app_client_id,
            "azp": CHANGE_TRACKING_APP_ID,
            "appid": CHANGE_TRACKING_APP_ID,
            "tid": sandbox.ctx.org.tenant_id,
        },
        3600,
        now=sandbox.ctx.clock.now(),
    )
    sealed = {
        "value": [
            {
                **item,
                "encryptedContent": encrypt_resource(
                    load_certificate(cert.certificate_b64, cert.certificate_id), resource
                ),
            }
        ],
        "validationTokens": [validation],
    }
    lifecycle = {
        "value": [
            {
                "subscriptionId": graph.id,
                # Not the subscription's: a genuine "missed" makes the product read everyone.
                "clientState": "not-the-client-state",
                "lifecycleEvent": "missed",
                "resource": "/communications/presences",
                "tenantId": sandbox.ctx.org.tenant_id,
            }
        ]
    }
    event = {
        "uuid": "6a1c1b2e-5a1f-4b9e-9f55-0d1e6f3c2a10",
        "event": f"/restapi/v1.0/account/~/extension/{extension}/presence",
        "timestamp": "2026-12-02T10:00:00.000Z",
        "subscriptionId": rc.id,
        "ownerId": str(victim["ringcentral"].get("id", "")),
        "body": {
            "extensionId": extension,
            "telephonyStatus": "NoCall",
            "sequence": 1,
            "presenceStatus": "Available",
            "userStatus": "Available",
            "dndStatus": "TakeAllCalls",
        },
    }
    user = sandbox.ctx.org.teams_user_by_email(str(victim["email"]))
    assert user is not None
    activity = activity_for(sandbox.ctx, user, "message")
    activity["text"] = "help"
    json_type = {"Content-Type": "application/json"}
    return {
        "graph": ("/api/notifications/graph", {"value": [item]}, json_type, frozenset()),
        "graph-sealed": ("/api/notifications/graph", sealed, json_type, frozenset()),
        "lifecycle": ("/api/notifications/graph/lifecycle", lifecycle, json_type, frozenset()),
        "ringcentral": (
            "/api/notifications/ringcentral",
            event,
            {**json_type, "Verification-Token": rc.client_state or ""},
            frozenset(),
        ),
        "bot": ("/api/messages", activity, json_type, frozenset()),
        "bot-signed": (
            "/api/messages",
            activity,
            {**json_type, "Authorization": f"Bearer {channel_token(sandbox.ctx)}"},
            ROUTING,
        ),
    }


def deliveries(
    plans: dict[str, tuple[str, Any, dict[str, str], frozenset[str]]],
) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    """PER_WEBHOOK seeded bodies per webhook, interleaved: (name, path, body, headers)."""
    rng = random.Random(SEED)
    share = {"graph": 0.5, "graph-sealed": 0.5, "bot": 0.5, "bot-signed": 0.5}
    counts = {name: round(PER_WEBHOOK * share.get(name, 1.0)) for name in plans}
    order = [name for name, count in counts.items() for _ in range(count)]
    rng.shuffle(order)
    for name in order:
        path, template, headers, keep = plans[name]
        yield name, path, hostile_body(rng, template, keep), headers


async def fuzz(
    http: aiohttp.ClientSession, base: str, work: Iterator[tuple[str, str, bytes, dict[str, str]]]
) -> dict[str, dict[int, int]]:
    """Send everything `work` yields, IN_FLIGHT at a time; statuses counted per webhook."""
    seen: dict[str, dict[int, int]] = {}
    spent: dict[str, float] = {}

    async def worker() -> None:
        for name, path, body, headers in work:  # shared: each request is taken once
            began = time.monotonic()
            async with http.post(f"{base}{path}", data=body, headers=headers) as answer:
                await answer.read()
            spent[name] = spent.get(name, 0.0) + time.monotonic() - began
            counts = seen.setdefault(name, {})
            counts[answer.status] = counts.get(answer.status, 0) + 1

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    print("seconds in flight per webhook:", {k: round(v, 1) for k, v in spent.items()})
    return seen


async def extremes(http: aiohttp.ClientSession, base: str) -> list[int]:
    """A gzip bomb, an oversized header and a flood of headers: their statuses."""
    bomb = gzip.compress(b'{"value": [' + b" " * (50 * 1024 * 1024) + b"]}")
    statuses = []
    async with http.post(
        f"{base}/api/notifications/graph",
        data=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    ) as answer:
        statuses.append(answer.status)
    for headers in (
        {"Verification-Token": "v" * 20_000},
        {f"X-Flood-{i}": "x" * 100 for i in range(300)},
    ):
        async with http.post(
            f"{base}/api/notifications/ringcentral", data=b"{}", headers=headers
        ) as answer:
            statuses.append(answer.status)
    return statuses


async def act(sandbox: RunningSandbox, path: str, action: str) -> None:
    """A person does something in Teams or RingCentral (through the sandbox)."""
    status, answer = await sandbox.control("POST", path, {"action": action})
    assert status == 200, answer


async def teams_shows(sandbox: RunningSandbox, email: str, activity: str, within: float) -> None:
    """Wait until Teams shows `email` with `activity` (fail after `within` s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        presence = (await person(sandbox, email))["teams"]["presence"] or {}
        if presence.get("activity") == activity:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"Teams never showed {email} {activity}")


async def test_thousands_of_hostile_deliveries_break_nothing_and_sync_goes_on(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    bystander = await plain_person(sandbox)
    _, state = await sandbox.control("GET", "/_sandbox/state")
    victim = next(
        p
        for p in state["users"]
        if p.get("teams")
        and p.get("ringcentral")
        and p["email"] != bystander["email"]
        and not str(p["email"]).startswith(("admin", "teams.admin", "sync"))
    )
    plans = await templates(sandbox, product, victim)
    log = Log()
    root = logging.getLogger()
    root.addHandler(log)
    ignored, hook = Ignored(), sys.unraisablehook

    def both(unraisable: sys.UnraisableHookArgs) -> None:
        ignored(unraisable)
        hook(unraisable)

    sys.unraisablehook = both
    started = time.monotonic()
    try:
        connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
        async with aiohttp.ClientSession(connector=connector) as http:
            seen = await fuzz(http, product.url, deliveries(plans))
            extreme = await extremes(http, product.url)
        gc.collect()  # finalisers of what the fuzz left behind run now, under the hook
    finally:
        root.removeHandler(log)
        sys.unraisablehook = hook
    took = time.monotonic() - started

    failures = {name: {s: n for s, n in c.items() if s >= 500} for name, c in seen.items()}
    assert all(not f for f in failures.values()), failures
    assert sum(sum(c.values()) for c in seen.values()) == PER_WEBHOOK * 4
    # Each webhook saw refusals and acceptances both: the bodies reached its parser.
    for name in ("graph", "ringcentral", "bot-signed"):
        assert any(400 <= s < 500 for s in seen[name]), (name, seen[name])
        assert any(200 <= s < 300 for s in seen[name]), (name, seen[name])
    assert extreme[0] == 413
    assert all(400 <= s < 500 for s in extreme[1:]), extreme
    assert log.tracebacks() == []
    assert ignored.seen == []
    assert all(h.restarts == 0 for h in product.app[SUPERVISOR].health())
    print(f"fuzz: {PER_WEBHOOK * 4} requests in {took:.1f} s: {seen}")

    # Sync goes on both ways, for someone the fuzz never named.
    email = str(bystander["email"])
    await act(sandbox, f"/_sandbox/teams/{email}/meeting", "start")
    await rc_status_becomes(sandbox, email, "Busy", within=30)
    await act(sandbox, f"/_sandbox/teams/{email}/meeting", "end")
    await rc_status_becomes(sandbox, email, "Available", within=30)
    await act(sandbox, f"/_sandbox/ringcentral/{email}/call", "connect")
    await teams_shows(sandbox, email, "InACall", within=30)
