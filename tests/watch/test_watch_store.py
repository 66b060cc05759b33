"""What the watchers keep in the store, on SQLite and on a MongoDB-protocol server:
the encryption certificate (made once, private key sealed) and the lease that makes one
replica the only one doing periodic work."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from presence_sync.graph.client import GraphClient
from presence_sync.providers import NotConnectedError, RcWriter
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.tasks import Supervisor
from presence_sync.watch import Watchers, WatchOptions
from presence_sync.watch.certificate import CERTIFICATE_KIND, load_or_create_certificate
from presence_sync.web.webhooks import webhook_addresses
from tests.store.conftest import box, mongo_target, store, store_kind
from tests.watch.harness import eventually

__all__ = ["box", "mongo_target", "store", "store_kind"]


class Offline:
    """Providers that are not connected."""

    async def graph(self) -> GraphClient:
        """Not connected."""
        raise NotConnectedError("offline")

    async def ringcentral_writers(self) -> list[RcWriter]:
        """Nobody to write as."""
        return []

    async def ringcentral(self) -> RingCentralClient:
        """Not connected."""
        raise NotConnectedError("offline")

    async def sync_accounts(self) -> list[str]:
        """None."""
        return []

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Nothing to report to."""


async def test_the_certificate_is_made_once_and_its_key_sealed(
    store: Store, store_kind: str, tmp_path: Path
) -> None:
    made = await asyncio.gather(
        *(load_or_create_certificate(store, f"replica-{n}", time.time) for n in range(3))
    )

    assert len({cert.certificate_id for cert in made}) == 1
    again = await load_or_create_certificate(store, "replica-9", time.time)
    assert again.certificate_id == made[0].certificate_id
    record = await store.get_connection(CERTIFICATE_KIND)
    assert record is not None
    assert record.secret is not None
    assert "PRIVATE KEY" in record.secret  # opened for us, sealed at rest
    if store_kind == "sqlite":
        raw = await asyncio.to_thread(
            lambda: b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
        )
        assert b"PRIVATE KEY" not in raw
        assert made[0].certificate_b64.encode() in raw


async def test_one_replica_leads_and_another_takes_over_when_it_stops(store: Store) -> None:
    options = WatchOptions(tick=0.02, lease_seconds=0.3, roster_every=0.05)
    addresses = webhook_addresses("http://127.0.0.1:3978")
    replicas = [
        Watchers(store, Settings(), Offline(), f"replica-{n}", addresses, options) for n in (1, 2)
    ]
    supervisors = {id(r): Supervisor() for r in replicas}
    for replica in replicas:
        supervisors[id(replica)].start(replica.loops())

    async def stop(replica: Watchers) -> None:
        await supervisors[id(replica)].stop()
        await replica.stop()

    try:

        async def one_leader() -> bool:
            return sum(r.leader for r in replicas) == 1

        await eventually(one_leader)
        for _ in range(20):  # and it stays that way
            assert sum(r.leader for r in replicas) <= 1
            await asyncio.sleep(0.02)
        leader = next(r for r in replicas if r.leader)
        follower = next(r for r in replicas if r is not leader)

        await stop(leader)

        async def took_over() -> bool:
            return follower.leader

        await eventually(took_over, within=5)
    finally:
        for replica in replicas:
            await stop(replica)
