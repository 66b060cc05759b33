"""Provider refusals reach the dispatcher as the clients' typed errors, and mean what they did.

The dispatcher runs with the real clients against the sandbox: RingCentral's 400 naming the
field it refused, and Graph's 403 for a missing permission, come back to the engine as the
same failure reasons as before, and nothing changes on either platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from presence_sync.engine import (
    FailureReason,
    SetRingCentralPresence,
    SetTeamsSession,
    WriteApplied,
    WriteFailed,
)
from presence_sync.graph import APP_TOKEN, GraphPermissionError
from presence_sync.providers import REALTIME
from presence_sync.ringcentral import RingCentralFieldRefusedError
from presence_sync.sync.dispatcher import Dispatcher, DispatchResult, WriteTarget
from presence_sync.tasks import Supervisor
from sandbox.model import RcExtension
from tests.graph.client_sandbox import ClientSandbox
from tests.sync.harness import SandboxProviders, sandbox_providers


@dataclass
class Seen:
    """What the dispatcher handed back and what it reported to the connection owner."""

    results: list[WriteApplied | WriteFailed] = field(default_factory=list)
    reported: list[tuple[str, BaseException]] = field(default_factory=list)


@dataclass
class ReportingProviders(SandboxProviders):
    """The sandbox's real clients, keeping every reported failure itself."""

    seen: Seen = field(default_factory=Seen)

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Keep the error for assertions."""
        self.seen.reported.append((provider, error))


@pytest.fixture
async def providers(client_sandbox: ClientSandbox) -> ReportingProviders:
    """Real Graph and RingCentral clients over the sandbox."""
    real = sandbox_providers(client_sandbox)
    return ReportingProviders(real.graph_client, real.rc_client)


@pytest.fixture
async def dispatcher(
    client_sandbox: ClientSandbox, providers: ReportingProviders
) -> AsyncIterator[Dispatcher]:
    """A running dispatcher whose results are kept in `providers.seen`."""

    async def on_result(
        target: WriteTarget,
        outcome: WriteApplied | WriteFailed,
        priority: int,
        message: str,
        opened: str | None,
    ) -> None:
        providers.seen.results.append(outcome)

    running = Dispatcher(providers, on_result, clock=client_sandbox.ctx.clock.now)
    supervisor = Supervisor()
    supervisor.start(running.loops())
    yield running
    await supervisor.stop()
    await running.stop()


def _outside_every_queue(sb: ClientSandbox) -> RcExtension:
    org = sb.ctx.org
    return next(
        e
        for e in org.rc_extensions.values()
        if e.type == "User"
        and e.status == "Enabled"
        and e.email
        and not e.queue_ids
        and all(e.id not in q.member_ids for q in org.call_queues.values())
    )


def _target(sb: ClientSandbox, extension: RcExtension) -> WriteTarget:
    teams = next(
        u
        for u in sb.ctx.org.teams_users.values()
        if u.account_enabled
        and (u.mail or u.user_principal_name).lower() == (extension.email or "").lower()
    )
    return WriteTarget(f"link-{extension.id}", teams.user_principal_name, teams.id, extension.id)


async def _send(dispatcher: Dispatcher, target: WriteTarget, *commands: object) -> DispatchResult:
    return await dispatcher.submit(target, list(commands), REALTIME)  # type: ignore[arg-type]


async def test_refused_queue_call_rule_is_named_for_the_engine_and_changes_nothing(
    client_sandbox: ClientSandbox, providers: ReportingProviders, dispatcher: Dispatcher
) -> None:
    loner = _outside_every_queue(client_sandbox)
    before = await providers.rc_client.get_presence(loner.id)
    with pytest.raises(RingCentralFieldRefusedError) as refused:
        await providers.rc_client.set_presence(loner.id, dnd_status="DoNotAcceptDepartmentCalls")
    assert refused.value.parameter == "dndStatus"
    rule = SetRingCentralPresence(user_status="Busy", dnd_status="DoNotAcceptDepartmentCalls")

    result = await _send(dispatcher, _target(client_sandbox, loner), rule)

    assert [(c, reason) for c, reason, _ in result.failed] == [
        (rule, FailureReason.QUEUE_CALLS_NOT_ALLOWED.value)
    ]
    assert providers.seen.results == [
        WriteFailed(rule, FailureReason.QUEUE_CALLS_NOT_ALLOWED.value)
    ]
    after = await providers.rc_client.get_presence(loner.id)
    assert (after.user_status, after.dnd_status) == (before.user_status, before.dnd_status)
    assert providers.seen.reported == []  # a refused value is no connection problem


async def test_another_refused_field_is_a_rejected_write(
    client_sandbox: ClientSandbox, providers: ReportingProviders, dispatcher: Dispatcher
) -> None:
    loner = _outside_every_queue(client_sandbox)
    wrong = SetRingCentralPresence(user_status="Sleeping")

    result = await _send(dispatcher, _target(client_sandbox, loner), wrong)

    assert [(c, reason) for c, reason, _ in result.failed] == [
        (wrong, FailureReason.REJECTED.value)
    ]
    assert providers.seen.reported == []


async def test_graph_permission_refusal_fails_the_write_and_is_reported_with_its_token(
    client_sandbox: ClientSandbox, providers: ReportingProviders, dispatcher: Dispatcher
) -> None:
    person = _outside_every_queue(client_sandbox)
    target = _target(client_sandbox, person)
    before = await providers.graph_client.get_presence(target.teams_user_id)
    session = SetTeamsSession("Busy", "InACall", 300, cause="ringcentral call")
    await client_sandbox.fault({"target": "graph", "status": 403, "count": 1})

    result = await _send(dispatcher, target, session)

    assert [(c, reason) for c, reason, _ in result.failed] == [
        (session, FailureReason.UNAVAILABLE.value)
    ]
    [(provider, error)] = providers.seen.reported
    assert provider == "microsoft"
    assert isinstance(error, GraphPermissionError)
    assert error.token == APP_TOKEN
    assert error.message  # Graph's own words, for the admin
    shown = await providers.graph_client.get_presence(target.teams_user_id)
    assert (shown.availability, shown.activity) == (before.availability, before.activity)

    again = await _send(dispatcher, target, session)  # the engine's next try

    assert again.applied == (session,)
    shown = await providers.graph_client.get_presence(target.teams_user_id)
    assert (shown.availability, shown.activity) == ("Busy", "InACall")
