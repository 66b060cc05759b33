"""Bot Connector emulation under /connector/v3/: the conversations the bot talks in.

The bot authenticates with a token from the sandbox's Entra ID for its own app id (audience
https://api.botframework.com), exactly as botbuilder's connector client gets one. Everything
the bot sends is kept per user so `/_sandbox/chats/{email}` can show it; updates replace the
activity they name, as they do in the Teams client.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.entra_state import BOT_AUDIENCE
from sandbox.model import TeamsUser
from sandbox.tokens import TokenError, bearer

__all__ = [
    "CONNECTOR",
    "ChatLog",
    "Conversation",
    "app_installed",
    "chat_id_for",
    "member_id_for",
    "setup",
    "user_for_member",
]

logger = logging.getLogger(__name__)


def _digest(*parts: str) -> str:
    raw = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def member_id_for(ctx: SandboxContext, user: TeamsUser) -> str:
    """The user's Teams member id as bots see it (`29:…`), stable for the tenant and bot."""
    return f"29:1{_digest(ctx.config.bot_app_id, user.id)[:42]}"


def chat_id_for(ctx: SandboxContext, user: TeamsUser) -> str:
    """The 1:1 chat id between the bot and `user`, the same wherever it is asked for."""
    return f"a:1{_digest('personal', ctx.config.bot_app_id, user.id)[:60]}"


def user_for_member(ctx: SandboxContext, member_id: str) -> TeamsUser | None:
    """The user named by a Teams member id, an AAD object id or `8:orgid:<object id>`."""
    if member_id.startswith("8:orgid:"):
        member_id = member_id.removeprefix("8:orgid:")
    user = ctx.org.teams_users.get(member_id)
    if user is not None:
        return user
    for candidate in ctx.org.teams_users.values():
        if member_id_for(ctx, candidate) == member_id:
            return candidate
    return None


def shared_id_for(ctx: SandboxContext, user: TeamsUser, kind: str) -> str:
    """The id of the group chat (or team channel) `user` shares with the bot."""
    return f"19:{_digest(kind, ctx.config.bot_app_id, user.id)[:32]}@thread.v2"


def iso_now() -> str:
    """The current time the way the Bot Framework writes timestamps."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Conversation:
    """One personal conversation between the bot and a user."""

    id: str
    user_id: str
    kind: str = "personal"  # or "groupChat" / "channel": a shared conversation the user is in
    established: bool = False  # the user has the app: they wrote, or Teams told the bot
    bot_messages: list[dict[str, Any]] = field(default_factory=list)
    user_messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ChatLog:
    """Every personal conversation, by conversation id."""

    conversations: dict[str, Conversation] = field(default_factory=dict)
    _chat_ids: dict[str, str] = field(default_factory=dict)  # chat id -> user id, built lazily

    def find(self, ctx: SandboxContext, conv_id: str) -> Conversation | None:
        """The personal conversation `conv_id`; every user's chat with the bot exists in Teams."""
        conv = self.conversations.get(conv_id)
        if conv is not None:
            return conv
        if len(self._chat_ids) != len(ctx.org.teams_users):
            self._chat_ids = {chat_id_for(ctx, u): u.id for u in ctx.org.teams_users.values()}
        user = ctx.org.teams_users.get(self._chat_ids.get(conv_id, ""))
        return self.open(ctx, user) if user is not None else None

    def open(self, ctx: SandboxContext, user: TeamsUser) -> Conversation:
        """The conversation with `user`, created on first use."""
        conv_id = chat_id_for(ctx, user)
        conv = self.conversations.get(conv_id)
        if conv is None:
            conv = self.conversations[conv_id] = Conversation(conv_id, user.id)
        return conv

    def open_shared(self, ctx: SandboxContext, user: TeamsUser, kind: str) -> Conversation:
        """The group chat or team channel `user` writes to the bot from (one per user)."""
        conv_id = shared_id_for(ctx, user, kind)
        conv = self.conversations.get(conv_id)
        if conv is None:
            conv = self.conversations[conv_id] = Conversation(conv_id, user.id, kind, True)
        return conv

    def describe(
        self, ctx: SandboxContext, user: TeamsUser, kind: str = "personal"
    ) -> dict[str, Any]:
        """JSON for GET /_sandbox/chats/{email}[?conversation=groupChat|channel]."""
        conv_id = chat_id_for(ctx, user) if kind == "personal" else shared_id_for(ctx, user, kind)
        conv = self.conversations.get(conv_id)
        return {
            "email": user.user_principal_name,
            "conversation_id": conv_id,
            "messages": [m for m in conv.bot_messages if not m.get("deleted")] if conv else [],
            "user_messages": list(conv.user_messages) if conv else [],
        }


