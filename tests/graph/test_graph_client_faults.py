"""How GraphClient behaves when Graph throttles, fails, hangs or consent is withdrawn."""

from __future__ import annotations

import time

import pytest

from presence_sync.errors import GraphRateLimitedError, GraphUnavailableError
from presence_sync.graph.auth import EntraError
from presence_sync.graph.errors import GraphPermissionError
from tests.graph.client_sandbox import ClientSandbox

PRESENCE_ROUTE = "/users/{id}/presence"


def _user(sandbox: ClientSandbox) -> str:
    return next(u.id for u in sandbox.ctx.org.teams_users.values() if u.account_enabled)


async def test_throttled_call_waits_for_retry_after_then_succeeds(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _user(client_sandbox)
    await client.get_presence(user)  # token in hand, so only the Graph call is timed
    await client_sandbox.fault({"target": "graph", "status": 429, "retry_after": 2, "count": 1})

    started = time.monotonic()
    presence = await client.get_presence(user)
    waited = time.monotonic() - started

    assert presence.id == user
    assert waited >= 2.0  # never earlier than Graph asked
    assert waited < 4.0
    assert client.budget.snapshot().throttled_total == 1
    assert await client_sandbox.count("graph", "GET", PRESENCE_ROUTE) == 3


async def test_retry_after_beyond_the_bound_is_handed_to_the_caller(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session(), max_retry_wait=30)
    await client_sandbox.fault({"target": "graph", "status": 429, "retry_after": 120, "count": 1})

    started = time.monotonic()
    with pytest.raises(GraphRateLimitedError) as throttled:
        await client.get_presence(_user(client_sandbox))

    assert throttled.value.retry_after == 120
    assert time.monotonic() - started < 2.0
    assert client.budget.snapshot().retry_after > 100


async def test_503_is_retried_to_the_bound_then_reported_unavailable(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session(), max_retries=2)
    user = _user(client_sandbox)
    await client_sandbox.fault({"target": "graph", "status": 503, "count": 3})

    with pytest.raises(GraphUnavailableError):
        await client.get_presence(user)
    after_failure = await client_sandbox.count("graph", "GET", PRESENCE_ROUTE)
    recovered = await client.get_presence(user)

    assert after_failure == 3  # one try and two retries, no more
    assert recovered.id == user


async def test_503_fewer_times_than_the_bound_is_absorbed(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session(), max_retries=2)
    user = _user(client_sandbox)
    await client_sandbox.fault({"target": "graph", "status": 503, "count": 2})

    presence = await client.get_presence(user)

    assert presence.id == user


async def test_hanging_graph_times_out_within_the_bound_and_nothing_wedges(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(
        client_sandbox.product_session(), timeout=0.3, max_retries=2
    )
    user = _user(client_sandbox)
    await client.get_presence(user)
    await client_sandbox.fault({"target": "graph", "delay_ms": 2000})

    started = time.monotonic()
    with pytest.raises(GraphUnavailableError):
        await client.get_presence(user)
    elapsed = time.monotonic() - started
    await client_sandbox.clear_faults()
    recovered = await client.get_presence(user)

    # 3 tries of 0.3 s plus at most 0.5 + 1.0 s of backoff.
    assert elapsed < 3 * 0.3 + 1.5 + 0.5
    assert recovered.id == user


async def test_revoked_consent_raises_an_auth_error_that_breaks_the_connection(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _user(client_sandbox)
    await client.get_presence(user)
    await client_sandbox.fault({"revoke": "microsoft-consent"})

    with pytest.raises(EntraError) as refused:
        await client.get_presence(user)

    assert refused.value.consent_missing
    assert refused.value.breaks_connection
    assert refused.value.code == "unauthorized_client"


async def test_budget_counts_requests_in_the_window(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _user(client_sandbox)

    for _ in range(5):
        await client.get_presence(user)

    snapshot = client.budget.snapshot()
    assert snapshot.requests_in_window == 5
    assert snapshot.throttled_total == 0


async def test_entra_outage_is_unavailable_not_a_broken_connection(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _user(client_sandbox)
    await client_sandbox.fault({"target": "entra", "status": 503, "count": 1})

    with pytest.raises(GraphUnavailableError):
        await client.get_presence(user)
    recovered = await client.get_presence(user)

    assert recovered.id == user


async def test_forbidden_is_a_permission_error_and_not_retried(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _user(client_sandbox)
    await client_sandbox.fault({"target": "graph", "status": 403, "count": 1})

    with pytest.raises(GraphPermissionError) as refused:
        await client.get_presence(user)

    assert refused.value.message  # Graph's own words reach the admin
    assert await client_sandbox.count("graph", "GET", PRESENCE_ROUTE) == 1
