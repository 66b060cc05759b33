"""The product's exception tree.

    PresenceSyncError
    ├── SettingsError            a setting is missing or malformed (names the variable)
    ├── StoreError               the store failed
    │   ├── StoreUnavailableError    the store cannot be reached right now
    │   ├── ConflictError            optimistic concurrency: someone else wrote first
    │   └── NotFoundError            no such record
    ├── ValidationError          bad input from a person or a peer; nothing was changed
    ├── ProviderError            a cloud provider failed (base of the two below)
    │   ├── GraphError
    │   │   ├── GraphAuthError
    │   │   ├── GraphRateLimitedError(retry_after)
    │   │   ├── GraphUnavailableError
    │   │   └── GraphNotFoundError
    │   └── RingCentralError
    │       ├── RingCentralAuthError
    │       ├── RingCentralRateLimitedError(retry_after)
    │       ├── RingCentralUnavailableError
    │       └── RingCentralNotFoundError
    └── ForbiddenError           the caller is not allowed (not an admin, forged webhook)

The web error middleware maps these to HTTP answers in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from presence_sync.graph.auth import GraphToken

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "GraphAuthError",
    "GraphError",
    "GraphNotFoundError",
    "GraphRateLimitedError",
    "GraphUnavailableError",
    "NotFoundError",
    "PresenceSyncError",
    "ProviderError",
    "RingCentralAuthError",
    "RingCentralError",
    "RingCentralNotFoundError",
    "RingCentralRateLimitedError",
    "RingCentralUnavailableError",
    "SettingsError",
    "StoreError",
    "StoreUnavailableError",
    "ValidationError",
]


class PresenceSyncError(Exception):
    """Root of every error the product raises on purpose."""


class SettingsError(PresenceSyncError):
    """A setting is missing or malformed."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class StoreError(PresenceSyncError):
    """The store failed."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now."""


class ConflictError(StoreError):
    """Someone else changed the record first (optimistic concurrency)."""


class NotFoundError(StoreError):
    """No such record."""


class ValidationError(PresenceSyncError):
    """Bad input; nothing was changed."""


class ForbiddenError(PresenceSyncError):
    """The caller is not allowed to do this."""


class ProviderError(PresenceSyncError):
    """A cloud provider failed."""


class _RateLimited:
    """Mixin carrying how long the provider asked us to wait, in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)  # type: ignore[call-arg]
        self.retry_after = retry_after


class GraphError(ProviderError):
    """Microsoft Graph or Entra ID failed."""

    # The token the failed call was made with (the Graph client sets it), so a refusal of a
    # sync account's token is told apart from one of the app's own.
    token: GraphToken | None = None


class GraphAuthError(GraphError):
    """Microsoft refused our credentials or consent."""


class GraphRateLimitedError(_RateLimited, GraphError):
    """Microsoft Graph throttled us (429)."""


class GraphUnavailableError(GraphError):
    """Microsoft Graph is unreachable, slow or answering 5xx."""


class GraphNotFoundError(GraphError):
    """Microsoft Graph has no such resource."""


class RingCentralError(ProviderError):
    """RingCentral failed."""


class RingCentralAuthError(RingCentralError):
    """RingCentral refused our credentials."""


class RingCentralRateLimitedError(_RateLimited, RingCentralError):
    """RingCentral throttled us (429)."""


class RingCentralUnavailableError(RingCentralError):
    """RingCentral is unreachable, slow or answering 5xx."""


class RingCentralNotFoundError(RingCentralError):
    """RingCentral has no such resource."""
