"""Reading request bodies at the edge: bounded, decompressed safely, and parsed totally.

Every route that reads a body goes through `read_body`: a declared length over the limit
answers 413 before anything is read, a streamed body is cut off at the limit (counted after
decompression, so a gzip bomb stops there too), and a `Content-Encoding` body that does not
decompress answers 400 instead of surfacing aiohttp's payload error as a 500. JSON bodies are
then parsed by `presence_sync.untrusted.parse_json`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from presence_sync.errors import ValidationError
from presence_sync.untrusted import parse_json

__all__ = ["json_object", "read_body"]


async def read_body(request: web.Request) -> bytes:
    """The request's body bytes, within the app's size limit; ValidationError if undecodable."""
    limit = request.app._client_max_size  # the limit create_app configured
    if request.content_length is not None and request.content_length > limit:
        # Refuse on the declared size: reading 5 MB only to throw it away is the attack.
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    try:
        return await request.read()  # stops and answers 413 once more than the limit arrived
    except web.RequestPayloadError as err:
        # The rest of this body cannot be decoded either: mark it read, or aiohttp's lingering
        # close would read it again after the answer and log the same error as a traceback.
        request.content.feed_eof()
        raise ValidationError(
            "the request body could not be read: it does not match its Content-Encoding"
        ) from err


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body (an empty body counts as `{}`)."""
    if not request.can_read_body:
        return {}
    body = parse_json(await read_body(request))
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body
