"""Entra ID's front channel: the sign-in page (authorize) and the admin consent page.

Headless use: `login_hint` (or `POST /_sandbox/consent {"sign_in_as": email}`) picks the
signing-in user, and `sandbox_decision=approve|deny` (or `{"admin_decision": ...}`) answers the
consent page, so tests and the demo follow the redirects without a browser. Otherwise an HTML
page lets a person pick the user and approve or deny.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.entra_state import (
    APP_PERMISSIONS,
    CODE_LIFETIME,
    CTX,
    ENTRA_STATE,
    AuthCode,
    EntraState,
    Refusal,
    client_info,
    clients,
    delegated_scopes,
    known_tenant,
)
from sandbox.model import TeamsUser
from sandbox.seed import GLOBAL_ADMIN

__all__ = ["setup"]

logger = logging.getLogger(__name__)

PICKER_LIMIT = 60  # users listed on the sign-in page; anyone else can be typed in

_STYLE = """
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f3f2f1;margin:0}
.card{background:#fff;max-width:440px;margin:60px auto;padding:32px 40px;
box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px}
.brand{color:#737373;font-size:13px;margin-bottom:20px}
select,input[type=email]{width:100%;padding:8px;margin:6px 0 16px;font-size:15px}
button{padding:8px 24px;font-size:15px;border:0;margin-right:8px;cursor:pointer}
.primary{background:#0067b8;color:#fff}.secondary{background:#ccc}
ul{padding-left:20px}.error{color:#a4262c}
"""


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><div class='card'>"
        f"<div class='brand'>Microsoft (sandbox)</div>{body}</div></body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html")


def _error_page(message: str) -> web.Response:
    return _page("Sign in", f"<h1>Sorry, but we're having trouble signing you in.</h1>"
                 f"<p class='error'>{html.escape(message)}</p>", status=400)


def _with_params(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redirect(redirect_uri: str, params: dict[str, str], response_mode: str) -> web.Response:
    if response_mode == "form_post":
        fields = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in params.items()
        )
        return web.Response(
            text=f"<!doctype html><html><body onload='document.forms[0].submit()'>"
            f"<form method='post' action='{html.escape(redirect_uri)}'>{fields}"
            "<noscript><button>Continue</button></noscript></form></body></html>",
            content_type="text/html",
        )
    raise web.HTTPFound(_with_params(redirect_uri, params))


def _picked_user(
    ctx: SandboxContext, state: EntraState, query: Mapping[str, str]
) -> tuple[TeamsUser | None, str | None]:
    """(user, the email asked for) from login_hint, the picker, or the control API's choice."""
    email = query.get("login_hint") or query.get("sandbox_user") or state.sign_in_as
    if not email:
        return None, None
    return ctx.org.teams_user_by_email(email), email


def _hidden_inputs(query: Mapping[str, str], skip: set[str]) -> str:
    return "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in query.items()
        if k not in skip
    )


def _user_picker(ctx: SandboxContext) -> str:
    options = []
    for user in ctx.org.teams_users.values():
        if not user.account_enabled:
            continue
        label = f"{user.display_name} <{user.user_principal_name}>"
        if user.roles:
            label += f" ({', '.join(user.roles)})"
        options.append(
            f"<option value='{html.escape(user.user_principal_name)}'>{html.escape(label)}"
            "</option>"
        )
        if len(options) >= PICKER_LIMIT:
            break
    return (
        "<label>Pick an account<select name='sandbox_user'>"
        + "".join(options)
        + "</select></label>"
    )


async def authorize(request: web.Request) -> web.Response:
    """GET …/oauth2/v2.0/authorize: sign a user in and redirect back with a code."""
    ctx = request.app[CTX]
    state = request.app[ENTRA_STATE]
    query = request.query
    tenant = request.match_info["tenant"]
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    if not known_tenant(ctx, tenant):
        return _error_page(f"AADSTS90002: Tenant '{tenant}' not found.")
    if client_id not in clients(ctx):
        return _error_page(
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            "directory."
        )
    if not redirect_uri:
        return _error_page(
            "AADSTS900144: The request body must contain the following parameter: "
            "'redirect_uri'."
        )
    mode = query.get("response_mode", "query")
    back = {"state": query["state"]} if "state" in query else {}
    if query.get("response_type", "") != "code":
        refusal = Refusal(
            "unsupported_response_type", 700054, "response_type must be 'code' in the sandbox."
        )
        return _redirect(redirect_uri, {**refusal.redirect_params(), **back}, mode)
    user, asked = _picked_user(ctx, state, query)
    if user is None:
        if asked:
            return _error_page(
                f"AADSTS50034: The user account {asked} does not exist in the "
                f"{ctx.org.tenant_domain} directory."
            )
        if query.get("prompt") == "none":
            refusal = Refusal("login_required", 50058, "A silent sign-in request was sent but "
                              "no user is signed in.")
            return _redirect(redirect_uri, {**refusal.redirect_params(), **back}, mode)
        form = (
            "<h1>Sign in</h1><form method='get'>"
            + _hidden_inputs(query, {"sandbox_user"})
            + _user_picker(ctx)
            + "<button class='primary'>Next</button></form>"
        )
        return _page("Sign in to your account", form)
    if not user.account_enabled:
        refusal = Refusal("access_denied", 50057, "The user account is disabled.")
        return _redirect(redirect_uri, {**refusal.redirect_params(), **back}, mode)
    scopes, refusal_or_none = delegated_scopes(ctx, state, client_id, query.get("scope", ""))
    if refusal_or_none is not None:
        return _redirect(redirect_uri, {**refusal_or_none.redirect_params(), **back}, mode)
    challenge = query.get("code_challenge")
    method = query.get("code_challenge_method", "plain" if challenge else None)
    code = secrets.token_urlsafe(48)
    state.codes[code] = AuthCode(
        client_id=client_id,
        redirect_uri=redirect_uri,
        user_id=user.id,
        scopes=scopes,
        code_challenge=challenge,
        code_challenge_method=method,
        nonce=query.get("nonce"),
        expires_at=ctx.clock.now() + CODE_LIFETIME,
    )
    logger.info("signed in %s for client %s", user.user_principal_name, client_id)
    params = {
        "code": code,
        **back,
        "session_state": secrets.token_hex(16),
        "client_info": client_info(ctx, user),
    }
    return _redirect(redirect_uri, params, mode)


async def admin_consent(request: web.Request) -> web.Response:
    """GET …/v2.0/adminconsent: a Global Administrator approves or denies the product app."""
    ctx = request.app[CTX]
    state = request.app[ENTRA_STATE]
    query = request.query
    tenant = request.match_info["tenant"]
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    if not known_tenant(ctx, tenant):
        return _error_page(f"AADSTS90002: Tenant '{tenant}' not found.")
    if client_id != ctx.config.app_client_id:
        return _error_page(
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            "directory."
        )
    if not redirect_uri:
        return _error_page(
            "AADSTS900144: The request body must contain the following parameter: "
            "'redirect_uri'."
        )
    back = {"state": query["state"]} if "state" in query else {}
    user, asked = _picked_user(ctx, state, query)
    if asked and user is None:
        return _error_page(
            f"AADSTS50034: The user account {asked} does not exist in the "
            f"{ctx.org.tenant_domain} directory."
        )
    decision = query.get("sandbox_decision") or state.admin_decision
    if user is None or decision not in ("approve", "deny"):
        return _consent_page(ctx, query, user)
    if decision == "deny":
        refusal = Refusal("access_denied", 65004, "User declined to consent to access the app.")
        params = {**refusal.redirect_params(), "error_subcode": "cancel", **back}
        return _redirect(redirect_uri, params, "query")
    if not user.account_enabled:
        refusal = Refusal("access_denied", 50057, "The user account is disabled.")
        return _redirect(redirect_uri, {**refusal.redirect_params(), **back}, "query")
    if GLOBAL_ADMIN not in user.roles:
        refusal = Refusal(
            "consent_required",
            90094,
            "The grant requires admin permission. An administrator must grant consent to this "
            "application for the organization.",
        )
        return _redirect(redirect_uri, {**refusal.redirect_params(), **back}, "query")
    state.grant_consent(ctx, user.user_principal_name)
    logger.info("admin consent granted by %s", user.user_principal_name)
    params = {
        "admin_consent": "True",
        "tenant": ctx.org.tenant_id,
        **back,
        "scope": query.get("scope", "https://graph.microsoft.com/.default"),
    }
    return _redirect(redirect_uri, params, "query")


def _consent_page(
    ctx: SandboxContext, query: Mapping[str, str], user: TeamsUser | None
) -> web.Response:
    who = (
        f"<p>Signed in as <b>{html.escape(user.user_principal_name)}</b></p>"
        f"<input type='hidden' name='sandbox_user' value='{html.escape(user.user_principal_name)}'>"
        if user is not None
        else _user_picker(ctx)
    )
    permissions = "".join(f"<li>{html.escape(p)}</li>" for p in APP_PERMISSIONS)
    body = (
        "<h1>Permissions requested</h1>"
        "<p><b>Presence Sync</b> wants to, for your entire organization:</p>"
        f"<ul>{permissions}</ul>"
        "<form method='get'>"
        + _hidden_inputs(query, {"sandbox_user", "sandbox_decision"})
        + who
        + "<button class='primary' name='sandbox_decision' value='approve'>Accept</button>"
        "<button class='secondary' name='sandbox_decision' value='deny'>Cancel</button>"
        "</form>"
    )
    return _page("Permissions requested", body)


def setup(app: web.Application, ctx: SandboxContext, prefix: str) -> None:
    """Mount the authorize and admin consent pages under `prefix` (/entra/{tenant})."""
    del ctx  # handlers read the context from the app, set by sandbox.entra.setup
    app.router.add_get(f"{prefix}/oauth2/v2.0/authorize", authorize)
    app.router.add_get(f"{prefix}/v2.0/adminconsent", admin_consent)
    app.router.add_get(f"{prefix}/adminconsent", admin_consent)
