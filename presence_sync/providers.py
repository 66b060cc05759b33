"""How background services reach Microsoft and RingCentral without knowing how they connect.

`Connections` (presence_sync/connections.py) is the production implementation: it builds the
clients from settings and the stored, encrypted credentials, and marks a connection broken when
a provider refuses it. Tests can pass any object with these methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from presence_sync.errors import ProviderError

if TYPE_CHECKING:
    from presence_sync.graph import GraphClient
    from presence_sync.ringcentral import RingCentralClient

__all__ = [
    "BULK",
    "DIRECTORY",
    "REALTIME",
    "RECONCILE",
    "NotConnectedError",
    "Providers",
    "RcWriter",
]

# Dirty-queue priorities (lower is more urgent): a person's live change beats the periodic
# reconciliation, which beats bulk jobs such as "sync all".
REALTIME = 0
RECONCILE = 10
BULK = 20
# The directory refresh's provider calls: after bulk work, but with a guaranteed share.
DIRECTORY = 30


class NotConnectedError(ProviderError):
    """The provider is not connected yet, or its connection is broken; the message says why."""


@dataclass(frozen=True)
class RcWriter:
    """A RingCentral identity presence writes may be sent as: its connection kind and client."""

    name: str  # "ringcentral" (the main connection) or "ringcentral-identity:<extension id>"
    client: RingCentralClient


class Providers(Protocol):
    """Access to the provider clients of the one organisation this deployment serves."""

    async def graph(self) -> GraphClient:
        """The Graph client; NotConnectedError when Microsoft is not connected."""
        ...

    async def ringcentral(self) -> RingCentralClient:
        """The RingCentral client; NotConnectedError when RingCentral is not connected."""
        ...

    async def ringcentral_writers(self) -> list[RcWriter]:
        """Every healthy RingCentral identity writes may go out as (the main one first)."""
        ...

    async def sync_accounts(self) -> list[str]:
        """UPNs of the authorised Microsoft sync accounts whose connection is healthy."""
        ...

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Tell the connection owner a call failed; auth failures mark the connection broken.

        `provider` is "microsoft", "ringcentral" or an `RcWriter.name`."""
        ...
