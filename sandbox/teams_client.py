"""The Teams client side: users talking to the bot, and the Bot Framework channel's signature.

Activities go to `ctx.config.product_url` (the product's /api/messages) signed the way the
Bot Framework channel signs them: RS256 by `ctx.channel_tokens` (issuer
https://api.botframework.com, audience = the bot's app id, `serviceurl` claim), with keys
published under /_botframework/v1/ with the `msteams` endorsement, so botbuilder's real
`ConfigurationBotFrameworkAuthentication` validates them when pointed at that metadata.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.connector import (
    CONNECTOR,
    ChatLog,
    chat_id_for,
    iso_now,
    member_id_for,
)
from sandbox.context import SandboxContext
from sandbox.model import TeamsUser

__all__ = [
    "ActivityRejectedError",
    "activity_for",
    "channel_token",
    "chat_id_for",
    "conversation_update",
    "deliver",
    "invoke",
    "openid_metadata_url",
    "say",
    "send_installation_update",
    "setup",
]

logger = logging.getLogger(__name__)

CHANNEL_TOKEN_LIFETIME = 3600.0
CTX = web.AppKey("teams_client_ctx", SandboxContext)


class ActivityRejectedError(Exception):
    """The product did not accept an activity (no product URL, unreachable, or non-2xx)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def openid_metadata_url(ctx: SandboxContext) -> str:
    """Where botbuilder reads the channel's OpenID metadata (TO_BOT_FROM_CHANNEL_OPENID_…)."""
    return f"{ctx.config.base_url}/_botframework/v1/.well-known/openidconfiguration"


def service_url(ctx: SandboxContext) -> str:
    """The serviceUrl the bot replies to: the sandbox connector."""
    return f"{ctx.config.base_url}/connector/"


def _bot_account(ctx: SandboxContext) -> dict[str, Any]:
    return {"id": f"28:{ctx.config.bot_app_id}", "name": "Presence Sync"}


def _user_account(ctx: SandboxContext, user: TeamsUser) -> dict[str, Any]:
    return {"id": member_id_for(ctx, user), "name": user.display_name, "aadObjectId": user.id}


def activity_for(ctx: SandboxContext, user: TeamsUser, kind: str) -> dict[str, Any]:
    """A Teams activity of type `kind` from `user` to the bot in their personal chat."""
    return {
        "type": kind,
        "id": f"1:{uuid.uuid4().hex}",
        "timestamp": iso_now(),
        "localTimestamp": iso_now(),
        "serviceUrl": service_url(ctx),
        "channelId": "msteams",
        "from": _user_account(ctx, user),
        "recipient": _bot_account(ctx),
        "conversation": {
            "id": chat_id_for(ctx, user),
            "conversationType": "personal",
            "tenantId": ctx.org.tenant_id,
        },
        "channelData": {"tenant": {"id": ctx.org.tenant_id}},
        "locale": "en-US",
        "entities": [{"type": "clientInfo", "locale": "en-US", "platform": "Web"}],
    }


def channel_token(ctx: SandboxContext) -> str:
    """A Bot Framework channel token for the bot (real time: botbuilder checks it that way)."""
    return ctx.channel_tokens.issue(
        {"aud": ctx.config.bot_app_id, "serviceurl": service_url(ctx)}, CHANNEL_TOKEN_LIFETIME
    )


async def exchange(ctx: SandboxContext, activity: dict[str, Any]) -> tuple[int, bytes]:
    """POST `activity` to the product, signed by the channel; its 2xx status and body."""
    url = ctx.config.product_url
    if not url:
        raise ActivityRejectedError("product_url is not set; PUT /_sandbox/config first")
    if ctx.http is None:
        raise ActivityRejectedError("the sandbox is not running")
    headers = {"Authorization": f"Bearer {channel_token(ctx)}"}
    try:
        async with ctx.http.post(url, json=activity, headers=headers) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as err:
        raise ActivityRejectedError(f"product unreachable at {url}: {err}") from err
    if not 200 <= status < 300:
        raise ActivityRejectedError(f"product answered {status}", status)
    return status, body


async def deliver(ctx: SandboxContext, activity: dict[str, Any]) -> int:
    """POST `activity` to the product, signed by the channel; the product's HTTP status."""
    status, _ = await exchange(ctx, activity)
    return status


async def invoke(
    ctx: SandboxContext, user: TeamsUser, name: str, value: dict[str, Any]
) -> dict[str, Any]:
    """`user` presses an Adaptive Card `Action.Execute` (or another invoke); the bot's answer."""
    activity = activity_for(ctx, user, "invoke")
    activity["name"] = name
    activity["value"] = value
    status, body = await exchange(ctx, activity)
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        answer = body.decode(errors="replace")
    return {"activity_id": activity["id"], "status": status, "body": answer}


async def say(
    ctx: SandboxContext,
    log: ChatLog,
    user: TeamsUser,
    text: str | None,
    value: dict[str, Any] | None = None,
    conversation: str = "personal",
) -> dict[str, Any]:
    """`user` sends the bot a message (or submits an Adaptive Card with `value`), in their
    personal chat or, with `conversation` "groupChat" or "channel", in a shared one."""
    activity = activity_for(ctx, user, "message")
    if text is not None:
        activity["text"] = text
        activity["textFormat"] = "plain"
    if value is not None:
        activity["value"] = value
    if conversation != "personal":
        shared = log.open_shared(ctx, user, conversation)
        activity["conversation"] = {
            "id": shared.id,
            "conversationType": conversation,
            "isGroup": True,
            "tenantId": ctx.org.tenant_id,
        }
        shared.user_messages.append({"id": activity["id"], "text": text, "value": value})
        status = await deliver(ctx, activity)
        return {"activity_id": activity["id"], "status": status}
    conv = log.open(ctx, user)
    conv.established = True
    conv.user_messages.append(
        {"id": activity["id"], "text": text, "value": value, "timestamp": activity["timestamp"]}
    )
    status = await deliver(ctx, activity)
    return {"activity_id": activity["id"], "status": status}


