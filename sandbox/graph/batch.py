"""Graph's JSON batching: up to 20 requests in one POST, each authorised and throttled alone.

Each inner request is replayed over HTTP against the sandbox itself, so it passes through the
same recording, fault injection, authentication and throttling as a direct call would.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.graph.auth import Caller
from sandbox.graph.errors import bad_request, json_body
from sandbox.graph.state import PREFIX, GraphState

logger = logging.getLogger(__name__)

MAX_REQUESTS = 20
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
_PASSED_HEADERS = ("Content-Type", "Retry-After", "Location")


def _validate(requests: Any) -> list[dict[str, Any]]:
    if not isinstance(requests, list) or not requests:
        raise bad_request("'requests' must be a non-empty array")
    if len(requests) > MAX_REQUESTS:
        raise bad_request(
            f"The batch holds {len(requests)} requests; the limit is {MAX_REQUESTS}.",
            code="BadRequest",
        )
    seen: set[str] = set()
    for entry in requests:
        if not isinstance(entry, dict):
            raise bad_request("each batch request must be an object")
        rid, method, url = entry.get("id"), entry.get("method"), entry.get("url")
        if not isinstance(rid, str) or not rid or rid in seen:
            raise bad_request("each batch request needs a unique string 'id'")
        seen.add(rid)
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise bad_request(f"request {rid}: method {method!r} is not supported")
        if not isinstance(url, str) or not url or "://" in url:
            raise bad_request(f"request {rid}: 'url' must be relative to /v1.0, e.g. /users")
    return requests


def setup_batch(app: web.Application, state: GraphState) -> None:
    """Mount POST /graph/v1.0/$batch."""

    async def batch(request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        entries = _validate(body.get("requests"))
        http = state.ctx.http
        if http is None:
            raise bad_request("the sandbox has no outbound HTTP session for $batch")
        origin = state.base(request)
        authorization = request.headers.get("Authorization", "")
        responses = []
        statuses: dict[str, int] = {}
        for entry in entries:
            rid = entry["id"]
            depends = entry.get("dependsOn") or []
            if any(not 200 <= statuses.get(dep, 424) < 300 for dep in depends):
                statuses[rid] = 424
                responses.append({"id": rid, "status": 424, "body": None})
                continue
            answer = await _replay(http, origin, authorization, entry)
            statuses[rid] = answer["status"]
            responses.append(answer)
        return web.json_response({"responses": responses})

    state.add(app, "POST", "/$batch", batch, None, throttled=False)


async def _replay(
    http: aiohttp.ClientSession, origin: str, authorization: str, entry: dict[str, Any]
) -> dict[str, Any]:
    path = entry["url"] if entry["url"].startswith("/") else "/" + entry["url"]
    headers = {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}
    headers["Authorization"] = authorization
    kwargs: dict[str, Any] = {"headers": headers}
    if "body" in entry:
        kwargs["json"] = entry["body"]
    try:
        async with http.request(
            entry["method"].upper(),
            f"{origin}{PREFIX}{path}",
            timeout=aiohttp.ClientTimeout(total=30),
            **kwargs,
        ) as response:
            payload: Any = None
            raw = await response.read()
            if raw and response.content_type == "application/json":
                payload = await response.json()
            elif raw:
                payload = raw.decode(errors="replace")
            passed = {k: response.headers[k] for k in _PASSED_HEADERS if k in response.headers}
            return {
                "id": entry["id"],
                "status": response.status,
                "headers": passed,
                "body": payload,
            }
    except (aiohttp.ClientError, TimeoutError) as err:
        logger.warning("batch request %s failed: %s", entry["id"], type(err).__name__)
        return {"id": entry["id"], "status": 503, "body": None}
