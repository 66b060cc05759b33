"""Sign-in for every admin route: Teams SSO tokens, the tab's session cookie, step tickets."""

from presence_sync.web.auth.guard import CSRF_HEADER, Caller, TabAuth
from presence_sync.web.auth.sessions import SESSION_COOKIE, Sessions
from presence_sync.web.auth.signin import SignInFlow
from presence_sync.web.auth.tokens import EntraTokens, Identity

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Caller",
    "EntraTokens",
    "Identity",
    "Sessions",
    "SignInFlow",
    "TabAuth",
]
