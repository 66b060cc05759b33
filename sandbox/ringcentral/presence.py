"""RingCentral presence routes: one extension (GET/PUT), a batch of ≤ 30, the whole account.

Batch GET (comma-separated ids in the path) answers 207 Multi-Status in one of the two
forms RingCentral documents in its "Batch requests" guide, chosen by the Accept header:
- default, `multipart/mixed`: a first part `{"response": [{"href", "status",
  "responseDescription"}, ...]}`, then one `application/json` part per id, in order
  (what the Python SDK's `ApiResponse.multipart()` parses);
- `Accept: application/vnd.ringcentral.multipart+json`: one JSON array of
  `{"resourceId", "status", "body"}`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

from sandbox.ringcentral.api import (
    API_PREFIX,
    RcApiError,
    invalid_parameter,
    json_object,
    query_flag,
    query_int,
    rest_error,
)
from sandbox.ringcentral.auth import Session
from sandbox.ringcentral.extensions import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    navigation,
    number_key,
    page_of,
)
from sandbox.ringcentral.state import RingCentralState, api
from sandbox.ringcentral.status import apply_update, is_user, render, validate_update
from sandbox.timeline import RINGCENTRAL_PRESENCE_PUT

ACCOUNT = f"{API_PREFIX}/account/{{accountId}}"
MAX_BATCH = 30
JSON_MULTIPART = "application/vnd.ringcentral.multipart+json"


def _one(
    state: RingCentralState, request: web.Request, ext_id: str, session: Session
) -> dict[str, Any]:
    ext = state.extension(ext_id, session)
    return render(
        ext,
        state.settings_of(ext),
        state.ctx.org.rc_mode,
        state.base,
        state.account_id,
        detailed=query_flag(request, "detailedTelephonyState"),
        sip=query_flag(request, "sipData"),
    )


def _multipart_mixed(parts: list[tuple[str, int, dict[str, Any]]]) -> web.Response:
    boundary = f"Boundary_{uuid.uuid4().hex}"
    summary = {
        "response": [
            {
                "href": href,
                "status": status,
                "responseDescription": "OK" if status == 200 else "Not Found",
            }
            for href, status, _ in parts
        ]
    }
    chunks = [json.dumps(summary)] + [json.dumps(body) for _, _, body in parts]
    text = "".join(
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{chunk}\r\n" for chunk in chunks
    )
    text += f"--{boundary}--\r\n"
    return web.Response(
        status=207,
        body=text.encode(),
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
    )


@api("Light")
async def get_presence(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET one extension's presence, or a batch of comma-separated ids (207)."""
    state.check_account(request.match_info["accountId"])
    raw = request.match_info["extensionId"]
    if "," not in raw:
        return web.json_response(_one(state, request, raw, session))
    ids = raw.split(",")
    if any(not i for i in ids):
        raise invalid_parameter("extensionId", raw, "empty id in batch")
    if len(ids) > MAX_BATCH:
        raise rest_error(
            400,
            "InvalidMultipartRequest",
            f"Extension Presence Info multipart request is limited to {MAX_BATCH} extensions",
        )
    parts: list[tuple[str, int, dict[str, Any]]] = []
    for ext_id in ids:
        href = f"{state.base}/restapi/v1.0/account/{state.account_id}/extension/{ext_id}/presence"
        try:
            parts.append((href, 200, _one(state, request, ext_id, session)))
        except RcApiError as err:
            if err.status == 400:
                raise
            parts.append((href, err.status, err.body))
    if JSON_MULTIPART in request.headers.get("Accept", ""):
        items = [
            {"resourceId": ext_id, "status": status, "body": body}
            for ext_id, (_, status, body) in zip(ids, parts, strict=True)
        ]
        return web.Response(
            status=207, text=json.dumps(items), headers={"Content-Type": JSON_MULTIPART}
        )
    return _multipart_mixed(parts)


@api("Medium")
async def put_presence(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """PUT one extension's presence (PresenceInfoRequest)."""
    arrived = time.monotonic()
    state.check_account(request.match_info["accountId"])
    raw = request.match_info["extensionId"]
    if "," in raw:
        raise invalid_parameter("extensionId", raw, "presence updates take one extension")
    ext = state.extension(raw, session)
    if ext.id != session.owner_id and not state.identities.may_edit_others(session.owner_id):
        raise rest_error(
            403,
            "CMN-408",
            "In order to call this API endpoint, user needs to have [EditPresence] "
            "permission for requested resource.",
        )
    body = await json_object(request)
    changed = False
    writes = state.presence_writes_by_user
    if is_user(ext):
        changes = validate_update(body, ext, state.ctx.org)
        if apply_update(ext, state.settings_of(ext), changes):
            changed = True
            state.presence_changed(ext)
    writes[session.owner_id] = writes.get(session.owner_id, 0) + 1
    state.ctx.recorder.timeline.stamp(
        RINGCENTRAL_PRESENCE_PUT, ext.id, arrived, "changed" if changed else "unchanged"
    )
    return web.json_response(
        render(ext, state.settings_of(ext), state.ctx.org.rc_mode, state.base, state.account_id)
    )


@api("Heavy")
async def account_presence(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET /account/~/presence: every extension's presence, paged (Heavy group)."""
    state.check_account(request.match_info["accountId"])
    page = query_int(request, "page", 1, 1, 10**9)
    per_page = query_int(request, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    detailed = query_flag(request, "detailedTelephonyState")
    sip = query_flag(request, "sipData")
    exts = sorted(state.ctx.org.rc_extensions.values(), key=number_key)
    chunk, paging = page_of(exts, page, per_page)
    mode = state.ctx.org.rc_mode
    url = f"{state.base}/restapi/v1.0/account/{state.account_id}/presence"
    query = [("perPage", str(per_page))]
    if detailed:
        query.append(("detailedTelephonyState", "true"))
    records = [
        render(e, state.settings_of(e), mode, state.base, state.account_id, detailed, sip)
        for e in chunk
    ]
    return web.json_response(
        {
            "uri": url,
            "records": records,
            "paging": paging,
            "navigation": navigation(url, query, page, paging["totalPages"]),
        }
    )


def add_routes(app: web.Application) -> None:
    """Mount the presence routes."""
    one = f"{ACCOUNT}/extension/{{extensionId}}/presence"
    app.router.add_get(one, get_presence)
    app.router.add_put(one, put_presence)
    app.router.add_get(f"{ACCOUNT}/presence", account_presence)