async def send_installation_update(ctx: SandboxContext, user: TeamsUser, action: str) -> None:
    """Tell the product the Teams app was installed ("add") or removed ("remove") for `user`."""
    if not ctx.config.product_url:
        return
    activity = activity_for(ctx, user, "installationUpdate")
    activity["action"] = action
    try:
        await deliver(ctx, activity)
    except ActivityRejectedError as err:
        # Teams does not retry installation events either; the product must cope.
        logger.warning("installationUpdate for %s not accepted: %s", user.id, err)


async def conversation_update(ctx: SandboxContext, user: TeamsUser) -> int:
    """The bot was added to its personal chat with `user` (membersAdded: bot and user)."""
    activity = activity_for(ctx, user, "conversationUpdate")
    activity["membersAdded"] = [_bot_account(ctx), _user_account(ctx, user)]
    return await deliver(ctx, activity)


def _user(request: web.Request) -> TeamsUser:
    ctx = request.app[CTX]
    email = request.match_info["email"]
    user = ctx.org.teams_user_by_email(email)
    if user is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no Teams user with email {email}"}),
            content_type="application/json",
        )
    return user


def _rejected(err: ActivityRejectedError) -> web.Response:
    status = 409 if err.status is None and "product_url" in str(err) else 502
    return web.json_response({"error": str(err), "product_status": err.status}, status=status)


async def post_say(request: web.Request) -> web.Response:
    """POST /_sandbox/teams/{email}/say {"text"} or {"value": {...}} (an Adaptive Card submit)."""
    ctx = request.app[CTX]
    user = _user(request)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    text = body.get("text") if isinstance(body, dict) else None
    value = body.get("value") if isinstance(body, dict) else None
    conversation = body.get("conversation", "personal") if isinstance(body, dict) else None
    if conversation not in ("personal", "groupChat", "channel"):
        return web.json_response(
            {"error": "conversation: personal, groupChat or channel"}, status=400
        )
    if text is not None and not isinstance(text, str):
        return web.json_response({"error": "text: a string"}, status=400)
    if value is not None and not isinstance(value, dict):
        return web.json_response({"error": "value: a JSON object"}, status=400)
    if not text and value is None:
        return web.json_response({"error": "text: required (or value)"}, status=400)
    try:
        result = await say(ctx, request.app[CONNECTOR], user, text, value, conversation)
    except ActivityRejectedError as err:
        return _rejected(err)
    return web.json_response(result)


async def post_invoke(request: web.Request) -> web.Response:
    """POST /_sandbox/teams/{email}/invoke {"name": "adaptiveCard/action", "value": {...}}."""
    ctx = request.app[CTX]
    user = _user(request)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    name = body.get("name", "adaptiveCard/action") if isinstance(body, dict) else None
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        return web.json_response({"error": "name: the invoke name, a string"}, status=400)
    if not isinstance(value, dict):
        return web.json_response({"error": "value: a JSON object"}, status=400)
    try:
        result = await invoke(ctx, user, name, value)
    except ActivityRejectedError as err:
        return _rejected(err)
    return web.json_response(result)


async def post_conversation_update(request: web.Request) -> web.Response:
    """POST /_sandbox/teams/{email}/conversation-update: the bot joins the user's chat."""
    ctx = request.app[CTX]
    user = _user(request)
    request.app[CONNECTOR].open(ctx, user).established = True
    try:
        status = await conversation_update(ctx, user)
    except ActivityRejectedError as err:
        return _rejected(err)
    return web.json_response({"status": status})


async def get_chats(request: web.Request) -> web.Response:
    """GET /_sandbox/chats/{email}[?conversation=groupChat|channel]: what the bot sent the
    user (and what the user said) there."""
    ctx = request.app[CTX]
    kind = request.query.get("conversation", "personal")
    if kind not in ("personal", "groupChat", "channel"):
        return web.json_response(
            {"error": "conversation: personal, groupChat or channel"}, status=400
        )
    return web.json_response(request.app[CONNECTOR].describe(ctx, _user(request), kind))


async def channel_metadata(request: web.Request) -> web.Response:
    """The Bot Framework channel's OpenID metadata document."""
    ctx = request.app[CTX]
    base = f"{ctx.config.base_url}/_botframework/v1"
    return web.json_response(
        {
            "issuer": ctx.channel_tokens.issuer,
            "authorization_endpoint": f"{base}/authorize",
            "jwks_uri": f"{base}/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
    )


async def channel_keys(request: web.Request) -> web.Response:
    """The channel's signing keys, endorsed for the msteams channel."""
    ctx = request.app[CTX]
    keys = [{**key, "endorsements": ["msteams"]} for key in ctx.channel_tokens.jwks()["keys"]]
    return web.json_response({"keys": keys})


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount the channel's metadata and keys and the Teams-user control routes."""
    app[CTX] = ctx
    app.router.add_get("/_botframework/v1/.well-known/openidconfiguration", channel_metadata)
    app.router.add_get("/_botframework/v1/keys", channel_keys)
    app.router.add_post("/_sandbox/teams/{email}/say", post_say)
    app.router.add_post("/_sandbox/teams/{email}/invoke", post_invoke)
    app.router.add_post("/_sandbox/teams/{email}/conversation-update", post_conversation_update)
    app.router.add_get("/_sandbox/chats/{email}", get_chats)