CONNECTOR = web.AppKey("connector_log", ChatLog)
CTX = web.AppKey("connector_ctx", SandboxContext)


def app_installed(app: web.Application, ctx: SandboxContext, user: TeamsUser) -> bool:
    """Whether the bot may open a chat with `user`: the app is installed for them."""
    conv = app[CONNECTOR].conversations.get(chat_id_for(ctx, user))
    if conv is not None and conv.established:
        return True
    try:
        from sandbox.graph import GRAPH_STATE  # Graph keeps Teams app installations
    except ImportError:
        return True
    graph = app.get(GRAPH_STATE)
    return graph is None or bool(graph.installs.get(user.id))


async def _throttled(request: web.Request) -> web.Response | None:
    """The `connector-sends` fault's answer, if it fires: Teams throttling what the bot sends.

    Asked once the token is accepted and before anything is stored, so a refused send changes
    nothing and a retry after `Retry-After` is the first the chat sees of it.
    """
    return await request.app[CTX].faults.before_request("connector-sends")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _authenticated(request: web.Request) -> web.Response | None:
    """None if the bot's token is good, else the connector's 401/403 answer."""
    ctx = request.app[CTX]
    try:
        claims = ctx.entra_tokens.verify(
            bearer(request.headers.get("Authorization")),
            audience=[BOT_AUDIENCE],
            now=ctx.clock.now(),
        )
    except TokenError as err:
        logger.info("connector refused a token: %s", err)
        return web.json_response(
            {"message": "Authorization has been denied for this request."}, status=401
        )
    if (claims.get("appid") or claims.get("azp")) != ctx.config.bot_app_id:
        return _error(403, "Forbidden", "The token is not for the bot's app id.")
    return None


async def _json(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "BadSyntax", "The request body is not JSON.")
    if not isinstance(body, dict):
        return _error(400, "BadSyntax", "The request body must be a JSON object.")
    return body


async def create_conversation(request: web.Request) -> web.Response:
    """POST /connector/v3/conversations: the 1:1 conversation with one user (new or existing)."""
    ctx = request.app[CTX]
    if (denied := _authenticated(request)) is not None:
        return denied
    if (throttled := await _throttled(request)) is not None:
        return throttled
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    if body.get("isGroup"):
        return _error(400, "BadArgument", "Group conversations are not supported for bots.")
    members = body.get("members") or []
    if len(members) != 1 or not isinstance(members[0], dict) or not members[0].get("id"):
        return _error(400, "BadArgument", "Exactly one member with an id is required.")
    tenant = (body.get("channelData") or {}).get("tenant", {}).get("id") or body.get("tenantId")
    if tenant is not None and tenant != ctx.org.tenant_id:
        return _error(403, "Forbidden", "The tenant does not match the bot's tenant.")
    user = user_for_member(ctx, str(members[0]["id"]))
    if user is None:
        return _error(404, "MemberNotFound", "The member was not found in the tenant.")
    if not user.account_enabled:
        return _error(403, "Forbidden", "The user is disabled.")
    if not app_installed(request.app, ctx, user):
        # Teams refuses proactive chats with people who do not have the app installed.
        return _error(403, "Forbidden", "The bot is not part of the conversation roster.")
    conv = request.app[CONNECTOR].open(ctx, user)
    activity = body.get("activity")
    if isinstance(activity, dict):
        _store(conv, activity, None)
    return web.json_response({"id": conv.id}, status=201)


def _store(conv: Conversation, activity: dict[str, Any], reply_to: str | None) -> str:
    activity_id = f"{int(time.time() * 1000)}{len(conv.bot_messages):04d}"
    record = {
        "id": activity_id,
        "type": activity.get("type", "message"),
        "text": activity.get("text"),
        "textFormat": activity.get("textFormat"),
        "attachments": activity.get("attachments") or [],
        "suggestedActions": activity.get("suggestedActions"),
        "summary": activity.get("summary"),
        "replyToId": reply_to or activity.get("replyToId"),
        "timestamp": iso_now(),
        "updated": None,
        "channelData": activity.get("channelData"),
    }
    conv.bot_messages.append(record)
    return activity_id


