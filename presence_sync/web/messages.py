"""The Bot Framework endpoint: `POST /api/messages`, answered by the Teams bot (`bot/`)."""

from __future__ import annotations

from aiohttp import web

from presence_sync.web.body import json_object
from presence_sync.web.keys import BOT

__all__ = ["BOT_MESSAGES", "add_routes"]

BOT_MESSAGES = "/api/messages"


async def messages(request: web.Request) -> web.Response:
    """One activity from the channel (Teams, or Agents Playground on loopback)."""
    return await request.app[BOT].handle(request, json_object)


def add_routes(app: web.Application) -> None:
    """Add the bot's endpoint."""
    app.router.add_post(BOT_MESSAGES, messages)
