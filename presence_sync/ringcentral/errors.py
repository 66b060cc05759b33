"""RingCentral's error answers translated into the product's error tree.

RingCentralError
├── RingCentralRequestError(status, error_code, message, parameter)
│   │   an answer the client has no meaning for (408, an unexpected 2xx or 3xx)
│   └── RingCentralRefusedError
│       │   a 4xx: RingCentral refused the request as made; sending it again will not help
│       ├── RingCentralFieldRefusedError(parameter)
│       │       400 naming the refused field (`errors[].parameterName`), e.g. CMN-101 for
│       │       `dndStatus` DoNotAcceptDepartmentCalls of someone in no call queue
│       └── RingCentralPermissionError
│               403: the signed-in user or the app lacks a permission (company-wide
│               presence for the account-level subscription filter, say)
└── RingCentralAuthError
    └── RingCentralTokenError(code, description)
            the token endpoint refused: `invalid_grant` (refresh token revoked or expired,
            JWT withdrawn) and `invalid_client` mean the connection is broken

401 after a refresh, 404, 429 and 5xx are the root tree's RingCentralAuthError,
RingCentralNotFoundError, RingCentralRateLimitedError and RingCentralUnavailableError.
"""

from __future__ import annotations

import json
from typing import Any

from presence_sync.errors import RingCentralAuthError, RingCentralError

__all__ = [
    "RingCentralFieldRefusedError",
    "RingCentralPermissionError",
    "RingCentralRefusedError",
    "RingCentralRequestError",
    "RingCentralTokenError",
    "request_error",
]

_BREAKING = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"})


class RingCentralRequestError(RingCentralError):
    """RingCentral answered with an error; `error_code` and `parameter` say what and why."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        parameter: str | None = None,
        codes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.parameter = parameter
        self.codes = codes or (error_code,)

    def refused(self, parameter: str) -> bool:
        """Whether RingCentral refused the value of `parameter` (e.g. ``"dndStatus"``)."""
        return False


class RingCentralRefusedError(RingCentralRequestError):
    """RingCentral refused the request as made (a 4xx no retry fixes)."""


class RingCentralFieldRefusedError(RingCentralRefusedError):
    """RingCentral refused the value of one field of the request; `parameter` names it (400)."""

    parameter: str

    def refused(self, parameter: str) -> bool:
        """Whether RingCentral refused the value of `parameter` (e.g. ``"dndStatus"``)."""
        return self.parameter == parameter


class RingCentralPermissionError(RingCentralRefusedError):
    """The signed-in user or the app lacks a permission the request needs (403)."""


class RingCentralTokenError(RingCentralAuthError):
    """RingCentral's token endpoint refused; `code` is the OAuth `error` (e.g. invalid_grant)."""

    def __init__(self, code: str, description: str = "", error_code: str | None = None) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.error_code = error_code  # RingCentral's own code, e.g. OAU-213

    @property
    def breaks_connection(self) -> bool:
        """Whether the RingCentral connection must be marked broken until an admin acts."""
        return self.code in _BREAKING


def _parse(body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def request_error(status: int, body: bytes | str | None) -> RingCentralRequestError:
    """The error in a REST answer (`{"errorCode", "message", "errors": [...]}`)."""
    parsed = _parse(body)
    errors = [e for e in parsed.get("errors") or () if isinstance(e, dict)]
    first = errors[0] if errors else {}
    code = str(parsed.get("errorCode") or first.get("errorCode") or parsed.get("error") or status)
    message = str(
        parsed.get("message") or first.get("message") or parsed.get("error_description") or ""
    )
    parameter = parsed.get("parameterName") or first.get("parameterName")
    codes = tuple(str(e.get("errorCode")) for e in errors if e.get("errorCode"))
    field = str(parameter) if parameter else None
    return _error_class(status, field)(status, code, message[:500], field, codes)


def _error_class(status: int, parameter: str | None) -> type[RingCentralRequestError]:
    if status == 400 and parameter:
        return RingCentralFieldRefusedError
    if status == 403:
        return RingCentralPermissionError
    # 408 is RingCentral giving up on a slow request, not a judgement of it.
    if 400 <= status < 500 and status != 408:
        return RingCentralRefusedError
    return RingCentralRequestError


def token_error(body: bytes | str | None, fallback: str) -> RingCentralTokenError:
    """The error in an OAuth answer (`{"error", "error_description", "errors": [...]}`)."""
    parsed = _parse(body)
    errors = [e for e in parsed.get("errors") or () if isinstance(e, dict)]
    code = str(parsed.get("error") or fallback)
    description = str(parsed.get("error_description") or "")
    rc_code = str(errors[0].get("errorCode")) if errors and errors[0].get("errorCode") else None
    return RingCentralTokenError(code, description[:300], rc_code)
