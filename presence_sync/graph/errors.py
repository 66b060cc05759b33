"""Graph's error answers translated into the product's error tree.

GraphError
├── GraphRequestError(status, code, message)   an answer the client has no meaning for
│   │                                          (408, an unexpected 2xx or 3xx): maybe transient
│   └── GraphRefusedError                      a 4xx: Graph refused the request as made, and
│       │                                      sending it again unchanged will not help
│       └── GraphConflictError                 409: the resource exists or changed meanwhile
└── GraphAuthError
    └── GraphPermissionError(code, message)    403: the app lacks a permission (Graph's
                                               message names what was refused)

401 after a fresh token, 404, 429 and 5xx are the root tree's GraphAuthError,
GraphNotFoundError, GraphRateLimitedError and GraphUnavailableError. Every error the client
raises carries the `GraphToken` its call was made with.
"""

from __future__ import annotations

import json
from typing import Any

from presence_sync.errors import GraphAuthError, GraphError

__all__ = [
    "GraphConflictError",
    "GraphPermissionError",
    "GraphRefusedError",
    "GraphRequestError",
    "decode_body",
    "graph_error",
]


class GraphRequestError(GraphError):
    """Graph answered with an error status the client has no special meaning for."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


class GraphRefusedError(GraphRequestError):
    """Graph refused the request as made (a 4xx no retry fixes); `code` and `message` say why."""


class GraphConflictError(GraphRefusedError):
    """Graph refused because the resource already exists or changed meanwhile (409)."""


class GraphPermissionError(GraphAuthError):
    """Graph refused the call because a permission (role or scope) is missing (403)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


def graph_error(status: int, body: bytes) -> GraphRequestError:
    """The error in Graph's `{"error": {"code", "message"}}` answer (tolerating other bodies)."""
    code, message = f"HTTP{status}", ""
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or "")
        elif isinstance(error, str):
            # Entra-style bodies ({"error": "...", "error_description": "..."}) appear too.
            code = error
            message = str(parsed.get("error_description") or "")
    # Bodies are not logged or echoed beyond Graph's own short message.
    return _error_class(status)(status, code, message[:500])


def _error_class(status: int) -> type[GraphRequestError]:
    if status == 409:
        return GraphConflictError
    # 408 is Graph giving up on a slow request, not a judgement of it.
    if 400 <= status < 500 and status != 408:
        return GraphRefusedError
    return GraphRequestError


def decode_body(body: bytes) -> Any:
    """A successful answer's JSON (None for an empty body)."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError as err:
        raise GraphError("Graph answered with a body that is not JSON") from err
