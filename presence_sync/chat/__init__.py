"""`presence-sync chat`: a terminal chat with the bot through the sandbox's Teams.

A client of the running demo over HTTP only: it imports nothing of the server (an import
contract in pyproject.toml says so).
"""

from presence_sync.chat.main import chat, run_chat
from presence_sync.chat.render import Button, Rendered, render_card, render_message
from presence_sync.chat.target import ChatError, ChatTarget, find_target

__all__ = [
    "Button",
    "ChatError",
    "ChatTarget",
    "Rendered",
    "chat",
    "find_target",
    "render_card",
    "render_message",
    "run_chat",
]
