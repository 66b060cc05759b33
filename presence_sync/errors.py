"""The product's exception tree: every error class it raises, wherever it is defined.

    PresenceSyncError
    ├── SettingsError                    a setting is missing or malformed (names the variable)
    ├── SecretKeyError                   secrets: a key is malformed or does not open a secret
    ├── StoreError                       the store failed
    │   ├── StoreUnavailableError        the store cannot be reached right now
    │   ├── ConflictError                optimistic concurrency: someone else wrote first
    │   └── NotFoundError                no such record
    ├── ValidationError                  bad input from a person or a peer; nothing was changed
    │   ├── RulesError(problems)         domain.rules: call presence rules refused
    │   ├── UserStateError               engine.state: a stored user state cannot be read
    │   ├── UnknownUsersError(names)     admin: named users are not in the directory
    │   └── ManifestError(problems)      package.build: Teams would refuse the app package
    ├── ProviderError                    a cloud provider failed
    │   ├── GraphError                   Microsoft Graph or Entra ID; `token` says which token
    │   │   ├── GraphRequestError(status, code, message)    graph.errors: no product meaning
    │   │   │   └── GraphRefusedError    a 4xx: refused as made, a retry will not help
    │   │   │       └── GraphConflictError           409: exists or changed meanwhile
    │   │   ├── GraphAuthError           our credentials or consent were refused
    │   │   │   ├── GraphPermissionError(code, message)     graph.errors: 403, a permission
    │   │   │   └── EntraError(code, description, error_codes)   graph.auth: no token issued
    │   │   ├── GraphRateLimitedError(retry_after)
    │   │   ├── GraphUnavailableError
    │   │   └── GraphNotFoundError
    │   ├── RingCentralError
    │   │   ├── RingCentralRequestError(status, error_code, message, parameter)
    │   │   │   │                        ringcentral.errors: no product meaning
    │   │   │   └── RingCentralRefusedError          a 4xx: refused as made
    │   │   │       ├── RingCentralFieldRefusedError(parameter)    400 naming the field
    │   │   │       └── RingCentralPermissionError   403: a permission is missing
    │   │   ├── RingCentralAuthError     our credentials were refused
    │   │   │   └── RingCentralTokenError(code, description)   ringcentral.errors: sign-in
    │   │   ├── RingCentralRateLimitedError(retry_after)
    │   │   ├── RingCentralUnavailableError
    │   │   └── RingCentralNotFoundError
    │   └── NotConnectedError            providers: not connected yet, or broken (says why)
    ├── ForbiddenError                   the caller is not allowed (not an admin, forged webhook)
    │   └── CsrfError                    a cookie-borne change without its CSRF token
    ├── UnauthenticatedError             the caller proved no identity (a missing or bad token)
    ├── NotConfiguredError               a part is switched off until settings name it
    ├── TooManyRequestsError(retry_after)  the caller started too many sign-ins in a minute
    ├── SlotExpiredError                 ringcentral.gate: gave up waiting for a budget slot
    └── UndeliverableError               notices.delivery: a notice can never be delivered

Only the provider clients (`graph/`, `ringcentral/`) read HTTP statuses; everyone else maps
these classes, and the web error middleware maps them to HTTP answers in one place.

The demo runner's own failures (`presence_sync.demo`) and the terminal chat's
(`presence_sync.chat`) stop their command and never reach the product, so they derive from
`Exception`:

    Exception
    ├── SandboxStartError                demo.sandbox_process: the sandbox did not come up
    ├── DemoFailedError(code)            demo.console: the demo cannot go on
    ├── ConnectError                     demo.connect: a connection step failed
    ├── SignInError                      demo.signin: signing the admin in to the tab failed
    ├── ControlError                     demo.control: the sandbox refused a control call
    └── ChatError(code)                  chat.target: no demo to chat with, or it refused
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "CsrfError",
    "ForbiddenError",
    "GraphAuthError",
    "GraphError",
    "GraphNotFoundError",
    "GraphRateLimitedError",
    "GraphUnavailableError",
    "NotConfiguredError",
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
    "TooManyRequestsError",
    "UnauthenticatedError",
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


class CsrfError(ForbiddenError):
    """A change came with the tab's session cookie but without its CSRF token (or from
    another site)."""


class UnauthenticatedError(PresenceSyncError):
    """The caller proved no identity: its token is missing, malformed or not valid."""


class NotConfiguredError(PresenceSyncError):
    """This part of the product is off until its settings are given; the message names them."""


class TooManyRequestsError(PresenceSyncError):
    """The caller started more sign-ins than allowed; `retry_after` says when one is free."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderError(PresenceSyncError):
    """A cloud provider failed."""


class _RateLimited:
    """Mixin carrying how long the provider asked us to wait, in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)  # type: ignore[call-arg]
        self.retry_after = retry_after


class GraphError(ProviderError):
    """Microsoft Graph or Entra ID failed."""

    # The token the failed call was made with (the Graph client sets a
    # presence_sync.graph.auth.GraphToken), so a refusal of a sync account's token is told
    # apart from one of the app's own. Typed loosely: this module sits below the clients.
    token: object | None = None


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
