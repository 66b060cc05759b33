"""Graph's sendMail, recorded so tests and the demo can read what the product sent."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.graph.auth import Caller, permission
from sandbox.graph.errors import GraphRequestError, bad_request, iso_time, json_body, not_found
from sandbox.graph.state import GraphState

SEND = permission(app="Mail.Send", delegated="Mail.Send")
MAX_KEPT = 5_000  # the oldest mails are forgotten beyond this, so long demos stay small


def _addresses(message: dict[str, Any], field: str) -> list[str]:
    raw = message.get(field) or []
    if not isinstance(raw, list):
        raise bad_request(f"message.{field} must be an array of recipients")
    found = []
    for entry in raw:
        address = entry.get("emailAddress", {}).get("address") if isinstance(entry, dict) else None
        if not isinstance(address, str) or "@" not in address:
            raise GraphRequestError(
                400,
                "ErrorInvalidRecipients",
                f"At least one recipient is not valid: {entry!r} in message.{field}.",
            )
        found.append(address)
    return found


def setup_mail(app: web.Application, state: GraphState) -> None:
    """Mount sendMail and the /_sandbox/mail control route."""

    async def send_mail(request: web.Request, caller: Caller) -> web.StreamResponse:
        key = request.match_info["id"]
        user = state.directory.find(key)
        if user is None:
            raise not_found(f"The mailbox '{key}' does not exist.", code="ErrorInvalidUser")
        body = await json_body(request)
        message = body.get("message")
        if not isinstance(message, dict):
            raise bad_request("'message' is required and must be an object")
        to = _addresses(message, "toRecipients")
        cc = _addresses(message, "ccRecipients")
        bcc = _addresses(message, "bccRecipients")
        if not (to or cc or bcc):
            raise GraphRequestError(
                400, "ErrorInvalidRecipients", "At least one recipient is required."
            )
        content = message.get("body") or {}
        if not isinstance(content, dict):
            raise bad_request("message.body must be an object")
        content_type = str(content.get("contentType", "Text"))
        if content_type.lower() not in ("text", "html"):
            raise bad_request(f"message.body.contentType {content_type!r} must be Text or HTML")
        attachments = message.get("attachments") or []
        if not isinstance(attachments, list):
            raise bad_request("message.attachments must be an array")
        state.mail.append(
            {
                "from": user.mail or user.user_principal_name,
                "to": to,
                "cc": cc,
                "bcc": bcc,
                "subject": message.get("subject") or "",
                "body": {"contentType": content_type, "content": content.get("content", "")},
                "attachments": len(attachments),
                "saveToSentItems": bool(body.get("saveToSentItems", True)),
                "at": iso_time(state.ctx.clock.now()),
            }
        )
        del state.mail[:-MAX_KEPT]
        return web.Response(status=202)

    async def list_mail(request: web.Request) -> web.StreamResponse:
        return web.json_response({"mail": state.mail, "count": len(state.mail)})

    async def clear_mail(request: web.Request) -> web.StreamResponse:
        state.mail.clear()
        return web.Response(status=204)

    state.add(app, "POST", "/users/{id}/sendMail", send_mail, SEND)
    app.router.add_get("/_sandbox/mail", list_mail)
    app.router.add_delete("/_sandbox/mail", clear_mail)
