"""The general control API under /_sandbox/: config, state, faults, requests and consent.

Service-specific control routes (Teams presence, RingCentral calls, mail, limits) belong to
the services; this module holds what spans them. Bad input answers 400 with
`{"error": "..."}` naming the problem; unknown emails answer 404.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from aiohttp import web

from sandbox import ringcentral, teams_client, timeline
from sandbox.context import SandboxContext
from sandbox.entra_state import APP_PERMISSIONS, ENTRA_STATE
from sandbox.model import RcExtension, TeamsUser

__all__ = [
    "CONFIG_FILE",
    "CTX",
    "bad_request",
    "body_of",
    "config_document",
    "describe_state",
    "graph_module",
    "setup",
    "write_config",
]

logger = logging.getLogger(__name__)

CTX = web.AppKey("sandbox_ctx", SandboxContext)
CONFIG_FILE = "sandbox-config.json"


def graph_module() -> ModuleType | None:
    """The Graph emulation, once `sandbox/graph` exports `setup` and `describe`."""
    module = importlib.import_module("sandbox.graph")
    return module if hasattr(module, "setup") and hasattr(module, "describe") else None


def config_document(ctx: SandboxContext) -> dict[str, Any]:
    """What GET /_sandbox/config answers: every identity and address a client needs."""
    cfg = ctx.config
    base = cfg.base_url
    tenant = cfg.tenant_id
    admins = [
        {"email": u.user_principal_name, "roles": list(u.roles)}
        for u in ctx.org.teams_users.values()
        if u.roles
    ]
    sync_candidates = [
        u.user_principal_name
        for u in ctx.org.teams_users.values()
        if u.user_principal_name.startswith("sync") and u.account_enabled
    ]
    return {
        **dataclasses.asdict(cfg),
        "tenant_domain": ctx.org.tenant_domain,
        "time_scale": ctx.clock.scale,
        "rc_mode": ctx.org.rc_mode,
        "config_path": str(Path(cfg.ca_file).parent / CONFIG_FILE),
        "admins": admins,
        "sync_account_candidates": sync_candidates,
        "entra": {
            "authority": f"{base}/entra/{tenant}",
            "openid_configuration": f"{base}/entra/{tenant}/v2.0/.well-known/openid-configuration",
            "token_endpoint": f"{base}/entra/{tenant}/oauth2/v2.0/token",
            "admin_consent_url": f"{base}/entra/{tenant}/v2.0/adminconsent",
            "jwks_uri": f"{base}/entra/{tenant}/discovery/v2.0/keys",
        },
        "graph": {"base_url": f"{base}/graph/v1.0"},
        "bot": {
            "app_id": cfg.bot_app_id,
            "service_url": f"{base}/connector/",
            "channel_service": "sandbox",
            "to_channel_from_bot_login_url": f"{base}/entra/{tenant}",
            "to_channel_from_bot_oauth_scope": "https://api.botframework.com",
            "to_bot_from_channel_token_issuer": ctx.channel_tokens.issuer,
            "to_bot_from_channel_openid_metadata_url": teams_client.openid_metadata_url(ctx),
            "oauth_url": f"{base}/connector/",
            "validate_authority": False,
        },
        "ringcentral": {
            "server_url": f"{base}/ringcentral",
            "account_id": ctx.org.rc_account_id,
        },
        "control_url": f"{base}/_sandbox/",
    }


def write_config(ctx: SandboxContext) -> Path:
    """Write the config document to `<data>/sandbox-config.json` (owner-only: it holds secrets)."""
    path = Path(ctx.config.ca_file).parent / CONFIG_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config_document(ctx), fh, indent=2)
    return path


def bad_request(message: str, status: int = 400) -> web.Response:
    """A control-API error answer."""
    return web.json_response({"error": message}, status=status)


async def body_of(request: web.Request) -> dict[str, Any]:
    """The JSON object body of a control request, or a 400 naming what is wrong."""
    try:
        body = await request.json() if request.can_read_body else {}
    except json.JSONDecodeError as err:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {err.msg}"}),
            content_type="application/json",
        ) from err
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


def _teams_state(ctx: SandboxContext, user: TeamsUser) -> dict[str, Any]:
    graph = graph_module()
    if graph is not None:
        described: dict[str, Any] = graph.describe(ctx, user)
        return described
    p = user.presence
    return {
        "sessions": [dataclasses.asdict(s) for s in p.sessions.values()],
        "preferred": dataclasses.asdict(p.preferred) if p.preferred else None,
    }


def _person(
    ctx: SandboxContext, user: TeamsUser | None, ext: RcExtension | None
) -> dict[str, Any]:
    email = (
        user.user_principal_name if user is not None else (ext.email if ext is not None else None)
    )
    return {
        "email": email,
        "display_name": user.display_name if user is not None else (ext.name if ext else None),
        "teams": None
        if user is None
        else {
            "id": user.id,
            "userPrincipalName": user.user_principal_name,
            "mail": user.mail,
            "accountEnabled": user.account_enabled,
            "roles": list(user.roles),
            "presence": _teams_state(ctx, user),
        },
        "ringcentral": None
        if ext is None
        else {
            "id": ext.id,
            "extensionNumber": ext.extension_number,
            "email": ext.email,
            "status": ext.status,
            "queues": list(ext.queue_ids),
            "presence": ringcentral.describe(ctx, ext),
        },
    }


def people(ctx: SandboxContext) -> list[tuple[TeamsUser | None, RcExtension | None]]:
    """Everyone in the org, pairing Teams users with RingCentral User extensions by email."""
    rc_by_email: dict[str, RcExtension] = {}
    for candidate in ctx.org.rc_extensions.values():
        if candidate.type == "User" and candidate.email:
            rc_by_email.setdefault(candidate.email.lower(), candidate)
    paired: set[str] = set()
    result: list[tuple[TeamsUser | None, RcExtension | None]] = []
    for user in ctx.org.teams_users.values():
        match = rc_by_email.get(user.user_principal_name.lower())
        if match is None and user.mail:
            match = rc_by_email.get(user.mail.lower())
        if match is not None:
            paired.add(match.id)
        result.append((user, match))
    for ext in ctx.org.rc_extensions.values():
        if ext.type == "User" and ext.id not in paired:
            result.append((None, ext))
    return result


def _search_text(user: TeamsUser | None, ext: RcExtension | None) -> str:
    parts = []
    if user is not None:
        parts += [user.user_principal_name, user.mail or "", user.display_name]
    if ext is not None:
        parts += [ext.email or "", ext.name, ext.extension_number]
    return " ".join(parts).lower()


def describe_state(ctx: SandboxContext, request: web.Request) -> dict[str, Any]:
    """GET /_sandbox/state[?q=text&limit=N]: both presences of everyone, consent, counts."""
    snapshot = ctx.recorder.snapshot()
    everyone = people(ctx)
    wanted = request.query.get("q", "").strip().lower()
    matching = [pair for pair in everyone if not wanted or wanted in _search_text(*pair)]
    try:
        limit = max(0, int(request.query.get("limit", len(matching))))
    except ValueError:
        limit = len(matching)
    return {
        "tenant_id": ctx.org.tenant_id,
        "rc_mode": ctx.org.rc_mode,
        "now": ctx.clock.now(),
        "time_scale": ctx.clock.scale,
        "clock_origin": dict(zip(("epoch", "monotonic"), ctx.clock.origin, strict=True)),
        "consent": request.app[ENTRA_STATE].describe(ctx),
        "product_url": ctx.config.product_url,
        "faults": [dataclasses.asdict(f) for f in ctx.faults.active],
        "revoked": sorted(ctx.faults.revoked),
        "requests": {
            "total": sum(snapshot["calls"].values()),
            "throttled": snapshot["total_throttled"],
        },
        "total_people": len(everyone),
        "matching": len(matching),
        "users": [_person(ctx, user, ext) for user, ext in matching[:limit]],
    }


async def get_config(request: web.Request) -> web.Response:
    """GET /_sandbox/config."""
    return web.json_response(config_document(request.app[CTX]))


async def put_config(request: web.Request) -> web.Response:
    """PUT /_sandbox/config {"product_url": "https://…/api/messages" | null}."""
    ctx = request.app[CTX]
    body = await body_of(request)
    unknown = set(body) - {"product_url"}
    if unknown:
        return bad_request(f"unknown config fields {sorted(unknown)}; only product_url is settable")
    url = body.get("product_url")
    is_url = isinstance(url, str) and url.startswith(("http://", "https://"))
    if url is not None and not is_url:
        return bad_request("product_url: an http(s) URL or null")
    ctx.config = dataclasses.replace(ctx.config, product_url=url)
    logger.info("product_url set to %s", url)
    return await get_config(request)


async def get_state(request: web.Request) -> web.Response:
    """GET /_sandbox/state."""
    return web.json_response(describe_state(request.app[CTX], request))


async def get_person(request: web.Request) -> web.Response:
    """GET /_sandbox/state/{email}: one person, matched on either side by email."""
    ctx = request.app[CTX]
    email = request.match_info["email"].lower()
    for user, ext in people(ctx):
        emails = {
            (user.user_principal_name.lower() if user else ""),
            ((user.mail or "").lower() if user else ""),
            ((ext.email or "").lower() if ext else ""),
        }
        if email in emails:
            return web.json_response(_person(ctx, user, ext))
    return bad_request(f"no user with email {email}", status=404)


async def post_fault(request: web.Request) -> web.Response:
    """POST /_sandbox/faults: add a fault or revoke a grant (see Faults.add)."""
    ctx = request.app[CTX]
    body = await body_of(request)
    try:
        ctx.faults.add(body)
    except (TypeError, ValueError) as err:
        return bad_request(str(err))
    state = request.app[ENTRA_STATE]
    if body.get("revoke") == "microsoft-consent":
        # Tokens die now; DELETE /_sandbox/faults lifts the revocation and whatever consent
        # there was is back (a fresh admin consent lifts it too).
        granted = state.consent_granted
        state.revoke_consent(ctx)
        state.consent_granted = granted
    elif body.get("revoke") == "microsoft-refresh-tokens":
        state.refresh_revoked_after = ctx.clock.now()
    logger.info("fault added: %s", body)
    return await get_faults(request)


async def get_faults(request: web.Request) -> web.Response:
    """GET /_sandbox/faults: what is active."""
    ctx = request.app[CTX]
    return web.json_response(
        {
            "faults": [dataclasses.asdict(f) for f in ctx.faults.active],
            "revoked": sorted(ctx.faults.revoked),
        }
    )


async def delete_faults(request: web.Request) -> web.Response:
    """DELETE /_sandbox/faults: clear every fault and revocation."""
    request.app[CTX].faults.clear()
    return await get_faults(request)


async def get_requests(request: web.Request) -> web.Response:
    """GET /_sandbox/requests: calls per service, method and route; 429s served."""
    return web.json_response(request.app[CTX].recorder.snapshot())


async def delete_requests(request: web.Request) -> web.Response:
    """DELETE /_sandbox/requests: start counting afresh."""
    ctx = request.app[CTX]
    ctx.recorder.reset()
    return web.json_response(ctx.recorder.snapshot())


async def get_consent(request: web.Request) -> web.Response:
    """GET /_sandbox/consent."""
    return web.json_response(request.app[ENTRA_STATE].describe(request.app[CTX]))


async def post_consent(request: web.Request) -> web.Response:
    """POST /_sandbox/consent {"granted"?, "sign_in_as"?, "admin_decision"?, "roles"?}."""
    ctx = request.app[CTX]
    state = request.app[ENTRA_STATE]
    body = await body_of(request)
    unknown = set(body) - {"granted", "sign_in_as", "admin_decision", "roles"}
    if unknown:
        return bad_request(f"unknown consent fields: {sorted(unknown)}")
    if "granted" in body and not isinstance(body["granted"], bool):
        return bad_request("granted: true or false")
    if "sign_in_as" in body and body["sign_in_as"] is not None:
        email = body["sign_in_as"]
        if not isinstance(email, str) or ctx.org.teams_user_by_email(email) is None:
            return bad_request(f"sign_in_as: no Teams user with email {email!r}", status=404)
    if body.get("admin_decision") not in (None, "approve", "deny"):
        return bad_request("admin_decision: 'approve', 'deny' or null")
    roles = body.get("roles")
    if roles is not None and (
        not isinstance(roles, list) or any(r not in APP_PERMISSIONS for r in roles)
    ):
        return bad_request(f"roles: a list drawn from {list(APP_PERMISSIONS)}, or null for all")
    if "roles" in body:
        state.granted_roles = None if roles is None else tuple(roles)
    if body.get("granted") is True:
        state.grant_consent(ctx, "control API")
    elif body.get("granted") is False:
        state.revoke_consent(ctx)
    if "sign_in_as" in body:
        state.sign_in_as = body["sign_in_as"]
    if "admin_decision" in body:
        state.admin_decision = body["admin_decision"]
    return web.json_response(state.describe(ctx))


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount the general control routes."""
    app[CTX] = ctx
    app.router.add_get("/_sandbox/config", get_config)
    app.router.add_put("/_sandbox/config", put_config)
    app.router.add_get("/_sandbox/state", get_state)
    app.router.add_get("/_sandbox/state/{email}", get_person)
    app.router.add_get("/_sandbox/faults", get_faults)
    app.router.add_post("/_sandbox/faults", post_fault)
    app.router.add_delete("/_sandbox/faults", delete_faults)
    app.router.add_get("/_sandbox/requests", get_requests)
    app.router.add_delete("/_sandbox/requests", delete_requests)
    app.router.add_get("/_sandbox/consent", get_consent)
    app.router.add_post("/_sandbox/consent", post_consent)
    timeline.add_routes(app, ctx.recorder.timeline)
