"""Properties of every webhook: any variation of a genuine delivery is answered 2xx or 4xx.

Never a 5xx, never a traceback in the log, and a refused delivery changes nothing the store
holds. The variations start from genuine deliveries (the fixture files, with the right
subscription ids, secrets, validation tokens and sealed content), so many reach the deepest
parser (the decrypted presence, the RingCentral event body) before something is wrong.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import _Draw as Draw
from tests.fuzz.strategies import bodies, encoded, variants
from tests.web import test_webhooks as delivered
from tests.web.test_webhooks import RC_TOKEN, Hooks, fixture, hooks, presence

__all__ = ["hooks"]

GRAPH = "/api/notifications/graph"
LIFECYCLE = "/api/notifications/graph/lifecycle"
RINGCENTRAL = "/api/notifications/ringcentral"

IDS = {
    "subscription_id": delivered.GRAPH_SUB,
    "client_state": delivered.CLIENT_STATE,
    "user_id": delivered.USER,
}
PLAIN = fixture("graph", "presence_changed_without_data", **IDS)
MISSED = fixture("graph", "lifecycle_missed", **IDS)
RC_EVENT = fixture(
    "ringcentral",
    "extension_presence",
    subscription_id=delivered.RC_SUB,
    extension_id=delivered.EXTENSION,
)
RESOURCE = presence("Busy", "InACall", 40)

# Each property runs this many examples: together the folder stays within its time budget.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def settled(hooks: Hooks) -> tuple[Any, ...]:
    """The store once what earlier examples queued and marked dirty has been worked off."""
    await hooks.watchers.inbox.join()
    now = await hooks.snapshot()
    for _ in range(40):
        await asyncio.sleep(0.05)
        again = await hooks.snapshot()
        if again == now:
            break
        now = again
    return now


async def deliver(hooks: Hooks, path: str, body: bytes, caplog: pytest.LogCaptureFixture) -> int:
    """POST `body`; assert the property; the status."""
    before = await settled(hooks)
    caplog.clear()
    response = await hooks.client.post(
        path,
        data=body,
        headers={"Content-Type": "application/json", "Verification-Token": RC_TOKEN},
    )
    await response.read()
    assert response.status < 500, await response.text()
    assert 200 <= response.status < 300 or 400 <= response.status < 500
    if response.status >= 400:
        await hooks.watchers.inbox.join()
        *observed, dirty = await hooks.snapshot()
        # Reconciliation may still be working off what an earlier example marked dirty.
        assert (observed, dirty <= before[-1]) == (list(before[:-1]), True), response.status
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) <= 1, [r.getMessage() for r in warnings]
    assert all(r.exc_info is None for r in caplog.records), caplog.text
    assert "Traceback" not in caplog.text
    return response.status


PLAIN_BODIES = {
    "a plain change notification": (GRAPH, PLAIN),
    "a lifecycle event": (LIFECYCLE, MISSED),
    "a RingCentral event": (RINGCENTRAL, RC_EVENT),
}


@pytest.mark.parametrize("case", list(PLAIN_BODIES))
@FUZZ
@given(data=st.data())
async def test_any_variation_of_a_delivery_is_answered_2xx_or_4xx(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, case: str, data: st.DataObject
) -> None:
    path, template = PLAIN_BODIES[case]
    await deliver(hooks, path, data.draw(bodies(template)), caplog)


@FUZZ
@given(resource=variants(RESOURCE), data=st.data())
async def test_encrypted_change_notifications(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, resource: Any, data: st.DataObject
) -> None:
    genuine = hooks.change(
        encrypted_content=await hooks.sealed(resource),
        **IDS,
    )
    pick = Draw(data.draw)
    envelope = data.draw(variants(genuine)) if data.draw(st.booleans()) else genuine
    await deliver(hooks, GRAPH, encoded(pick, envelope), caplog)

