"""RingCentral: the REST client, its SDK-owned tokens, rate-limit budgets and returned values."""

from presence_sync.ringcentral.auth import RingCentralAuth
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.ringcentral.errors import (
    RingCentralFieldRefusedError,
    RingCentralPermissionError,
    RingCentralRefusedError,
    RingCentralRequestError,
    RingCentralTokenError,
)
from presence_sync.ringcentral.limits import GroupBudget, RateLimits
from presence_sync.ringcentral.models import (
    CallQueue,
    CallQueueMember,
    Extension,
    RcPresence,
    RcSubscription,
)
from presence_sync.ringcentral.queues import QueueMembership, QueueWalk

__all__ = [
    "CallQueue",
    "CallQueueMember",
    "Extension",
    "GroupBudget",
    "QueueMembership",
    "QueueWalk",
    "RateLimits",
    "RcPresence",
    "RcSubscription",
    "RingCentralAuth",
    "RingCentralClient",
    "RingCentralFieldRefusedError",
    "RingCentralPermissionError",
    "RingCentralRefusedError",
    "RingCentralRequestError",
    "RingCentralTokenError",
]
