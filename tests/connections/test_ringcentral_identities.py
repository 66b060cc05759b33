"""More RingCentral identities: an admin adds RingCentral users presence writes are spread
across (a JWT credential or an OAuth sign-in), sees them, removes them; every refusal names
its reason and stores nothing. Against the sandbox's RingCentral, over real HTTP."""

from __future__ import annotations

import pytest

from presence_sync.connections.records import rc_identity_kind
from sandbox.model import RcExtension
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN, Browser, ProductServer, control

IDENTITIES = "/api/tab/ringcentral/identities"


@pytest.fixture
async def product(product: ProductServer, browser: Browser) -> ProductServer:
    """A product server whose main RingCentral connection is made (the account's admin)."""
    status, body = await browser.call("POST", f"{product.url}/connect/ringcentral")
    assert status == 200, body
    return product


def rc_user(sandbox: RunningSandbox, index: int) -> RcExtension:
    """An enabled RingCentral user with an email who is not the account's admin (index ≥ 1)."""
    users = [
        e
        for e in sandbox.ctx.org.rc_extensions.values()
        if e.type == "User" and e.status == "Enabled" and e.email
    ]
    return users[index]


async def credential_of(sandbox: RunningSandbox, user: RcExtension, *, edit: bool = True) -> str:
    """A JWT credential RingCentral issued for `user`, with or without the Edit Presence right."""
    issued = await control(
        sandbox,
        "POST",
        "/_sandbox/ringcentral/identities",
        {"email": user.email, "edit_presence": edit},
    )
    return str(issued["jwt"])


async def identities(browser: Browser, product: ProductServer) -> list[dict[str, object]]:
    status, body = await browser.call("GET", f"{product.url}{IDENTITIES}")
    assert status == 200, body
    return list(body["identities"])


async def test_an_identity_added_by_jwt_is_listed_audited_and_writes(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox, 2)
    jwt = await credential_of(sandbox, user)

    status, added = await browser.call("POST", f"{product.url}{IDENTITIES}", {"jwt": jwt})

    assert status == 201, added
    assert (added["extensionId"], added["email"], added["state"]) == (
        user.id,
        user.email,
        "connected",
    )
    assert added["mode"] == "jwt"
    assert [i["extensionId"] for i in await identities(browser, product)] == [user.id]
    # The same row on the connections' status and the tab's overview.
    status, overview = await browser.call("GET", f"{product.url}/api/tab/status")
    assert [i["email"] for i in overview["ringcentralIdentities"]] == [user.email]
    entries = await (await product.store()).list_audit(limit=10)
    added_entries = [e for e in entries if e.action == "ringcentral-identity-added"]
    assert [(e.actor, e.details["extension"]) for e in added_entries] == [(ADMIN, user.id)]
    # Presence writes may now go out as the main connection or as the new user.
    writers = await product.connections.ringcentral_writers()
    assert [w.name for w in writers] == ["ringcentral", rc_identity_kind(user.id)]
    me = await writers[1].client.current_extension()
    assert me.id == user.id
    # Nothing secret is shown: the credential stays in the store, sealed.
    assert jwt not in str(added)
    assert jwt not in str(overview)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "jwt"),
        ({"jwt": ""}, "jwt"),
        ({"jwt": 42}, "jwt"),
        ({"jwt": "two words"}, "one line"),
        ({"jwt": "x" * 9000}, "8192"),
        ({"jwt": "abc", "password": "hunter2"}, "unknown field password"),
    ],
)
async def test_bad_input_is_refused_naming_the_problem(
    product: ProductServer, browser: Browser, body: dict[str, object], named: str
) -> None:
    status, answer = await browser.call("POST", f"{product.url}{IDENTITIES}", body)

    assert status == 400, answer
    assert named in answer["error"]["message"]
    assert await identities(browser, product) == []


async def test_a_user_without_the_right_to_edit_presence_is_refused(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox, 3)
    jwt = await credential_of(sandbox, user, edit=False)

    status, answer = await browser.call("POST", f"{product.url}{IDENTITIES}", {"jwt": jwt})

    assert status == 422, answer
    assert "Edit Presence" in answer["error"]["message"]
    assert str(user.email) in answer["error"]["message"]
    assert await identities(browser, product) == []


async def test_the_main_connections_own_user_and_a_forged_credential_are_refused(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    own = sandbox.config.rc_jwt
    status, answer = await browser.call("POST", f"{product.url}{IDENTITIES}", {"jwt": own})
    assert status == 422, answer
    assert "main RingCentral connection already" in answer["error"]["message"]

    forged = await credential_of(sandbox, rc_user(sandbox, 4))
    forged = forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB")
    status, answer = await browser.call("POST", f"{product.url}{IDENTITIES}", {"jwt": forged})
    assert status == 422, answer
    assert await identities(browser, product) == []


async def test_removing_an_identity_stops_its_writes_and_a_second_removal_is_404(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox, 5)
    status, _ = await browser.call(
        "POST", f"{product.url}{IDENTITIES}", {"jwt": await credential_of(sandbox, user)}
    )
    assert status == 201

    removed, _ = await browser.call("DELETE", f"{product.url}{IDENTITIES}/{user.id}")
    again, answer = await browser.call("DELETE", f"{product.url}{IDENTITIES}/{user.id}")
    bad, bad_answer = await browser.call("DELETE", f"{product.url}{IDENTITIES}/not-an-id")

    assert (removed, again, bad) == (204, 404, 400)
    assert "not a RingCentral identity" in answer["error"]["message"]
    assert "extension_id" in bad_answer["error"]["message"]
    assert await identities(browser, product) == []
    assert [w.name for w in await product.connections.ringcentral_writers()] == ["ringcentral"]
    entries = await (await product.store()).list_audit(limit=10)
    assert [e.action for e in entries if e.action.startswith("ringcentral-identity")] == [
        "ringcentral-identity-removed",
        "ringcentral-identity-added",
    ]


async def test_an_identity_added_by_oauth_sign_in_leaves_the_main_connection_alone(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox, 6)
    await credential_of(sandbox, user)  # the admin grants them the Edit Presence role
    main_before = await product.connections.ringcentral()
    main_id = (await main_before.current_extension()).id
    await control(
        sandbox,
        "POST",
        "/_sandbox/ringcentral/oauth",
        {"sign_in_as": user.email, "decision": "approve"},
    )

    page = await browser.open(f"{product.url}/connect/ringcentral/identities/oauth")

    assert "RingCentral identity added" in page.text, page.text
    assert str(user.email).lower() in page.text.lower()
    [row] = await identities(browser, product)
    assert (row["extensionId"], row["mode"], row["state"]) == (user.id, "oauth", "connected")
    main = await product.connections.ringcentral()
    assert (await main.current_extension()).id == main_id


async def test_an_oauth_sign_in_by_a_user_without_the_right_adds_nothing(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox, 7)
    await control(
        sandbox,
        "POST",
        "/_sandbox/ringcentral/oauth",
        {"sign_in_as": user.email, "decision": "approve"},
    )

    page = await browser.open(f"{product.url}/connect/ringcentral/identities/oauth")

    assert "The RingCentral identity was not added" in page.text
    assert "Edit Presence" in page.text
    assert await identities(browser, product) == []
