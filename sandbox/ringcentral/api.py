"""RingCentral's error shapes and small formatting helpers shared by every route.

RingCentral REST errors look like
``{"errorCode", "message", "errors": [{"errorCode", "message", "parameterName"?}]}``;
OAuth errors look like ``{"error", "error_description", "errors": [{"errorCode", "message"}]}``.
Handlers raise `RcApiError`; the route wrapper turns it into the answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

REST_PREFIX = "/ringcentral/restapi"
API_PREFIX = f"{REST_PREFIX}/v1.0"


class RcApiError(Exception):
    """An error answer in RingCentral's shape, raised by handlers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message") or body.get("error_description") or str(status))
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> web.Response:
        """The error as an aiohttp response."""
        return web.json_response(self.body, status=self.status, headers=self.headers)


def rest_error(
    status: int,
    code: str,
    message: str,
    parameter: str | None = None,
    value: Any = None,
) -> RcApiError:
    """A REST API error; `parameter` names the offending field as RingCentral does."""
    item: dict[str, Any] = {"errorCode": code, "message": message}
    body: dict[str, Any] = {"errorCode": code, "message": message, "errors": [item]}
    if parameter is not None:
        item["parameterName"] = parameter
        body["parameterName"] = parameter
        if value is not None:
            item["parameterValue"] = value if isinstance(value, str) else json.dumps(value)
    return RcApiError(status, body)


def invalid_parameter(parameter: str, value: Any = None, why: str = "") -> RcApiError:
    """400 CMN-101: a request field has a value RingCentral refuses."""
    message = f"Parameter [{parameter}] value is invalid"
    if why:
        message = f"{message}: {why}"
    return rest_error(400, "CMN-101", message, parameter, value)


def not_found(parameter: str, value: Any = None) -> RcApiError:
    """404 CMN-102: the resource named by a path parameter does not exist."""
    return rest_error(
        404, "CMN-102", f"Resource for parameter [{parameter}] is not found", parameter, value
    )


def oauth_error(status: int, error: str, code: str, description: str) -> RcApiError:
    """An OAuth endpoint error (token, revoke)."""
    return RcApiError(
        status,
        {
            "error": error,
            "errors": [{"errorCode": code, "message": description}],
            "error_description": description,
        },
    )


def iso(epoch: float) -> str:
    """An epoch second as RingCentral formats timestamps (UTC, milliseconds, Z)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a RingCentral 400."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as err:
        raise rest_error(400, "CMN-100", "Request body is not valid JSON") from err
    if not isinstance(body, dict):
        raise rest_error(400, "CMN-100", "Request body must be a JSON object")
    return body


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or CMN-101 naming it."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise invalid_parameter(name, raw, "must be an integer") from err
    if not low <= value <= high:
        raise invalid_parameter(name, raw, f"must be between {low} and {high}")
    return value


def query_flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter (`true`/`false`, default false)."""
    raw = request.query.get(name, "false").lower()
    if raw not in {"true", "false"}:
        raise invalid_parameter(name, raw, "must be true or false")
    return raw == "true"


def control_error(status: int, message: str) -> web.Response:
    """An error answer of the /_sandbox control API."""
    return web.json_response({"error": message}, status=status)
