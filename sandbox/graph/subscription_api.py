"""Graph's /subscriptions routes for presence: create (after the handshake), read, renew, delete."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from sandbox.graph.auth import Caller, permission
from sandbox.graph.crypto import load_certificate
from sandbox.graph.errors import (
    GraphRequestError,
    bad_request,
    json_body,
    not_found,
    parse_time,
)
from sandbox.graph.state import PREFIX, GraphState
from sandbox.graph.subscriptions import MAX_LIFETIME, Subscription, parse_resource

logger = logging.getLogger(__name__)

SUBSCRIBE = permission(delegated="Presence.Read Presence.Read.All")
EXPIRY_LEEWAY = 60.0  # clocks differ a little; Graph tolerates that much
MAX_CLIENT_STATE = 128


def _forbidden(reason: str) -> GraphRequestError:
    return GraphRequestError(
        403,
        "ExtensionError",
        f"Operation: Create; Exception: [Status Code: Forbidden; Reason: {reason}]",
    )


def _validation_failed(which: str, reason: str) -> GraphRequestError:
    return GraphRequestError(
        400,
        "ValidationError",
        f"Subscription validation request failed. {which} must respond with 200 OK to"
        f" validation request: {reason}.",
    )


def _expiry(state: GraphState, raw: Any) -> float:
    try:
        expires = parse_time(raw)
    except ValueError as err:
        raise bad_request(f"expirationDateTime {raw!r} is not a valid ISO-8601 timestamp") from err
    clock = state.ctx.clock
    now = clock.now()
    real_lifetime = expires - time.time()
    # A fast sandbox clock runs ahead of the client's. A time that is only valid on the
    # client's own clock is taken as that lifetime on the sandbox clock, so renewals keep
    # working however far the sandbox has run ahead.
    if (
        clock.scale != 1
        and not 0 < expires - now <= MAX_LIFETIME + EXPIRY_LEEWAY
        and 0 < real_lifetime <= MAX_LIFETIME + EXPIRY_LEEWAY
    ):
        expires = now + real_lifetime
    if expires <= now:
        raise bad_request("Subscription expiration must be in the future.", code="InvalidRequest")
    if expires > now + MAX_LIFETIME + EXPIRY_LEEWAY:
        raise bad_request(
            "Subscription expiration can only be 60 minutes in the future for presence resources.",
            code="InvalidRequest",
        )
    return min(expires, now + MAX_LIFETIME)


def _owned(state: GraphState, caller: Caller, sub_id: str) -> Subscription:
    sub = state.book.get(sub_id)
    if sub is None or sub.app_id != caller.app_id:
        raise not_found(
            f"The object was not found: subscription '{sub_id}'.", code="ResourceNotFound"
        )
    return sub


def setup_subscriptions(app: web.Application, state: GraphState) -> None:
    """Mount the subscription routes."""

    async def create(request: web.Request, caller: Caller) -> web.StreamResponse:
        if caller.app_only:
            raise _forbidden(
                "The request is not authorized for this user or application. Presence"
                " subscriptions need a delegated token (application permissions are not"
                " supported)."
            )
        if not caller.scopes & SUBSCRIBE.delegated:
            raise _forbidden("The request is not authorized for this user or application.")
        body = await json_body(request)
        if str(body.get("changeType", "")).strip().lower() != "updated":
            raise bad_request("changeType must be 'updated' for presence subscriptions")
        try:
            user_ids = parse_resource(body.get("resource"))
        except ValueError as err:
            raise bad_request(str(err), code="InvalidRequest") from err
        notification_url = body.get("notificationUrl")
        if not isinstance(notification_url, str) or not notification_url:
            raise bad_request("notificationUrl is required")
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None and not isinstance(lifecycle_url, str):
            raise bad_request("lifecycleNotificationUrl must be a string")
        client_state = body.get("clientState")
        if client_state is not None and (
            not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE
        ):
            raise bad_request(
                f"clientState must be a string of at most {MAX_CLIENT_STATE} characters"
            )
        expires = _expiry(state, body.get("expirationDateTime"))
        include = bool(body.get("includeResourceData", False))
        certificate = None
        if include:
            try:
                certificate = load_certificate(
                    body.get("encryptionCertificate"), body.get("encryptionCertificateId")
                )
            except ValueError as err:
                raise bad_request(str(err)) from err
        if state.book.of_creator(caller.app_id, caller.object_id) is not None:
            raise _one_per_user()
        for which, url in (
            ("Notification endpoint", notification_url),
            ("Lifecycle endpoint", lifecycle_url),
        ):
            if url:
                problem = await state.notifier.validate(url)
                if problem is not None:
                    raise _validation_failed(which, problem)
        # The handshake awaited; another create for this user may have won meanwhile.
        if state.book.of_creator(caller.app_id, caller.object_id) is not None:
            raise _one_per_user()
        now = state.ctx.clock.now()
        sub = Subscription(
            id=state.book.new_id(),
            app_id=caller.app_id,
            creator_id=caller.object_id,
            resource=str(body["resource"]),
            user_ids=user_ids,
            notification_url=notification_url,
            lifecycle_url=lifecycle_url or None,
            client_state=client_state,
            expires_at=expires,
            renewed_at=now,
            authorized_at=now,
            include_resource_data=include,
            certificate=certificate,
            certificate_b64=body.get("encryptionCertificate") if include else None,
            latest_tls=str(body.get("latestSupportedTlsVersion") or "v1_2"),
        )
        state.book.add(sub)
        logger.info("subscription %s created for %d user(s)", sub.id, len(user_ids))
        return web.json_response(sub.to_json(state.base(request)), status=201)

    async def list_all(request: web.Request, caller: Caller) -> web.StreamResponse:
        creator = None if caller.app_only else caller.object_id
        subs = state.book.visible_to(caller.app_id, creator)
        base = state.base(request)
        body = {
            "@odata.context": f"{base}{PREFIX}/$metadata#subscriptions",
            "value": [sub.to_json(base) for sub in subs],
        }
        return web.json_response(body)

    async def get_one(request: web.Request, caller: Caller) -> web.StreamResponse:
        sub = _owned(state, caller, request.match_info["id"])
        return web.json_response(sub.to_json(state.base(request)))

    async def renew(request: web.Request, caller: Caller) -> web.StreamResponse:
        sub = _owned(state, caller, request.match_info["id"])
        body = await json_body(request)
        unknown = set(body) - {"expirationDateTime", "notificationUrl"}
        if unknown:
            raise bad_request(f"These properties cannot be updated: {sorted(unknown)}")
        expires = (
            _expiry(state, body["expirationDateTime"]) if "expirationDateTime" in body else None
        )
        new_url = body.get("notificationUrl")
        if new_url is not None:
            if not isinstance(new_url, str) or not new_url:
                raise bad_request("notificationUrl must be a non-empty string")
            problem = await state.notifier.validate(new_url)
            if problem is not None:
                raise _validation_failed("Notification endpoint", problem)
            sub.notification_url = new_url
        if expires is not None:
            sub.expires_at = expires
            sub.renewed_at = state.ctx.clock.now()
            sub.reauthorization_sent = False
        # Any call that got past authentication vouches for the subscription again.
        sub.authorized_at = state.ctx.clock.now()
        sub.suspended = False
        return web.json_response(sub.to_json(state.base(request)))

    async def delete(request: web.Request, caller: Caller) -> web.StreamResponse:
        sub = _owned(state, caller, request.match_info["id"])
        state.book.remove(sub.id)
        return web.Response(status=204)

    async def reauthorize(request: web.Request, caller: Caller) -> web.StreamResponse:
        # The caller proved its token is still good; the expiry itself only moves on PATCH.
        sub = _owned(state, caller, request.match_info["id"])
        sub.authorized_at = state.ctx.clock.now()
        sub.suspended = False
        return web.Response(status=200)

    state.add(app, "POST", "/subscriptions", create, None)
    state.add(app, "GET", "/subscriptions", list_all, None)
    state.add(app, "GET", "/subscriptions/{id}", get_one, None)
    state.add(app, "PATCH", "/subscriptions/{id}", renew, None)
    state.add(app, "DELETE", "/subscriptions/{id}", delete, None)
    state.add(app, "POST", "/subscriptions/{id}/reauthorize", reauthorize, None)


def _one_per_user() -> GraphRequestError:
    return _forbidden(
        "A presence subscription already exists for this application and user; delete it"
        " before creating a new one (one subscription per app per delegated user)."
    )
