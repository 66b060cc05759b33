"""Properties of the other edges: bot activities, OAuth callback parameters, tab API bodies.

Whatever arrives is either parsed into checked values or refused with a 4xx that changes
nothing; never an exception, never a 5xx, never a traceback in the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings

from bot.activity import MAX_TEXT, checked_activity
from presence_sync.errors import ValidationError
from presence_sync.untrusted import parse_json
from presence_sync.web.callback import checked_params
from sandbox.server import RunningSandbox
from tests.connections.product import ProductServer
from tests.fuzz.strategies import bodies, callback_queries
from tests.tab_api import conftest as tab
from tests.tab_api.conftest import TabClient
from tests.web.test_webhooks import Hooks, hooks

__all__ = ["hooks"]

T = TypeVar("T")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ACTIVITY = json.loads((FIXTURES / "teams" / "message_html.json").read_text())
INVOKE = {
    **ACTIVITY,
    "type": "invoke",
    "name": "adaptiveCard/action",
    "value": {"action": {"type": "Action.Execute", "verb": "rulesSave", "data": {"version": 1}}},
}
CALLBACKS = (
    "/connect/microsoft/consent/callback",
    "/connect/microsoft/sync-account/callback",
    "/connect/ringcentral/oauth/callback",
    "/tab/auth/callback",
)
QUICK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings(QUICK, max_examples=25)


def outcome(parse: Callable[[], T]) -> tuple[T | None, str | None]:
    """What `parse` returned, or the message of the ValidationError it raised."""
    try:
        return parse(), None
    except ValidationError as err:
        return None, str(err)


def clean(caplog: pytest.LogCaptureFixture) -> None:
    """No traceback, and at most the one line naming the problem."""
    assert all(r.exc_info is None for r in caplog.records), caplog.text
    assert "Traceback" not in caplog.text
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= 1, [r.getMessage() for r in warnings]


# -- bot activities ---------------------------------------------------------------------


@QUICK
@given(body=bodies(ACTIVITY) | bodies(INVOKE))
def test_an_activity_is_checked_or_refused_by_name(body: bytes) -> None:
    activity, refusal = outcome(lambda: checked_activity(parse_json(body, "the activity")))
    if refusal is not None:
        assert refusal.startswith(("the activity", "the body"))
        return
    assert activity is not None
    # What passes holds only what the bot can store and answer safely.
    assert isinstance(activity.type, str)
    assert activity.text is None or (
        isinstance(activity.text, str) and len(activity.text) <= MAX_TEXT
    )
    sender = activity.from_property
    if sender is not None and sender.aad_object_id:
        assert len(sender.aad_object_id) <= 64
        assert sender.aad_object_id.replace("-", "").isalnum()
    assert activity.conversation is not None
    assert str(activity.service_url).startswith(("https://", "http://"))


# -- OAuth callback parameters ----------------------------------------------------------


@QUICK
@given(pairs=callback_queries())
def test_callback_parameters_are_checked_or_refused_by_name(pairs: list[tuple[str, str]]) -> None:
    params, refusal = outcome(lambda: checked_params(pairs))
    if refusal is not None:
        assert "callback parameter" in refusal
        return
    assert params is not None
    assert set(params) <= {name for name, _ in pairs} - {"unrelated"}
    for value in params.values():
        value.encode("utf-8")  # valid Unicode: the store and the log can hold it
        assert len(value) <= 16384


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(
        f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'))}" for name, value in pairs
    )


@FUZZ
@given(pairs=callback_queries())
async def test_no_callback_request_without_a_started_sign_in_changes_anything(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, pairs: list[tuple[str, str]]
) -> None:
    store = hooks.store
    before = [await store.list_connections(), await store.list_audit()]
    for path in CALLBACKS:
        caplog.clear()
        response = await hooks.client.get(f"{path}?{_query(pairs)}")
        await response.read()
        # Nothing was started, so nothing can be finished: refused, whatever was sent.
        assert 400 <= response.status < 500, (path, response.status)
        clean(caplog)
    assert [await store.list_connections(), await store.list_audit()] == before


# -- tab API bodies ---------------------------------------------------------------------

product = tab.product
admin = tab.admin

SANDBOX_USERS = {"users": 6}


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small organisation."""
    return SANDBOX_USERS


@pytest.fixture
async def seen(product: ProductServer) -> Any:
    """The product's store."""
    return await product.store()


async def _state(store: Any) -> tuple[Any, ...]:
    settings_now = await store.get_settings()
    # Audit entries are left out: a job an earlier example started may still be adding some.
    return (settings_now, len(await store.list_jobs(limit=100)))


TAB_BODIES = (
    ("PUT", "/api/tab/rules", {"version": 0, "customisation": True, "rules": {"busy": "accept"}}),
    ("POST", "/api/tab/people/unsync", {"ids": ["link-000", "link-001"]}),
    ("POST", "/api/tab/rules/reset", {"version": 0}),
)


@FUZZ
@given(
    rules=bodies(TAB_BODIES[0][2]),
    unsync=bodies(TAB_BODIES[1][2]),
    reset=bodies(TAB_BODIES[2][2]),
)
async def test_tab_api_bodies_are_applied_or_refused_without_a_change(
    sandbox: RunningSandbox,
    admin: TabClient,
    seen: Any,
    caplog: pytest.LogCaptureFixture,
    rules: bytes,
    unsync: bytes,
    reset: bytes,
) -> None:
    for (method, path, _), body in zip(TAB_BODIES, (rules, unsync, reset), strict=True):
        before = await _state(seen)
        caplog.clear()
        status, answer = await admin.call_raw(method, path, body)
        assert status < 500, (path, status, answer)
        if status >= 400:
            assert await _state(seen) == before, (path, status, answer)
        clean(caplog)
