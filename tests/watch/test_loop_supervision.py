"""A loop that hits a bug is restarted, counted in /metrics, named by /readyz and doctor,
and propagation goes on once it runs again.

The only double here: providers whose `sync_accounts()` raises TypeError on its first calls,
as a bug in the subscription review would. Everything else is the real product against the
sandbox: its webhooks, store, watchers, reconciler and RingCentral writes.
"""

from __future__ import annotations

import aiohttp

from presence_sync.doctor import check_server
from presence_sync.graph.client import GraphClient
from presence_sync.providers import RcWriter
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.tasks import LoopPolicy
from presence_sync.web.keys import SETTINGS, SUPERVISOR
from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import Product, ProductFactory, SandboxProviders, eventually, steadily
from tests.watch.test_watch_detection import SLOW_POLLING, link_people, sync_account, teams_of

LOOP = "watch-subscriptions"


class BuggyAccounts:
    """The sandbox's providers, but `sync_accounts()` raises TypeError `failures` times."""

    def __init__(self, inner: SandboxProviders, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.calls = 0

    async def graph(self) -> GraphClient:
        """The real Graph client."""
        return await self.inner.graph()

    async def ringcentral(self) -> RingCentralClient:
        """The real RingCentral client."""
        return await self.inner.ringcentral()

    async def ringcentral_writers(self) -> list[RcWriter]:
        """The real RingCentral client, the one identity."""
        return await self.inner.ringcentral_writers()

    async def sync_accounts(self) -> list[str]:
        """A bug the first `failures` times, then the real answer."""
        self.calls += 1
        if self.calls <= self.failures:
            raise TypeError("'NoneType' object is not iterable")
        return await self.inner.sync_accounts()

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Passed on."""
        await self.inner.report_failure(provider, error)


def restarts(product: Product, name: str = LOOP) -> int:
    """How often the product's supervisor restarted a loop."""
    return next(h.restarts for h in product.app[SUPERVISOR].health() if h.name == name)


async def get(product: Product, path: str) -> tuple[int, str]:
    """GET a path of the running product over HTTP."""
    async with aiohttp.ClientSession() as session, session.get(product.base_url + path) as response:
        return response.status, await response.text()


async def test_a_loop_failing_three_times_restarts_and_teams_changes_reach_ringcentral(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    buggy: list[BuggyAccounts] = []

    def wrap(inner: SandboxProviders) -> BuggyAccounts:
        buggy.append(BuggyAccounts(inner, failures=3))
        return buggy[0]

    product = await products.start(
        accounts=[sync_account(client_sandbox)],
        settings={**SLOW_POLLING, "metrics_enabled": True},
        wrap=wrap,
    )
    links = [link for link in await link_people(product, client_sandbox) if link.rc_extension_id]
    target = links[3]

    async def subscribed() -> bool:
        subs = await product.store.list_subscriptions("graph")
        return any(target.teams_user_id in s.details.user_ids for s in subs)

    # Restarted after 1, 2 and 4 s (each plus up to a quarter of jitter), then it works.
    await eventually(subscribed, within=60)
    assert restarts(product) == 3
    assert buggy[0].calls > 3
    await steadily(lambda: _observed(product, target.id))

    status, metrics = await get(product, "/metrics")
    assert status == 200
    assert f'presence_sync_loop_restarts_total{{loop="{LOOP}"}} 3.0' in metrics
    assert 'presence_sync_loop_restarts_total{loop="watch-inbox"} 0.0' in metrics
    status, ready = await get(product, "/readyz")
    assert status == 200, ready  # three restarts are survived, not a reason to stop traffic

    await client_sandbox.control(
        "POST",
        f"/_sandbox/teams/{target.upn}/presence",
        {"availability": "Busy", "activity": "Busy"},
    )

    async def notified() -> bool:
        return await teams_of(product, target.id) == ("Busy", "Busy")

    async def busy_in_ringcentral() -> bool:
        assert target.rc_extension_id
        presence = await product.providers.rc_client.get_presence(target.rc_extension_id)
        return presence.user_status == "Busy"

    await eventually(notified, within=5)  # polling is 20 s apart here: this took the webhook
    await eventually(busy_in_ringcentral, within=30)


async def test_a_loop_failing_over_and_over_makes_readyz_and_doctor_name_it(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(
        accounts=[sync_account(client_sandbox)],
        wrap=lambda inner: BuggyAccounts(inner, failures=7),
        loop_policy=LoopPolicy(first_backoff=0.05, max_backoff=0.2),
    )
    await link_people(product, client_sandbox)

    await eventually(lambda: _restarted(product, 7), within=30)

    status, ready = await get(product, "/readyz")
    assert status == 503
    assert f"background loop {LOOP} restarted 7 times in the last 5 minutes" in ready
    assert "TypeError" in ready
    check = await check_server(product.app[SETTINGS])
    assert check.status == "fail"
    assert LOOP in check.detail
    assert "traceback" in check.fix
    # The others are fine, and the failing one works again: it keeps its restarts on record.
    assert [h.name for h in product.app[SUPERVISOR].unhealthy()] == [LOOP]

    async def subscribed() -> bool:
        return bool(await product.store.list_subscriptions("graph"))

    await eventually(subscribed, within=30)


async def test_doctor_says_ready_while_every_loop_runs(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(accounts=[])

    check = await check_server(product.app[SETTINGS])

    assert check.status == "ok", check
    assert "ready at http://127.0.0.1:" in check.detail
    assert restarts(product, "watch-inbox") == 0


async def _restarted(product: Product, times: int) -> bool:
    return restarts(product) >= times


async def _observed(product: Product, link_id: str) -> bool:
    return await teams_of(product, link_id) is not None
