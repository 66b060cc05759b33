"""Teams app installation for a user, the org app catalog, and the bot chat it opens."""

from __future__ import annotations

import base64
import binascii
import importlib
import logging
import re
import uuid
from types import ModuleType
from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.graph.auth import Caller, permission
from sandbox.graph.errors import GraphRequestError, bad_request, json_body, not_found
from sandbox.graph.state import GraphState
from sandbox.model import TeamsUser

logger = logging.getLogger(__name__)

INSTALL = permission(
    app="TeamsAppInstallation.ReadWriteSelfForUser.All TeamsAppInstallation.ReadWriteForUser.All",
    delegated="TeamsAppInstallation.ReadWriteSelfForUser TeamsAppInstallation.ReadWriteForUser",
)
READ_INSTALLS = permission(
    app=" ".join(
        (
            "TeamsAppInstallation.ReadWriteSelfForUser.All",
            "TeamsAppInstallation.ReadWriteForUser.All",
            "TeamsAppInstallation.ReadForUser.All",
        )
    ),
    delegated="TeamsAppInstallation.ReadWriteSelfForUser TeamsAppInstallation.ReadForUser",
)
READ_CATALOG = permission(
    app=" ".join(
        (
            "AppCatalog.Read.All",
            "AppCatalog.ReadWrite.All",
            "Directory.Read.All",
            "TeamsAppInstallation.ReadWriteSelfForUser.All",
        )
    ),
    delegated="AppCatalog.Read.All AppCatalog.Submit AppCatalog.ReadWrite.All",
)
_BIND = re.compile(r"appCatalogs/teamsApps/(?P<id>[^/?\s]+)\s*$", re.IGNORECASE)
_FILTER = re.compile(
    r"(?P<field>teamsApp/externalId|teamsApp/id|externalId|id)\s+eq\s+'(?P<value>(?:[^']|'')*)'",
    re.IGNORECASE,
)
APP_NAME = "Presence Sync"


def _teams_client() -> ModuleType | None:
    # The Teams client side is another module of the sandbox; Graph works without it.
    try:
        return importlib.import_module("sandbox.teams_client")
    except ImportError:
        return None


def chat_id(ctx: SandboxContext, user: TeamsUser) -> str:
    """The 1:1 chat between the bot and `user`, as the connector names it."""
    client = _teams_client()
    if client is not None and hasattr(client, "chat_id_for"):
        return str(client.chat_id_for(ctx, user))
    return f"19:{user.id}_{ctx.config.bot_app_id}@unq.gbl.spaces"


async def _announce(ctx: SandboxContext, user: TeamsUser, action: str) -> None:
    client = _teams_client()
    if client is None or not hasattr(client, "send_installation_update"):
        return
    try:
        await client.send_installation_update(ctx, user, action)
    except Exception:  # the bot's endpoint failing must not break Graph
        logger.exception("installationUpdate %s for %s failed", action, user.user_principal_name)


def install_id(user_id: str, app_id: str) -> str:
    """Graph's installation id: base64 of '<user id>##<catalog app id>'."""
    return base64.urlsafe_b64encode(f"{user_id}##{app_id}".encode()).decode()


def _app_of(install: str) -> str | None:
    try:
        _, _, app_id = base64.urlsafe_b64decode(install.encode()).decode().partition("##")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return app_id or None


