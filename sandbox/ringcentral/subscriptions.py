"""RingCentral subscription routes: create (with handshake), list, get, update, renew, delete.

A subscription belongs to the (app, user) of the token that created it; other apps' and
users' subscriptions answer 404 as RingCentral does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.ringcentral.api import API_PREFIX, invalid_parameter, json_object, not_found
from sandbox.ringcentral.auth import Session
from sandbox.ringcentral.state import RingCentralState, api
from sandbox.ringcentral.webhooks import (
    DEFAULT_EXPIRES_IN,
    MAX_EXPIRES_IN,
    Subscription,
    verification_token,
)

BASE = f"{API_PREFIX}/subscription"


def _expires_in(body: dict[str, Any], default: int) -> int:
    if "expiresIn" not in body:
        return default
    value = body["expiresIn"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_parameter("expiresIn", value, "must be a positive integer of seconds")
    # RingCentral caps the lifetime at the transport's maximum rather than refusing it.
    return min(value, MAX_EXPIRES_IN)


def _delivery(body: dict[str, Any]) -> dict[str, Any]:
    mode = body.get("deliveryMode")
    if not isinstance(mode, dict):
        raise invalid_parameter("deliveryMode", mode, "is required")
    if mode.get("transportType") != "WebHook":
        raise invalid_parameter(
            "deliveryMode.transportType", mode.get("transportType"), "only WebHook is emulated"
        )
    return mode


def _mine(state: RingCentralState, request: web.Request, session: Session) -> Subscription:
    sub_id = request.match_info["subscriptionId"]
    sub = state.subscriptions.get(sub_id)
    if sub is None or (sub.client_id, sub.owner_id) != (session.client_id, session.owner_id):
        raise not_found("subscriptionId", sub_id)
    return sub


def _info(state: RingCentralState, sub: Subscription) -> dict[str, Any]:
    return sub.info(state.base, state.ctx.clock.now())


@api("Medium")
async def create(request: web.Request, state: RingCentralState, session: Session) -> web.Response:
    """POST /subscription: validate, handshake with the address, then store."""
    body = await json_object(request)
    filters = state.subscriptions.parse_filters(body.get("eventFilters"), session.owner_id)
    mode = _delivery(body)
    token = verification_token(mode.get("verificationToken"))
    expires_in = _expires_in(body, DEFAULT_EXPIRES_IN)
    address = await state.subscriptions.handshake(mode.get("address"))
    sub = state.subscriptions.add(
        session.client_id, session.owner_id, filters, address, token, expires_in
    )
    return web.json_response(_info(state, sub))


@api("Light")
async def list_subscriptions(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET /subscription: this app's and user's subscriptions."""
    subs = state.subscriptions.owned(session.client_id, session.owner_id)
    return web.json_response(
        {
            "uri": f"{state.base}/restapi/v1.0/subscription",
            "records": [_info(state, s) for s in subs],
        }
    )


@api("Light")
async def get_one(request: web.Request, state: RingCentralState, session: Session) -> web.Response:
    """GET /subscription/{id}."""
    return web.json_response(_info(state, _mine(state, request, session)))


@api("Medium")
async def update(request: web.Request, state: RingCentralState, session: Session) -> web.Response:
    """PUT /subscription/{id}: new filters, delivery mode and/or lifetime (renews it)."""
    sub = _mine(state, request, session)
    body = await json_object(request)
    filters = sub.filters
    if "eventFilters" in body:
        filters = state.subscriptions.parse_filters(body["eventFilters"], session.owner_id)
    address, token = sub.address, sub.verification_token
    if "deliveryMode" in body:
        mode = _delivery(body)
        token = verification_token(mode.get("verificationToken"))
        if mode.get("address") != sub.address:
            address = await state.subscriptions.handshake(mode.get("address"))
    expires_in = _expires_in(body, sub.expires_in)
    sub.filters, sub.address, sub.verification_token = filters, address, token
    sub.expires_in = expires_in
    sub.expires_at = state.ctx.clock.now() + expires_in
    return web.json_response(_info(state, sub))


@api("Light")
async def renew(request: web.Request, state: RingCentralState, session: Session) -> web.Response:
    """POST /subscription/{id}/renew: extend by the subscription's lifetime.

    A blacklisted subscription stays blacklisted: the client has to create a new one.
    """
    sub = _mine(state, request, session)
    sub.expires_at = state.ctx.clock.now() + sub.expires_in
    return web.json_response(_info(state, sub))


@api("Medium")
async def delete(request: web.Request, state: RingCentralState, session: Session) -> web.Response:
    """DELETE /subscription/{id}."""
    sub = _mine(state, request, session)
    state.subscriptions.remove(sub.id)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Mount the subscription routes."""
    app.router.add_post(BASE, create)
    app.router.add_get(BASE, list_subscriptions)
    one = f"{BASE}/{{subscriptionId}}"
    app.router.add_get(one, get_one)
    app.router.add_put(one, update)
    app.router.add_delete(one, delete)
    app.router.add_post(f"{one}/renew", renew)
