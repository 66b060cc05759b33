"""Users: paging, $select/$filter/$top, lookup, delta with control-API changes, roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Factory = Callable[..., Awaitable[Any]]  # the make_graph fixture

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
TEAMS_ADMIN = "69091246-20e8-4a56-aa4d-066075b2a7a8"


async def test_paging_walks_every_user_once(make_graph: Factory) -> None:
    g = await make_graph(extra_users=246)  # 250 in all
    seen: list[str] = []
    link: str | None = "/users?$select=id,userPrincipalName,accountEnabled&$top=100"
    pages = 0
    while link:
        status, body, _ = await g.call("GET", link)
        assert status == 200
        pages += 1
        seen.extend(user["id"] for user in body["value"])
        assert set(body["value"][0]) == {"id", "userPrincipalName", "accountEnabled"}
        link = body.get("@odata.nextLink")
        if link:
            assert link.startswith(g.url)
            assert "$skiptoken=" in link
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250


async def test_query_options_are_checked(make_graph: Factory) -> None:
    g = await make_graph()
    status, body, _ = await g.call("GET", "/users?$top=1000")
    assert status == 400
    assert "999" in body["error"]["message"]
    status, body, _ = await g.call("GET", "/users?$filter=startswith(displayName,'A')")
    assert status == 400
    assert body["error"]["code"] == "Request_UnsupportedQuery"
    status, body, _ = await g.call("GET", "/users?$select=id,shoeSize")
    assert status == 400
    assert "shoeSize" in body["error"]["message"]

    status, body, _ = await g.call(
        "GET", "/users?$filter=accountEnabled eq true&$select=userPrincipalName"
    )
    assert status == 200
    names = sorted(u["userPrincipalName"] for u in body["value"])
    assert names == ["alice@contoso.example", "bob@contoso.example", "carol@contoso.example"]

    status, body, _ = await g.call("GET", "/users")
    assert "accountEnabled" not in body["value"][0]  # not a default property
    assert body["value"][0]["userPrincipalName"]


async def test_unknown_paths_answer_graph_errors(make_graph: Factory) -> None:
    g = await make_graph()
    status, body, _ = await g.call("GET", "/groups")
    assert status == 400
    assert body["error"]["message"] == "Resource not found for the segment 'groups'."


async def test_users_are_found_by_id_or_upn(make_graph: Factory) -> None:
    g = await make_graph()
    carol = g.user("carol")
    for key in (carol.id, "Carol@Contoso.example"):
        status, body, _ = await g.call("GET", f"/users/{key}")
        assert (status, body["id"]) == (200, carol.id)
    status, body, _ = await g.call("GET", "/users/nobody@contoso.example")
    assert status == 404
    assert body["error"]["code"] == "Request_ResourceNotFound"
    status, body, _ = await g.call("GET", "/me", token=g.user_token("bob"))
    assert body["userPrincipalName"] == "bob@contoso.example"


async def test_delta_reports_only_what_changed(make_graph: Factory) -> None:
    g = await make_graph(extra_users=6)  # 10 users
    link: str | None = "/users/delta?$select=id,displayName,accountEnabled"
    first_round: list[str] = []
    delta_link = None
    while link:
        _, body, _ = await g.call("GET", link, headers={"Prefer": "odata.maxpagesize=4"})
        first_round.extend(u["id"] for u in body["value"])
        link = body.get("@odata.nextLink")
        delta_link = body.get("@odata.deltaLink")
    assert len(first_round) == 10
    assert delta_link is not None

    _, body, _ = await g.call("GET", delta_link)
    assert body["value"] == []

    status, _ = await g.control(
        "POST",
        "/_sandbox/teams/users",
        json={"userPrincipalName": "erin@contoso.example", "displayName": "Erin New"},
    )
    assert status == 201
    status, _ = await g.control(
        "PATCH",
        "/_sandbox/teams/users/carol@contoso.example",
        json={"displayName": "Carol Renamed", "accountEnabled": False},
    )
    assert status == 200
    removed_id = g.user("bob").id
    status, _ = await g.control("DELETE", "/_sandbox/teams/users/bob@contoso.example")
    assert status == 204

    _, body, _ = await g.call("GET", delta_link)
    changes = {u["id"]: u for u in body["value"]}
    assert len(changes) == 3
    assert changes[removed_id]["@removed"] == {"reason": "changed"}
    assert changes[g.user("carol").id]["displayName"] == "Carol Renamed"
    assert changes[g.user("carol").id]["accountEnabled"] is False
    erin = g.ctx.org.teams_user_by_email("erin@contoso.example")
    assert changes[erin.id]["displayName"] == "Erin New"
    assert set(changes[erin.id]) == {"id", "displayName", "accountEnabled"}  # $select remembered

    _, after, _ = await g.call("GET", body["@odata.deltaLink"])
    assert after["value"] == []
    status, _, _ = await g.call("GET", f"/users/{removed_id}")
    assert status == 404


async def test_delta_from_now_and_forgotten_sync_state(make_graph: Factory) -> None:
    g = await make_graph()
    _, body, _ = await g.call("GET", "/users/delta?$deltatoken=latest&$select=id,displayName")
    assert body["value"] == []
    latest = body["@odata.deltaLink"]
    await g.control(
        "PATCH", "/_sandbox/teams/users/carol@contoso.example", json={"displayName": "C. Chen"}
    )
    _, body, _ = await g.call("GET", latest)
    assert [(u["id"], u["displayName"]) for u in body["value"]] == [(g.user("carol").id, "C. Chen")]

    status, _ = await g.control("POST", "/_sandbox/graph/delta/forget")
    assert status == 200
    status, body, _ = await g.call("GET", body["@odata.deltaLink"])
    assert status == 400
    assert body["error"]["code"] == "syncStateNotFound"
    status, body, _ = await g.call("GET", "/users/delta")
    assert status == 200
    assert len(body["value"]) == 4


async def test_organization_names_the_tenant(make_graph: Factory) -> None:
    g = await make_graph()
    for token in (g.app_token(), g.user_token("carol", scopes="User.Read")):
        status, body, _ = await g.call("GET", "/organization", token=token)
        assert status == 200
        (org,) = body["value"]
        assert org["id"] == g.ctx.org.tenant_id
        assert org["verifiedDomains"][0]["name"] == "contoso.example"


async def test_member_of_lists_directory_roles(make_graph: Factory) -> None:
    g = await make_graph()
    _, body, _ = await g.call("GET", f"/users/{g.user('alice').id}/memberOf")
    (role,) = body["value"]
    assert role["@odata.type"] == "#microsoft.graph.directoryRole"
    assert (role["displayName"], role["roleTemplateId"]) == ("Global Administrator", GLOBAL_ADMIN)
    _, body, _ = await g.call("GET", f"/users/{g.user('bob').id}/memberOf")
    assert [r["roleTemplateId"] for r in body["value"]] == [TEAMS_ADMIN]
    _, body, _ = await g.call("GET", f"/users/{g.user('carol').id}/memberOf")
    assert body["value"] == []
    await g.control(
        "PATCH",
        "/_sandbox/teams/users/carol@contoso.example",
        json={"roles": ["Teams Administrator"]},
    )
    _, body, _ = await g.call("GET", f"/users/{g.user('carol').id}/memberOf")
    assert [r["roleTemplateId"] for r in body["value"]] == [TEAMS_ADMIN]


async def test_directory_control_refuses_bad_input(make_graph: Factory) -> None:
    g = await make_graph()
    status, body = await g.control(
        "POST", "/_sandbox/teams/users", json={"displayName": "No Address"}
    )
    assert status == 400
    assert "userPrincipalName" in body["error"]
    status, body = await g.control(
        "POST", "/_sandbox/teams/users", json={"userPrincipalName": "ALICE@contoso.example"}
    )
    assert status == 409
    status, body = await g.control(
        "PATCH", "/_sandbox/teams/users/carol@contoso.example", json={"accountEnabled": "no"}
    )
    assert status == 400
    assert g.user("carol").account_enabled is True
    status, body = await g.control("DELETE", "/_sandbox/teams/users/zed@contoso.example")
    assert status == 404
    assert "zed@contoso.example" in body["error"]
