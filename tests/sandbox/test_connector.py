"""The Bot Connector: conversations and activities need the bot's own token."""

from __future__ import annotations

from typing import Any

from sandbox.server import RunningSandbox
from sandbox.teams_client import chat_id_for

ADMIN = "admin@contoso.example"


async def _token(sandbox: RunningSandbox, client_id: str, secret: str, scope: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "scope": scope}
    url = sandbox.url(f"/entra/{sandbox.config.tenant_id}/oauth2/v2.0/token")
    async with sandbox.http.post(url, data=form) as response:
        return str((await response.json())["access_token"])


async def _bot_token(sandbox: RunningSandbox) -> str:
    return await _token(sandbox, sandbox.config.bot_app_id, sandbox.config.bot_app_secret,
                        "https://api.botframework.com/.default")


async def _call(sandbox: RunningSandbox, method: str, path: str, token: str | None,
                body: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with sandbox.http.request(method, sandbox.url(f"/connector{path}"), json=body,
                                    headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def _install_app(sandbox: RunningSandbox, user_id: str) -> None:
    """Install the product's Teams app for a user through Graph, as the product does."""
    await sandbox.control("POST", "/_sandbox/consent", {"granted": True})
    token = await _token(sandbox, sandbox.config.app_client_id, sandbox.config.app_client_secret,
                         "https://graph.microsoft.com/.default")
    headers = {"Authorization": f"Bearer {token}"}
    graph = sandbox.url("/graph/v1.0")
    query = "$filter=externalId eq 'presence-sync-manifest'"
    async with sandbox.http.get(f"{graph}/appCatalogs/teamsApps?{query}",
                                headers=headers) as response:
        catalog_id = (await response.json())["value"][0]["id"]
    bind = {"teamsApp@odata.bind": f"{graph}/appCatalogs/teamsApps/{catalog_id}"}
    async with sandbox.http.post(f"{graph}/users/{user_id}/teamwork/installedApps",
                                 json=bind, headers=headers) as response:
        assert response.status == 201, await response.text()


def _create_body(sandbox: RunningSandbox, member: str) -> dict[str, Any]:
    return {"bot": {"id": f"28:{sandbox.config.bot_app_id}"}, "members": [{"id": member}],
            "channelData": {"tenant": {"id": sandbox.config.tenant_id}}}


async def test_a_proactive_conversation_is_the_users_personal_chat(
    sandbox: RunningSandbox,
) -> None:
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    token = await _bot_token(sandbox)
    status, refused = await _call(sandbox, "POST", "/v3/conversations", token,
                                  _create_body(sandbox, user.id))
    assert status == 403  # the app is not installed for the user yet
    assert "roster" in refused["error"]["message"]
    await _install_app(sandbox, user.id)
    status, created = await _call(sandbox, "POST", "/v3/conversations", token,
                                  _create_body(sandbox, user.id))
    assert status == 201
    assert created["id"] == chat_id_for(sandbox.ctx, user)
    status, sent = await _call(
        sandbox, "POST", f"/v3/conversations/{created['id']}/activities", token,
        {"type": "message", "text": "Your presence is now synced."},
    )
    assert status == 201
    status, _ = await _call(
        sandbox, "PUT", f"/v3/conversations/{created['id']}/activities/{sent['id']}", token,
        {"type": "message", "text": "Your presence is no longer synced."},
    )
    assert status == 200
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    [message] = chats["messages"]
    assert message["text"] == "Your presence is no longer synced."
    assert message["updated"] is not None
    status, members = await _call(
        sandbox, "GET", f"/v3/conversations/{created['id']}/members", token, None
    )
    assert status == 200
    assert members[0]["aadObjectId"] == user.id
    assert members[0]["userPrincipalName"] == ADMIN
    status, member = await _call(
        sandbox, "GET", f"/v3/conversations/{created['id']}/members/{members[0]['id']}", token,
        None,
    )
    assert status == 200
    assert member["email"] == ADMIN
    status, paged = await _call(
        sandbox, "GET", f"/v3/conversations/{created['id']}/pagedmembers", token, None
    )
    assert status == 200
    assert paged["members"] == members


async def test_the_connector_refuses_missing_and_foreign_tokens(sandbox: RunningSandbox) -> None:
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    body = _create_body(sandbox, user.id)
    status, refused = await _call(sandbox, "POST", "/v3/conversations", None, body)
    assert status == 401
    assert refused["message"] == "Authorization has been denied for this request."
    await sandbox.control("POST", "/_sandbox/consent", {"granted": True})
    graph_token = await _token(sandbox, sandbox.config.app_client_id,
                               sandbox.config.app_client_secret,
                               "https://graph.microsoft.com/.default")
    status, _ = await _call(sandbox, "POST", "/v3/conversations", graph_token, body)
    assert status == 401
    product_bot_token = await _token(sandbox, sandbox.config.app_client_id,
                                     sandbox.config.app_client_secret,
                                     "https://api.botframework.com/.default")
    status, _ = await _call(sandbox, "POST", "/v3/conversations", product_bot_token, body)
    assert status == 403
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    assert chats["messages"] == []


async def test_unknown_members_and_conversations_are_not_found(sandbox: RunningSandbox) -> None:
    token = await _bot_token(sandbox)
    status, body = await _call(sandbox, "POST", "/v3/conversations", token,
                               _create_body(sandbox, "29:nobody"))
    assert status == 404
    assert body["error"]["code"] == "MemberNotFound"
    status, body = await _call(sandbox, "POST", "/v3/conversations/a:nope/activities", token,
                               {"type": "message", "text": "x"})
    assert status == 404
    assert body["error"]["code"] == "ConversationNotFound"


async def _throttled_post(sandbox: RunningSandbox, path: str, token: str,
                          body: Any) -> tuple[int, str | None, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with sandbox.http.post(sandbox.url(f"/connector{path}"), json=body,
                                 headers=headers) as response:
        return (response.status, response.headers.get("Retry-After"),
                await response.json(content_type=None))


async def test_a_send_fault_throttles_what_the_bot_sends_until_it_is_spent(
    sandbox: RunningSandbox,
) -> None:
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    await _install_app(sandbox, user.id)
    token = await _bot_token(sandbox)
    chat = chat_id_for(sandbox.ctx, user)
    message = {"type": "message", "text": "Your presence is now synced."}
    status, _ = await sandbox.control(
        "POST", "/_sandbox/faults",
        {"target": "connector-sends", "status": 429, "retry_after": 1, "count": 2},
    )
    assert status == 200
    status, retry_after, body = await _throttled_post(
        sandbox, "/v3/conversations", token, _create_body(sandbox, user.id))
    assert (status, retry_after) == (429, "1")
    assert body["error"]["code"] == "TooManyRequests"
    # Reads are not sends: the bot can still look at the chat while it is throttled.
    status, _ = await _call(sandbox, "GET", f"/v3/conversations/{chat}/members", token, None)
    assert status == 200
    status, retry_after, _ = await _throttled_post(
        sandbox, f"/v3/conversations/{chat}/activities", token, message)
    assert (status, retry_after) == (429, "1")
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    assert chats["messages"] == []  # a throttled send changes nothing
    _, faults = await sandbox.control("GET", "/_sandbox/faults")
    assert faults["faults"] == []
    status, created = await _call(sandbox, "POST", "/v3/conversations", token,
                                  _create_body(sandbox, user.id))
    assert (status, created["id"]) == (201, chat)
    status, _ = await _call(sandbox, "POST", f"/v3/conversations/{chat}/activities", token,
                            message)
    assert status == 201
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    assert [m["text"] for m in chats["messages"]] == ["Your presence is now synced."]
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    assert counts["total_throttled"] == 2


async def test_a_send_fault_on_a_fraction_keeps_only_the_accepted_messages(
    sandbox: RunningSandbox,
) -> None:
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    token = await _bot_token(sandbox)
    chat = chat_id_for(sandbox.ctx, user)
    await sandbox.control("POST", "/_sandbox/faults",
                          {"target": "connector-sends", "status": 429, "retry_after": 1,
                           "fraction": 0.5})
    statuses = []
    for n in range(20):
        status, _ = await _call(sandbox, "POST", f"/v3/conversations/{chat}/activities", token,
                                {"type": "message", "text": f"notice {n}"})
        statuses.append(status)
    assert set(statuses) == {201, 429}
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    accepted = [f"notice {n}" for n, status in enumerate(statuses) if status == 201]
    assert [m["text"] for m in chats["messages"]] == accepted


async def test_the_tab_sso_token_exchanges_on_behalf_of_the_user(sandbox: RunningSandbox) -> None:
    await sandbox.control("POST", "/_sandbox/consent", {"granted": True})
    _, sso = await sandbox.control("POST", f"/_sandbox/teams/{ADMIN}/sso-token", {})
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_id": sandbox.config.app_client_id,
            "client_secret": sandbox.config.app_client_secret,
            "assertion": sso["token"], "requested_token_use": "on_behalf_of",
            "scope": "https://graph.microsoft.com/User.Read"}
    url = sandbox.url(f"/entra/{sandbox.config.tenant_id}/oauth2/v2.0/token")
    async with sandbox.http.post(url, data=form) as response:
        body = await response.json()
    assert response.status == 200, body
    claims = sandbox.ctx.entra_tokens.verify(body["access_token"], "https://graph.microsoft.com",
                                             now=sandbox.ctx.clock.now())
    assert claims["preferred_username"] == ADMIN
    assert claims["scp"] == "User.Read"
