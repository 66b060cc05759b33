"""Reading an activity the channel posts: every field the bot uses, checked before botbuilder.

botbuilder's deserializer takes nearly anything (`"text": 5` stays an int, an unknown
`conversationType` passes), and the bot stores what it reads: the sender's Entra id keys their
conversation reference, the service URL is where their notices go. So the body, already a
total JSON object (`presence_sync.untrusted.parse_json`), is checked here field by field:
ids are bounded text of their usual form, the Entra id is GUID-like, the service URL is an https
(or loopback http) address, texts are bounded. A body that fails answers 400 naming the field;
what passes is the `Activity` botbuilder would have made of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity

from presence_sync.errors import ValidationError
from presence_sync.untrusted import checked_text

__all__ = ["MAX_TEXT", "checked_activity"]

MAX_TEXT = 28_000  # Teams refuses messages over about 28 KB
_ID = re.compile(r"[\x21-\x7e]+")  # "29:1a…", "a:1b…", "19:…@thread.v2": visible ASCII
# Entra object and tenant ids are GUIDs; test channels (Agents Playground) send other hex-ish ids.
_GUID_LIKE = re.compile(r"[0-9A-Za-z\-]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9/_.\-]*")  # types, names, channel ids, formats
_CONVERSATION_TYPES = frozenset({"personal", "groupChat", "channel"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# field -> (the longest value, its form)
_TEXTS: dict[str, tuple[int, re.Pattern[str] | None]] = {
    "type": (64, _WORD),
    "id": (256, _ID),
    "name": (128, _WORD),
    "action": (64, _WORD),
    "channelId": (64, _WORD),
    "textFormat": (32, _WORD),
    "replyToId": (256, _ID),
    "locale": (32, _WORD),
    "text": (MAX_TEXT, None),
}
_ACCOUNT_TEXTS: dict[str, tuple[int, re.Pattern[str] | None]] = {
    "id": (256, _ID),
    "name": (256, None),
    "aadObjectId": (64, _GUID_LIKE),
    "role": (32, _WORD),
}
_CONVERSATION_TEXTS: dict[str, tuple[int, re.Pattern[str] | None]] = {
    "id": (512, _ID),
    "name": (256, None),
    "tenantId": (64, _GUID_LIKE),
}


def _texts(
    body: Mapping[str, Any], rules: Mapping[str, tuple[int, re.Pattern[str] | None]], where: str
) -> None:
    for field, (limit, pattern) in rules.items():
        value = body.get(field)
        if value is None or value == "":
            continue
        checked_text(value, f"{where}{field}", limit=limit, pattern=pattern)


def _part(body: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(f"the activity's {field} must be an object")
    return value


def _service_url(value: object) -> None:
    url = checked_text(value, "the activity's serviceUrl", limit=512, pattern=_ID)
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise ValidationError("the activity's serviceUrl is not an https address")


def checked_activity(body: object) -> Activity:
    """The activity `body` holds, every field the bot reads checked; ValidationError if not."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
        raise ValidationError("the body is not an activity: it needs a type")
    _texts(body, _TEXTS, "the activity's ")
    for field in ("from", "recipient"):
        account = _part(body, field)
        if account is not None:
            _texts(account, _ACCOUNT_TEXTS, f"the activity's {field}.")
    conversation = _part(body, "conversation")
    if conversation is None:
        raise ValidationError("the activity needs a conversation and a serviceUrl")
    _texts(conversation, _CONVERSATION_TEXTS, "the activity's conversation.")
    kind = conversation.get("conversationType")
    if kind is not None and (not isinstance(kind, str) or kind not in _CONVERSATION_TYPES):
        raise ValidationError("the activity's conversation.conversationType is not one Teams uses")
    if body.get("serviceUrl") is None:
        raise ValidationError("the activity needs a conversation and a serviceUrl")
    _service_url(body["serviceUrl"])
    for field in ("entities", "membersAdded", "membersRemoved", "attachments"):
        items = body.get(field)
        if items is not None and (
            not isinstance(items, list) or not all(isinstance(i, dict) for i in items)
        ):
            raise ValidationError(f"the activity's {field} must be a list of objects")
    try:
        return Activity().deserialize(dict(body))
    except DeserializationError as err:
        raise ValidationError(
            "the activity is malformed: a field does not have the type botbuilder expects"
        ) from err