async def send_activity(request: web.Request) -> web.Response:
    """POST …/conversations/{id}/activities[/{activityId}]: the bot sends (or replies)."""
    if (denied := _authenticated(request)) is not None:
        return denied
    if (throttled := await _throttled(request)) is not None:
        return throttled
    conv = request.app[CONNECTOR].find(request.app[CTX], request.match_info["conversation"])
    if conv is None:
        return _error(404, "ConversationNotFound", "Conversation not found.")
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    if body.get("type", "message") == "typing":
        return web.json_response({"id": uuid.uuid4().hex}, status=200)
    if body.get("type", "message") == "message" and not (
        body.get("text") or body.get("attachments")
    ):
        return _error(400, "BadArgument", "A message needs text or attachments.")
    activity_id = _store(conv, body, request.match_info.get("activity"))
    return web.json_response({"id": activity_id}, status=201)


async def update_activity(request: web.Request) -> web.Response:
    """PUT …/conversations/{id}/activities/{activityId}: the bot edits a message it sent."""
    if (denied := _authenticated(request)) is not None:
        return denied
    conv = request.app[CONNECTOR].find(request.app[CTX], request.match_info["conversation"])
    if conv is None:
        return _error(404, "ConversationNotFound", "Conversation not found.")
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    activity_id = request.match_info["activity"]
    for record in conv.bot_messages:
        if record["id"] == activity_id and not record.get("deleted"):
            record.update(
                text=body.get("text"),
                attachments=body.get("attachments") or [],
                summary=body.get("summary"),
                updated=iso_now(),
            )
            return web.json_response({"id": activity_id}, status=200)
    return _error(404, "ActivityNotFound", "Activity not found.")


async def delete_activity(request: web.Request) -> web.Response:
    """DELETE …/conversations/{id}/activities/{activityId}."""
    if (denied := _authenticated(request)) is not None:
        return denied
    conv = request.app[CONNECTOR].find(request.app[CTX], request.match_info["conversation"])
    if conv is None:
        return _error(404, "ConversationNotFound", "Conversation not found.")
    for record in conv.bot_messages:
        if record["id"] == request.match_info["activity"]:
            record["deleted"] = True
            return web.Response(status=200)
    return _error(404, "ActivityNotFound", "Activity not found.")


def teams_account(ctx: SandboxContext, user: TeamsUser) -> dict[str, Any]:
    """The user as the connector's member APIs describe a Teams channel account."""
    return {
        "id": member_id_for(ctx, user),
        "name": user.display_name,
        "aadObjectId": user.id,
        "email": user.mail or user.user_principal_name,
        "userPrincipalName": user.user_principal_name,
        "tenantId": ctx.org.tenant_id,
        "userRole": "user",
    }


async def members(request: web.Request) -> web.Response:
    """GET …/conversations/{id}/members[/{memberId}]: who the bot is talking to."""
    ctx = request.app[CTX]
    if (denied := _authenticated(request)) is not None:
        return denied
    conv = request.app[CONNECTOR].find(request.app[CTX], request.match_info["conversation"])
    user = ctx.org.teams_users.get(conv.user_id) if conv else None
    if conv is None or user is None:
        return _error(404, "ConversationNotFound", "Conversation not found.")
    wanted = request.match_info.get("member")
    if wanted is None:
        return web.json_response([teams_account(ctx, user)])
    if user_for_member(ctx, wanted) is not user:
        return _error(404, "MemberNotFound", "The member was not found in the conversation.")
    return web.json_response(teams_account(ctx, user))


async def paged_members(request: web.Request) -> web.Response:
    """GET …/conversations/{id}/pagedmembers: one page holding the one member."""
    ctx = request.app[CTX]
    if (denied := _authenticated(request)) is not None:
        return denied
    conv = request.app[CONNECTOR].find(ctx, request.match_info["conversation"])
    user = ctx.org.teams_users.get(conv.user_id) if conv else None
    if user is None:
        return _error(404, "ConversationNotFound", "Conversation not found.")
    return web.json_response({"members": [teams_account(ctx, user)], "continuationToken": None})


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount the connector routes and keep the chat log in `app[CONNECTOR]`."""
    app[CTX] = ctx
    app[CONNECTOR] = ChatLog()
    base = "/connector/v3/conversations"
    app.router.add_post(base, create_conversation)
    app.router.add_post(f"{base}/{{conversation}}/activities", send_activity)
    app.router.add_post(f"{base}/{{conversation}}/activities/{{activity}}", send_activity)
    app.router.add_put(f"{base}/{{conversation}}/activities/{{activity}}", update_activity)
    app.router.add_delete(f"{base}/{{conversation}}/activities/{{activity}}", delete_activity)
    app.router.add_get(f"{base}/{{conversation}}/members", members)
    app.router.add_get(f"{base}/{{conversation}}/members/{{member}}", members)
    app.router.add_get(f"{base}/{{conversation}}/pagedmembers", paged_members)
