"""Graph's error answers and the small formatting helpers every Graph route shares."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from aiohttp import web


class GraphRequestError(Exception):
    """Raised by a route to answer with Graph's error JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str, code: str = "BadRequest") -> GraphRequestError:
    """A 400 with Graph's shape."""
    return GraphRequestError(400, code, message)


def not_found(message: str, code: str = "Request_ResourceNotFound") -> GraphRequestError:
    """A 404 with Graph's shape."""
    return GraphRequestError(404, code, message)


def error_response(request: web.Request, err: GraphRequestError, request_id: str) -> web.Response:
    """Graph's `{"error": {code, message, innerError}}` answer for `err`."""
    body = {
        "error": {
            "code": err.code,
            "message": err.message,
            "innerError": {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request.headers.get("client-request-id", request_id),
            },
        }
    }
    return web.json_response(body, status=err.status, headers=err.headers)


def new_request_id() -> str:
    """A fresh request id, as Graph puts in `request-id`."""
    return str(uuid.uuid4())


def iso_time(epoch: float) -> str:
    """Graph's timestamp format: ISO-8601 UTC with seven fractional digits and a Z."""
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def parse_time(text: Any) -> float:
    """Epoch seconds of an ISO-8601 timestamp (Z or offset; naive means UTC); ValueError if bad."""
    if not isinstance(text, str) or not text:
        raise ValueError("expected an ISO-8601 timestamp string")
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    # Graph clients send 7 fractional digits; Python accepts at most 6.
    if "." in cleaned:
        head, _, tail = cleaned.partition(".")
        digits = ""
        rest = tail
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        cleaned = f"{head}.{digits[:6]}{rest}" if digits else f"{head}{rest}"
    moment = dt.datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body, or a 400 that says what is wrong with it."""
    try:
        body = await request.json()
    except ValueError as err:
        raise bad_request(f"Request body is not valid JSON: {err}") from err
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body
