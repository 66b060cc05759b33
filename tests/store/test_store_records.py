"""Contract: settings, connections, subscriptions, references, audit and leases, on both stores."""

from __future__ import annotations

import asyncio
import json

import pytest

from presence_sync.errors import ConflictError
from presence_sync.secrets import SecretBox, SecretKeyError
from presence_sync.store import (
    AuditDetails,
    AuditEntry,
    Connection,
    ConnectionDetails,
    ConnectionStatus,
    MongoStore,
    OrgSettings,
    SqliteStore,
    Store,
    Subscription,
    SubscriptionDetails,
    SyncMode,
)

NOW = 1_800_000_000.0
RULES = {
    "Busy": "accept_all_calls",
    "In a call": "no_queue_calls",
    "In a conference call": "no_queue_calls",
    "In a meeting": "no_queue_calls",
    "Offline": "accept_all_calls",
}


async def raw(store: Store, table: str, key_column: str, key: str) -> str:
    """The stored row or document as text, exactly as it reaches the disk."""
    if isinstance(store, SqliteStore):
        return json.dumps(await store.raw_row(table, key_column, key))
    assert isinstance(store, MongoStore)
    return json.dumps(await store.raw_document(table, key), default=str)


async def test_settings_default_then_save_with_optimistic_concurrency(store: Store) -> None:
    defaults = await store.get_settings()
    assert defaults == OrgSettings(version=0)
    assert defaults.sync_mode is SyncMode.ENABLED

    wanted = OrgSettings(
        sync_mode=SyncMode.DISABLED,
        call_presence_customisation=True,
        rules=RULES,
        preserve_during_inactivity=True,
    )
    saved = await store.save_settings(wanted, expected_version=0)
    assert saved.version == 1
    assert saved.rules == RULES
    assert await store.get_settings() == saved

    with pytest.raises(ConflictError):
        await store.save_settings(OrgSettings(), expected_version=0)  # someone saved first
    with pytest.raises(ConflictError):
        await store.save_settings(OrgSettings(), expected_version=5)
    again = await store.save_settings(OrgSettings(rules={"Busy": "no_calls"}), expected_version=1)
    assert again.version == 2
    assert (await store.get_settings()).rules == {"Busy": "no_calls"}


async def test_concurrent_settings_editors_one_wins(store: Store) -> None:
    results = await asyncio.gather(
        *(store.save_settings(OrgSettings(rules={"Busy": f"r{n}"}), 0) for n in range(6)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, OrgSettings)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, OrgSettings))
    assert await store.get_settings() == winners[0]


async def test_connections_round_trip_with_the_secret_sealed_at_rest(store: Store) -> None:
    secret = "refresh-token-0123456789-very-secret"
    microsoft = Connection(
        kind="microsoft-sync-account:sync@contoso.com",
        status=ConnectionStatus.CONNECTED,
        details=ConnectionDetails(scopes=("Presence.Read.All",), authorised_at=NOW),
        secret=secret,
        updated_at=NOW,
    )
    ringcentral = Connection(
        kind="ringcentral", status=ConnectionStatus.BROKEN, reason="JWT revoked", updated_at=NOW
    )
    await store.put_connection(microsoft)
    await store.put_connection(ringcentral)

    assert await store.get_connection(microsoft.kind) == microsoft
    assert await store.list_connections() == [microsoft, ringcentral]
    assert secret not in repr(microsoft)
    stored = await raw(store, "connections", "kind", microsoft.kind)
    assert "Presence.Read.All" in stored  # the row is there ...
    assert secret not in stored  # ... but the secret is not readable in it

    fixed = Connection(kind="ringcentral", status=ConnectionStatus.CONNECTED, secret="new")
    await store.put_connection(fixed)
    assert await store.get_connection("ringcentral") == fixed
    assert await store.delete_connection("ringcentral") is True
    assert await store.delete_connection("ringcentral") is False
    assert await store.get_connection("ringcentral") is None


