"""Contract: connection, subscription and audit details are typed values, stored as before."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from presence_sync.store import (
    AuditDetails,
    AuditEntry,
    Connection,
    ConnectionDetails,
    ConnectionStatus,
    MongoStore,
    SqliteStore,
    Store,
    SubscriptionDetails,
)

NOW = 1_800_000_000.0

# Details as earlier releases wrote them: plain JSON objects, nulls included.
MICROSOFT_BEFORE = {
    "since": NOW - 60,
    "generation": 3,
    "method": "admin-consent",
    "tenant": "contoso-tenant",
    "consented_by": "admin@contoso.com",
    "consented_by_source": "login_hint",
    "roles": ["Presence.ReadWrite.All", "User.Read.All"],
    "missing": [],
    "checked_at": NOW,
    "error": "missing_permissions",
}
RINGCENTRAL_BEFORE = {
    "since": NOW,
    "generation": 1,
    "method": "jwt",
    "owner_id": "400",
    "extension_id": "101",
    "extension_number": "1001",
    "name": "Sync Bot",
    "email": None,
    "authorised_by": None,
    "connected_at": NOW,
}
EXTENSIONS_BEFORE = {
    "filter": "extensions",
    "extensions": ["101", "102"],
    "account_refused_at": NOW,
}
WRITE_BEFORE = {
    "write": {"userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls"},
    "cause": "Teams Busy",
    "result": "applied",
    "message": "",
    "priority": 0,
}


async def put_raw(store: Store, table: str, row: dict[str, Any]) -> None:
    """Write a row or document directly, as an earlier release left it on disk."""
    if isinstance(store, SqliteStore):
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))

        await store.database.write(insert)
        return
    assert isinstance(store, MongoStore)
    await store.col(table).insert_one(row)


async def test_connection_details_written_by_earlier_releases_load_typed(store: Store) -> None:
    for kind, details in (("microsoft", MICROSOFT_BEFORE), ("ringcentral", RINGCENTRAL_BEFORE)):
        row = {"status": "connected", "reason": None, "details": json.dumps(details)}
        row |= {"secret": None, "updated_at": NOW}
        key = {"kind": kind} if isinstance(store, SqliteStore) else {"_id": kind}
        await put_raw(store, "connections", key | row)

    microsoft = await store.get_connection("microsoft")
    ringcentral = await store.get_connection("ringcentral")

    assert microsoft is not None
    assert ringcentral is not None
    assert microsoft.details == ConnectionDetails(
        since=NOW - 60,
        generation=3,
        error="missing_permissions",
        method="admin-consent",
        tenant="contoso-tenant",
        consented_by="admin@contoso.com",
        consented_by_source="login_hint",
        roles=("Presence.ReadWrite.All", "User.Read.All"),
        missing=(),
        checked_at=NOW,
    )
    assert ringcentral.details.generation == 1
    assert ringcentral.details.method == "jwt"
    assert (ringcentral.details.extension_id, ringcentral.details.authorised_by) == ("101", None)


async def test_connection_details_are_stored_under_the_same_keys(store: Store) -> None:
    details = ConnectionDetails(
        since=NOW, generation=2, method="oauth", extension_id="101", authorised_by="a@contoso.com"
    )
    await store.put_connection(Connection("ringcentral", ConnectionStatus.CONNECTED, None, details))

    if isinstance(store, SqliteStore):
        row = await store.raw_row("connections", "kind", "ringcentral")
    else:
        assert isinstance(store, MongoStore)
        row = await store.raw_document("connections", "ringcentral")
    assert row is not None
    assert json.loads(row["details"]) == {
        "since": NOW,
        "generation": 2,
        "method": "oauth",
        "extension_id": "101",
        "authorised_by": "a@contoso.com",
    }
    found = await store.get_connection("ringcentral")
    assert found is not None
    assert found.details == details


async def test_subscription_details_written_by_earlier_releases_load_typed(store: Store) -> None:
    graph = {"provider": "graph", "resource": "/communications/presences", "expires_at": NOW}
    graph |= {"details": json.dumps({"user_ids": ["u1", "u2"]}), "updated_at": NOW}
    rc = {"provider": "ringcentral", "resource": "/restapi/v1.0/account/~/presence"}
    rc |= {"expires_at": NOW + 1, "details": json.dumps(EXTENSIONS_BEFORE), "updated_at": NOW}
    for row, sub_id in ((graph, "g-1"), (rc, "rc-1")):
        if isinstance(store, SqliteStore):
            await put_raw(store, "subscriptions", row | {"id": sub_id})
        else:
            doc = row | {"_id": f"{row['provider']}:{sub_id}", "subscription_id": sub_id}
            await put_raw(store, "subscriptions", doc)

    found = {s.id: s.details for s in await store.list_subscriptions()}

    assert found == {
        "g-1": SubscriptionDetails(user_ids=("u1", "u2")),
        "rc-1": SubscriptionDetails(
            filter="extensions", extensions=("101", "102"), account_refused_at=NOW
        ),
    }


async def test_audit_details_round_trip_frozen_with_nested_values(store: Store) -> None:
    entry = AuditEntry(
        at=NOW, actor="sync", action="ringcentral.presence", details=AuditDetails(WRITE_BEFORE)
    )
    stored = await store.append_audit(entry)
    roles = AuditDetails(roles=["A", "B"])
    await store.append_audit(
        AuditEntry(at=NOW + 1, actor="admin", action="microsoft-connected", details=roles)
    )

    listed = await store.list_audit()

    assert listed[1] == stored
    assert listed[1].details == WRITE_BEFORE
    write = listed[1].details["write"]
    assert isinstance(write, AuditDetails)
    assert write["userStatus"] == "Busy"
    assert listed[0].details["roles"] == ("A", "B")


def test_audit_details_cannot_change_and_hold_only_json() -> None:
    details = AuditDetails({"write": {"userStatus": "Busy"}, "ids": ["a"]}, priority=1)

    assert dict(details) == {"write": {"userStatus": "Busy"}, "ids": ("a",), "priority": 1}
    with pytest.raises(TypeError):
        details["priority"] = 2  # type: ignore[index]
    with pytest.raises(TypeError, match="JSON values, not object"):
        AuditDetails(thing=object())


def test_connection_details_refuse_fields_they_do_not_have() -> None:
    details = ConnectionDetails(method="jwt", authorised_by="a@contoso.com")

    assert details.updated({"authorised_by": None, "roles": ["R"]}) == ConnectionDetails(
        method="jwt", roles=("R",)
    )
    with pytest.raises(ValueError, match="not connection details: expires_at"):
        details.updated({"expires_at": NOW})
