"""GraphClient against the sandbox: app-only tokens, users, roles, presence reads and writes."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.graph.client_sandbox import ClientSandbox

APP_ROLES = {
    "User.Read.All",
    "Directory.Read.All",
    "Presence.Read.All",
    "Presence.ReadWrite.All",
    "Mail.Send",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
}


async def test_app_token_carries_the_consented_roles(client_sandbox: ClientSandbox) -> None:
    tokens = client_sandbox.graph_tokens()
    try:
        assert await tokens.granted_roles() >= APP_ROLES
        # MSAL caches the token: asking again does not call Entra again.
        await tokens.app_token()
        assert await client_sandbox.count("entra", "POST", "/oauth2/v2.0/token") == 1
    finally:
        await tokens.close()


async def test_list_users_pages_and_skips_disabled_accounts(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    org = client_sandbox.ctx.org
    enabled = {u.id for u in org.teams_users.values() if u.account_enabled}
    disabled = {u.id for u in org.teams_users.values() if not u.account_enabled}

    seen = [user.id async for user in client.list_users()]
    everyone = [user.id async for user in client.list_users(enabled_only=False)]

    assert set(seen) == enabled
    assert len(seen) == len(set(seen))
    assert set(everyone) == enabled | disabled
    assert disabled, "the generated org has disabled accounts to leave out"


async def test_users_delta_reports_changes_since_the_last_link(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    first = await client.users_delta()
    assert {u.id for u in first.users} == set(client_sandbox.ctx.org.teams_users)

    again = await client.users_delta(first.delta_link)

    assert first.full
    assert again.users == ()
    assert again.removed_ids == ()
    assert not again.full
    assert again.delta_link


async def test_users_delta_starts_over_when_graph_forgot_the_link(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    first = await client.users_delta()
    await client_sandbox.fault({"target": "graph", "status": 410, "count": 1})

    again = await client.users_delta(first.delta_link)

    assert again.full
    assert {u.id for u in again.users} == set(client_sandbox.ctx.org.teams_users)


async def test_users_delta_starts_over_when_graph_forgot_the_sync_state(
    client_sandbox: ClientSandbox,
) -> None:
    # For directory resources Graph answers an expired delta link with 400 syncStateNotFound.
    client = client_sandbox.graph_client(client_sandbox.product_session())
    first = await client.users_delta()
    await client_sandbox.control("POST", "/_sandbox/graph/delta/forget")

    again = await client.users_delta(first.delta_link)

    assert again.full
    assert {u.id for u in again.users} == set(client_sandbox.ctx.org.teams_users)


async def test_user_roles_name_the_global_administrator(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    admin = next(u for u in client_sandbox.ctx.org.teams_users.values() if u.roles)

    roles = await client.user_roles(admin.id)

    assert {r.display_name for r in roles} == set(admin.roles)
    assert all(r.role_template_id for r in roles)


@pytest.mark.parametrize("sandbox_options", [{"users": 1300}])
async def test_presence_batch_of_1300_users_takes_two_calls(
    client_sandbox: ClientSandbox,
) -> None:
    sandbox = client_sandbox
    client = sandbox.graph_client(sandbox.product_session())
    ids = list(sandbox.ctx.org.teams_users)[:1300]

    presences = await client.get_presences(ids)

    assert {p.id for p in presences} == set(ids)
    assert await sandbox.count("graph", "POST", "/communications/getPresencesByUserId") == 2


async def test_set_and_clear_presence_show_in_the_users_presence(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _signed_in_user(client_sandbox)

    await client.set_presence(user, "Busy", "InACall", dt.timedelta(minutes=10))
    during = await client.get_presence(user)
    cleared = await client.clear_presence(user)
    again = await client.clear_presence(user)

    assert (during.availability, during.activity) == ("Busy", "InACall")
    assert cleared is True
    assert again is False  # Graph's 404 for a session already gone means "already cleared"


async def test_preferred_presence_overrides_and_clears(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = _signed_in_user(client_sandbox)

    await client.set_preferred_presence(user, "DoNotDisturb", "DoNotDisturb")
    during = await client.get_presence(user)
    await client.clear_preferred_presence(user)
    after = await client.get_presence(user)

    assert during.availability == "DoNotDisturb"
    assert after.availability != "DoNotDisturb"


def _signed_in_user(sandbox: ClientSandbox) -> str:
    """A user whose Teams client is signed in and Available, so sessions aggregate visibly."""
    for user in sandbox.ctx.org.teams_users.values():
        sessions = user.presence.sessions
        if (
            user.account_enabled
            and sessions
            and all(s.availability == "Available" for s in sessions.values())
        ):
            return user.id
    raise AssertionError("the generated org has no signed-in Available user")
