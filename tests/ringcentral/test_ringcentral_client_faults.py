"""How RingCentralClient behaves when RingCentral throttles, fails, hangs or revokes tokens."""

from __future__ import annotations

import asyncio
import time

import pytest

from presence_sync.errors import (
    RingCentralAuthError,
    RingCentralRateLimitedError,
    RingCentralUnavailableError,
)
from presence_sync.providers import REALTIME
from presence_sync.ringcentral.errors import RingCentralTokenError
from presence_sync.ringcentral.gate import calls_at
from tests.graph.client_sandbox import ClientSandbox

PRESENCE_ROUTE = "/extension/{extensionId}/presence"


def _user(sandbox: ClientSandbox) -> str:
    return next(
        e.id
        for e in sandbox.ctx.org.rc_extensions.values()
        if e.type == "User" and e.status == "Enabled"
    )


async def test_throttled_call_waits_for_retry_after_then_succeeds(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    ext = _user(client_sandbox)
    await client.get_presence(ext)  # logged in, so only the REST call is timed
    await client_sandbox.fault(
        {"target": "ringcentral", "status": 429, "retry_after": 2, "count": 1}
    )

    started = time.monotonic()
    presence = await client.get_presence(ext)
    waited = time.monotonic() - started

    assert presence.extension_id == ext
    assert 2.0 <= waited < 4.0
    assert await client_sandbox.count("ringcentral", "GET", PRESENCE_ROUTE) == 3


async def test_group_penalty_beyond_the_bound_is_handed_to_the_caller(
    client_sandbox: ClientSandbox,
) -> None:
    # Another process signed in as the same RingCentral user spends the Medium group (40
    # presence PUTs a minute); this client has not seen that, so its first PUT draws the 429
    # that starts RingCentral's 60 s penalty.
    other = client_sandbox.rc_client(client_sandbox.product_session())
    client = client_sandbox.rc_client(client_sandbox.product_session(), max_retry_wait=10)
    ext = _user(client_sandbox)
    with calls_at(REALTIME):
        for n in range(40):
            await other.set_presence(ext, user_status="Busy" if n % 2 else "Available")
    assert other.limits.remaining("Medium") == 0
    with pytest.raises(RingCentralRateLimitedError) as throttled:
        await client.set_presence(ext, user_status="Available")

    assert throttled.value.retry_after >= 50
    assert client.limits.remaining("Medium") == 0
    assert client.limits.reset_in("Medium") >= 50
    assert client.limits.remaining("Light") is None  # other groups are not penalised


async def test_a_spent_group_is_waited_for_not_sent_into(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    ext = _user(client_sandbox)
    with calls_at(REALTIME):
        for n in range(40):
            await client.set_presence(ext, user_status="Busy" if n % 2 else "Available")
    assert client.limits.remaining("Medium") == 0
    refused = await client_sandbox.limits_refused()

    # The 41st waits for the window to pass instead of drawing a 429 and its penalty.
    with calls_at(REALTIME), pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            await client.set_presence(ext, user_status="Available")

    assert await client_sandbox.limits_refused() == refused
    assert client.gate.waiting() == 0  # the abandoned call left no waiter behind


async def test_503_is_retried_to_the_bound_then_reported_unavailable(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session(), max_retries=2)
    ext = _user(client_sandbox)
    await client.get_presence(ext)
    await client_sandbox.fault({"target": "ringcentral", "status": 503, "count": 3})

    with pytest.raises(RingCentralUnavailableError):
        await client.get_presence(ext)
    recovered = await client.get_presence(ext)

    assert await client_sandbox.count("ringcentral", "GET", PRESENCE_ROUTE) == 1 + 3 + 1
    assert recovered.extension_id == ext


async def test_hanging_ringcentral_times_out_within_the_bound_and_nothing_wedges(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session(), timeout=0.3, max_retries=2)
    ext = _user(client_sandbox)
    await client.get_presence(ext)
    await client_sandbox.fault({"target": "ringcentral", "delay_ms": 2000})

    started = time.monotonic()
    with pytest.raises(RingCentralUnavailableError):
        await client.get_presence(ext)
    elapsed = time.monotonic() - started
    await client_sandbox.clear_faults()
    recovered = await client.get_presence(ext)

    assert elapsed < 3 * 0.3 + 1.5 + 0.5
    assert recovered.extension_id == ext


async def test_revoked_tokens_raise_invalid_grant(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    ext = _user(client_sandbox)
    await client.get_presence(ext)
    await client_sandbox.fault({"revoke": "ringcentral-token"})

    with pytest.raises(RingCentralAuthError) as refused:
        await client.get_presence(ext)

    assert isinstance(refused.value, RingCentralTokenError)
    assert refused.value.code == "invalid_grant"
    assert refused.value.breaks_connection


async def test_admin_login_after_revocation_recovers_without_restart(
    client_sandbox: ClientSandbox,
) -> None:
    auth = client_sandbox.rc_auth()
    client = client_sandbox.rc_client(client_sandbox.product_session(), auth)
    ext = _user(client_sandbox)
    await client.get_presence(ext)
    await client_sandbox.fault({"revoke": "ringcentral-token"})
    with pytest.raises(RingCentralTokenError):
        await client.get_presence(ext)

    await auth.login()  # what re-authorising the connection does
    presence = await client.get_presence(ext)

    assert presence.extension_id == ext


@pytest.mark.parametrize("sandbox_options", [{"rc_mode": "chs"}])
async def test_communication_handling_accounts_report_their_own_fields(
    client_sandbox: ClientSandbox,
) -> None:
    sandbox = client_sandbox
    client = sandbox.rc_client(sandbox.product_session())
    ext = _user(sandbox)

    written = await client.set_presence(
        ext, dnd_status_personal="DoNotAcceptAnyCalls", accept_call_queue_calls=False
    )

    assert written.mode == "chs"
    assert written.dnd_status is None
    assert (written.dnd_status_personal, written.accept_call_queue_calls) == (
        "DoNotAcceptAnyCalls",
        False,
    )


@pytest.mark.parametrize("sandbox_options", [{"time_scale": 1800.0}])
async def test_access_token_expired_early_is_refreshed_once_on_401(
    client_sandbox: ClientSandbox,
) -> None:
    # At this speed RingCentral's hour-long access token dies after two real seconds, while
    # the SDK still believes it valid: the 401 path has to refresh it.
    sandbox = client_sandbox
    client = sandbox.rc_client(sandbox.product_session())
    ext = _user(sandbox)
    await client.get_presence(ext)

    await asyncio.sleep(2.2)
    presence = await client.get_presence(ext)

    assert presence.extension_id == ext
    assert await sandbox.count("ringcentral", "POST", "/oauth/token") == 2  # login + refresh
