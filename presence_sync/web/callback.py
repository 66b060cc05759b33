"""Reading OAuth callbacks: the parameters Entra or RingCentral send back, checked at the edge.

Anyone can request a callback address with any query, so each parameter the sign-in code
reads is checked here first: a known name appears at most once and holds valid Unicode of
the length and form its issuer uses (`state` a URL-safe token, `code` visible ASCII, `error`
a code word); anything else refuses the request with a ValidationError naming the parameter,
before a sign-in state is looked up (so a refused request does not spend it) or a value
reaches the store or the log. Parameters nobody reads are dropped, not passed on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import web

from presence_sync.errors import ValidationError
from presence_sync.untrusted import checked_text
from presence_sync.web.body import read_body

__all__ = ["callback_params"]

_VISIBLE = re.compile(r"[\x21-\x7e]+")  # codes, tokens and client info: no spaces
_BASE64URL = re.compile(r"[A-Za-z0-9_\-.=+/]+")
_WORD = re.compile(r"[A-Za-z0-9_.\-]+")

# name -> (the longest value, its form; None: any valid Unicode text)
_PARAMS: dict[str, tuple[int, re.Pattern[str] | None]] = {
    "state": (256, re.compile(r"[A-Za-z0-9_\-.~]+")),  # ours, or MSAL's 16 letters
    "code": (8192, _VISIBLE),  # Entra's codes run to about 1,500 characters
    "error": (128, _WORD),
    "error_description": (2048, None),
    "error_uri": (2048, _VISIBLE),
    "admin_consent": (8, re.compile(r"(?i)true|false")),
    "tenant": (256, re.compile(r"[A-Za-z0-9.\-]+")),  # a GUID or a domain
    "scope": (2048, re.compile(r"[\x20-\x7e]+")),
    "session_state": (256, _VISIBLE),
    "client_info": (4096, _BASE64URL),
    "id_token": (16384, _BASE64URL),
}
_FORM = "application/x-www-form-urlencoded"


def checked_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The known parameters among `pairs`, each checked; ValidationError naming the first bad."""
    found: dict[str, str] = {}
    for name, value in pairs:
        rule = _PARAMS.get(name)
        if rule is None:
            continue
        if name in found:
            raise ValidationError(f"the callback parameter {name} is given more than once")
        limit, pattern = rule
        # An empty value is its own answer (no code, no state): the sign-in code refuses it.
        found[name] = value and checked_text(
            value, f"the callback parameter {name}", limit=limit, pattern=pattern
        )
    return found


async def _form_pairs(request: web.Request) -> list[tuple[str, str]]:
    if request.content_type != _FORM:
        raise ValidationError(f"a callback form must be sent as {_FORM}")
    body = await read_body(request)
    try:
        text = body.decode("ascii")  # a URL-encoded form is ASCII; its values are escaped
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as err:
        raise ValidationError("the callback form is not URL-encoded UTF-8") from err


async def callback_params(request: web.Request) -> Mapping[str, str]:
    """The checked parameters of a callback: its form when posted, else its query."""
    if request.method == "POST":
        return checked_params(await _form_pairs(request))
    return checked_params(list(request.query.items()))