def setup_apps(app: web.Application, state: GraphState) -> None:
    """Mount installedApps, their chat, and the org catalog lookup."""

    def external(app_id: str) -> str:
        return state.catalog.get(app_id, app_id)

    def teams_app(app_id: str) -> dict[str, Any]:
        return {
            "id": app_id,
            "externalId": external(app_id),
            "displayName": APP_NAME,
            "distributionMethod": "organization",
        }

    def installation(user: TeamsUser, app_id: str, expand: str) -> dict[str, Any]:
        body: dict[str, Any] = {"id": install_id(user.id, app_id)}
        if "teamsappdefinition" in expand:
            body["teamsAppDefinition"] = {
                "id": base64.urlsafe_b64encode(f"{app_id}##1.0.0".encode()).decode(),
                "teamsAppId": app_id,
                "displayName": APP_NAME,
                "version": "1.0.0",
            }
        if "teamsapp" in expand.replace("teamsappdefinition", ""):
            body["teamsApp"] = teams_app(app_id)
        return body

    def user_of(request: web.Request) -> TeamsUser:
        key = request.match_info["id"]
        user = state.directory.find(key)
        if user is None:
            raise not_found(f"User '{key}' was not found.", code="NotFound")
        return user

    def installed(user: TeamsUser, request: web.Request) -> str:
        install = request.match_info["install"]
        app_id = _app_of(install)
        if app_id is None or app_id not in state.installs.get(user.id, {}):
            raise not_found(f"The app installation '{install}' was not found.", code="NotFound")
        return app_id

    async def install(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        body = await json_body(request)
        bind = body.get("teamsApp@odata.bind")
        match = _BIND.search(bind) if isinstance(bind, str) else None
        if match is None:
            raise bad_request("'teamsApp@odata.bind' must point at appCatalogs/teamsApps/{id}")
        app_id = match.group("id")
        apps = state.installs.setdefault(user.id, {})
        if app_id in apps:
            raise GraphRequestError(409, "Conflict", "App is already installed for this user.")
        apps[app_id] = external(app_id)
        state.ctx.spawn(_announce(state.ctx, user, "add"))
        return web.Response(status=201)

    async def list_installed(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        expand = request.query.get("$expand", "").lower()
        raw_filter = request.query.get("$filter")
        wanted: tuple[str, str] | None = None
        if raw_filter:
            match = _FILTER.search(raw_filter)
            if match is None:
                raise bad_request(f"Unsupported $filter on installedApps: {raw_filter!r}")
            wanted = (match.group("field").lower(), match.group("value").replace("''", "'"))
        value = []
        for app_id in state.installs.get(user.id, {}):
            if wanted is not None:
                field, target = wanted
                actual = external(app_id) if field.endswith("externalid") else app_id
                if actual != target:
                    continue
            value.append(installation(user, app_id, expand))
        return web.json_response({"value": value})

    async def get_installed(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        app_id = installed(user, request)
        expand = request.query.get("$expand", "").lower()
        return web.json_response(installation(user, app_id, expand))

    async def uninstall(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        app_id = installed(user, request)
        del state.installs[user.id][app_id]
        state.ctx.spawn(_announce(state.ctx, user, "remove"))
        return web.Response(status=204)

    async def chat(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = user_of(request)
        installed(user, request)
        return web.json_response({"id": chat_id(state.ctx, user), "chatType": "oneOnOne"})

    async def catalog(request: web.Request, caller: Caller) -> web.StreamResponse:
        raw_filter = request.query.get("$filter", "")
        match = _FILTER.search(raw_filter)
        if match is None or match.group("field").lower() != "externalid":
            raise bad_request("The sandbox catalog answers '$filter=externalId eq '<manifest id>''")
        external_id = match.group("value").replace("''", "'")
        # Every manifest id is treated as uploaded to the org catalog.
        app_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"teams-app:{external_id}"))
        state.catalog[app_id] = external_id
        return web.json_response({"value": [teams_app(app_id)]})

    base = "/users/{id}/teamwork/installedApps"
    state.add(app, "POST", base, install, INSTALL)
    state.add(app, "GET", base, list_installed, READ_INSTALLS)
    state.add(app, "GET", base + "/{install}", get_installed, READ_INSTALLS)
    state.add(app, "DELETE", base + "/{install}", uninstall, INSTALL)
    state.add(app, "GET", base + "/{install}/chat", chat, READ_INSTALLS)
    state.add(app, "GET", "/appCatalogs/teamsApps", catalog, READ_CATALOG)