async def test_a_different_key_cannot_open_stored_secrets(store: Store) -> None:
    await store.put_connection(
        Connection(kind="microsoft", status=ConnectionStatus.CONNECTED, secret="s3cret")
    )
    other = SecretBox(SecretBox.generate_key())
    if isinstance(store, SqliteStore):
        stranger: Store = SqliteStore(store.path, other)
    else:
        assert isinstance(store, MongoStore)
        stranger = MongoStore(store.uri, store.database_name, other)
    await stranger.open()
    try:
        with pytest.raises(SecretKeyError, match="SECRET_KEY"):
            await stranger.get_connection("microsoft")
    finally:
        await stranger.close()


async def test_subscriptions_round_trip_list_expire_and_delete(store: Store) -> None:
    graph = Subscription(
        provider="graph",
        id="sub-1",
        resource="/communications/presences?$filter=id in ('a','b')",
        expires_at=NOW + 3600,
        shard_key="sync@contoso.com#0",
        client_state="client-state-secret-value",
        owner="sync@contoso.com",
        details=SubscriptionDetails(user_ids=("a", "b")),
        updated_at=NOW,
    )
    soon = Subscription(provider="graph", id="sub-2", resource="r", expires_at=NOW + 60)
    rc = Subscription(
        provider="ringcentral", id="sub-1", resource="/account/~/presence", expires_at=NOW + 600
    )
    for item in (graph, soon, rc):
        await store.put_subscription(item)

    assert await store.get_subscription("graph", "sub-1") == graph
    assert await store.get_subscription("ringcentral", "sub-1") == rc
    assert await store.get_subscription("graph", "nope") is None
    assert await store.list_subscriptions() == [soon, rc, graph]
    assert await store.list_subscriptions("graph") == [soon, graph]
    assert await store.list_expiring_subscriptions(NOW + 601) == [soon, rc]
    assert await store.list_expiring_subscriptions(NOW) == []
    sqlite = isinstance(store, SqliteStore)
    key_column, key = ("resource", graph.resource) if sqlite else ("_id", "graph:sub-1")
    stored = await raw(store, "subscriptions", key_column, key)
    assert "sync@contoso.com#0" in stored
    assert "client-state-secret-value" not in stored

    renewed = Subscription(**{**graph.__dict__, "expires_at": NOW + 7200})
    await store.put_subscription(renewed)
    assert await store.get_subscription("graph", "sub-1") == renewed
    assert await store.delete_subscription("graph", "sub-1") is True
    assert await store.delete_subscription("graph", "sub-1") is False
    assert [s.id for s in await store.list_subscriptions("graph")] == ["sub-2"]


async def test_conversation_references(store: Store) -> None:
    reference = {
        "conversation": {"id": "a:1x2y", "tenantId": "t"},
        "serviceUrl": "https://smba.example/",
        "user": {"id": "29:1abc", "aadObjectId": "aad-1"},
        "channelData": {"tenant": {"id": "t"}, "nested": [[1, 2], [3]]},
    }
    assert await store.get_conversation_ref("aad-1") is None
    await store.put_conversation_ref("aad-1", reference)
    assert await store.get_conversation_ref("aad-1") == reference
    await store.put_conversation_ref("aad-1", {"conversation": {"id": "new"}})
    assert await store.get_conversation_ref("aad-1") == {"conversation": {"id": "new"}}


async def test_audit_lists_newest_first_pages_and_prunes(store: Store) -> None:
    day = 86_400.0
    entries = [
        AuditEntry(at=NOW - 40 * day, actor="admin", action="sync-all"),
        AuditEntry(at=NOW - 2 * day, actor="admin", action="unsync", user="bob@contoso.com"),
        AuditEntry(
            at=NOW,
            actor="system",
            action="connection-broken",
            details=AuditDetails(kind="microsoft"),
        ),
        AuditEntry(
            at=NOW, actor="admin", action="rules-saved", details=AuditDetails(Busy="no_calls")
        ),
    ]
    stored = [await store.append_audit(entry) for entry in entries]
    assert all(s.id for s in stored)
    assert len({s.id for s in stored}) == 4

    listed = await store.list_audit()
    assert [e.action for e in listed] == [
        "rules-saved",
        "connection-broken",
        "unsync",
        "sync-all",
    ]
    assert listed[0] == stored[3]
    assert listed[2].user == "bob@contoso.com"
    assert [e.action for e in await store.list_audit(limit=1)] == ["rules-saved"]
    assert [e.action for e in await store.list_audit(before=NOW)] == ["unsync", "sync-all"]

    assert await store.prune_audit(older_than=NOW - 30 * day) == 1
    assert [e.action for e in await store.list_audit()][-1] == "unsync"
    assert await store.prune_audit(older_than=NOW - 30 * day) == 0


