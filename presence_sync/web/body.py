"""Reading JSON request bodies: anything but a JSON object is refused with a 400 in words."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from presence_sync.errors import ValidationError

__all__ = ["json_object"]


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body (an empty body counts as `{}`)."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (ValueError, RecursionError) as err:  # RecursionError: absurdly deep nesting
        raise ValidationError("the request body must be JSON") from err
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body
