"""The one place where the product's error tree becomes HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from presence_sync.errors import (
    ConflictError,
    CsrfError,
    ForbiddenError,
    GraphRateLimitedError,
    NotConfiguredError,
    NotFoundError,
    PresenceSyncError,
    ProviderError,
    RingCentralRateLimitedError,
    StoreUnavailableError,
    TooManyRequestsError,
    UnauthenticatedError,
    ValidationError,
)

__all__ = ["error_middleware", "json_error", "quiet_malformed_requests"]

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Most specific first: the first matching class decides the answer.
_STATUS: tuple[tuple[type[PresenceSyncError], int, str], ...] = (
    (ValidationError, 400, "invalid_request"),
    (UnauthenticatedError, 401, "unauthenticated"),
    (CsrfError, 403, "csrf"),
    (ForbiddenError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (TooManyRequestsError, 429, "too_many_requests"),
    (StoreUnavailableError, 503, "store_unavailable"),
    (NotConfiguredError, 503, "not_configured"),
    (GraphRateLimitedError, 503, "microsoft_throttled"),
    (RingCentralRateLimitedError, 503, "ringcentral_throttled"),
    (ProviderError, 502, "provider_error"),
)


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON error answer `{"error": {"code", "message"}}`."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer the product's errors with their HTTP status; hide unexpected ones behind a 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except PresenceSyncError as err:
        for cls, status, code in _STATUS:
            if isinstance(err, cls):
                headers = None
                retry_after = getattr(err, "retry_after", None)
                if retry_after is not None:
                    headers = {"Retry-After": str(max(1, round(retry_after)))}
                if status >= 500:
                    logger.warning("%s %s failed: %s", request.method, request.path, err)
                answer = json_error(status, code, str(err), headers)
                if status == 400:
                    # One line naming the problem: bad input is the caller's, not a traceback.
                    logger.warning("%s %s refused: %s", request.method, request.path, err)
                    # After a body that would not decode, aiohttp cannot parse the next
                    # request on this connection: close it rather than leave the client hanging.
                    answer.force_close()
                return answer
        logger.exception("%s %s failed", request.method, request.path)
        return json_error(500, "internal_error", "The server could not complete this request.")
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return json_error(500, "internal_error", "The server could not complete this request.")


class _MalformedRequests(logging.Filter):
    """aiohttp's own refusals of malformed HTTP as one warning line, not an error traceback.

    aiohttp answers a request line over 8 KB, an oversized header or broken chunking with a
    4xx before any route runs, and logs it with `logger.exception`: the caller's mistake
    would read as the server's failure, one traceback per request.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 0) < 500:
            record.msg = "malformed HTTP request from %s refused (%s): %s"
            record.args = (*(record.args or ()), error.code, type(error).__name__)
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True


_QUIET = _MalformedRequests()


def quiet_malformed_requests() -> None:
    """Log aiohttp's refusals of malformed HTTP as one warning line each (idempotent)."""
    logging.getLogger("aiohttp.server").addFilter(_QUIET)