async def test_an_open_audit_entry_reads_as_sent_until_closed_once_with_its_outcome(
    store: Store,
) -> None:
    sending = AuditDetails(write={"userStatus": "Busy"}, result="sending")
    done = AuditDetails(write={"userStatus": "Busy"}, result="applied")
    other = await store.append_audit(AuditEntry(at=NOW - 5, actor="admin", action="sync-all"))
    opened = await store.open_audit(
        AuditEntry(at=NOW, actor="system", action="ringcentral.presence", details=sending)
    )
    assert opened.id
    assert await store.list_audit() == [opened, other]
    assert await store.list_open_audit() == [opened]

    assert await store.close_audit(opened.id, done)
    (closed, _) = await store.list_audit()
    assert (closed.id, closed.at, closed.details) == (opened.id, NOW, done)
    assert await store.list_open_audit() == []
    # Closed is final: a second outcome, or closing an entry that was never open, changes nothing.
    assert not await store.close_audit(opened.id, sending)
    assert not await store.close_audit(other.id, done)
    assert not await store.close_audit("no-such-entry", done)
    assert (await store.list_audit())[0].details == done
    assert (await store.list_audit())[1].details == AuditDetails()


async def test_a_provisional_close_gives_way_to_the_writers_own_outcome(store: Store) -> None:
    sending = AuditDetails(result="sending")
    unknown = AuditDetails(result="unknown")
    failed = AuditDetails(result="unavailable")
    first, second = [
        await store.open_audit(AuditEntry(at=NOW + n, actor="system", action="teams.session"))
        for n in range(2)
    ]
    assert await store.close_audit(first.id, sending, final=False)
    assert await store.close_audit(second.id, unknown, final=False)
    assert await store.list_open_audit() == []  # neither is left for a sweep to find again
    assert await store.close_audit(second.id, failed)
    assert [e.details for e in await store.list_audit()] == [failed, sending]
    assert not await store.close_audit(second.id, unknown, final=False)


async def test_leases_exclude_others_until_expiry_and_renew_for_owner(store: Store) -> None:
    assert await store.acquire_lease("subscription-renewer", "replica-a", 30, NOW)
    assert not await store.acquire_lease("subscription-renewer", "replica-b", 30, NOW + 10)
    assert await store.acquire_lease("subscription-renewer", "replica-a", 30, NOW + 20)  # renew
    lease = await store.get_lease("subscription-renewer")
    assert lease is not None
    assert (lease.owner, lease.until) == ("replica-a", NOW + 50)
    assert not await store.acquire_lease("subscription-renewer", "replica-b", 30, NOW + 49)
    assert await store.acquire_lease("subscription-renewer", "replica-b", 30, NOW + 50)  # expired
    assert not await store.release_lease("subscription-renewer", "replica-a")
    assert await store.release_lease("subscription-renewer", "replica-b")
    assert await store.get_lease("subscription-renewer") is None
    assert await store.acquire_lease("subscription-renewer", "replica-c", 30, NOW + 51)
    assert await store.acquire_lease("poller", "replica-a", 30, NOW)  # names are independent


async def test_concurrent_lease_takers_one_wins(store: Store) -> None:
    results = await asyncio.gather(
        *(store.acquire_lease("job-runner", f"replica-{n}", 30, NOW) for n in range(10))
    )
    assert results.count(True) == 1
    lease = await store.get_lease("job-runner")
    assert lease is not None
    assert lease.owner == f"replica-{results.index(True)}"
