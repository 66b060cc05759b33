"""The tab API: JSON over the admin use cases, for signed-in admins only.

    GET  /api/tab/status                       connections, coverage, budget, warnings
    GET  /api/tab/people?filter&search&cursor&limit
    POST /api/tab/people/sync | /unsync        {"ids": [...]} -> 202 job
    GET  /api/tab/preview?kind=sync-all|disable
    POST /api/tab/sync-all | /disable | /enable
    GET  /api/tab/rules   PUT /api/tab/rules   POST /api/tab/rules/reset
    GET  /api/tab/jobs    GET /api/tab/jobs/{id}   GET /api/tab/jobs/{id}/events (SSE)
    POST /api/tab/jobs/{id}/retry-failed | /cancel
    GET  /api/tab/activity
    POST /api/tab/ringcentral/connect          DELETE /api/tab/sync-accounts/{upn}
    GET | POST /api/tab/ringcentral/identities DELETE /api/tab/ringcentral/identities/{ext}

Every handler asks `TabAuth.admin` first (401 without sign-in, 403 for non-admins, CSRF on
cookie changes). Validation errors answer 400 naming the field; a settings change made since
the version the admin saw answers 409 with the current rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from presence_sync.admin import Admin, JobView, RulesView
from presence_sync.errors import ConflictError, PresenceSyncError, ValidationError
from presence_sync.sync.jobs import SYNC_ALL
from presence_sync.web import consent
from presence_sync.web.auth.guard import Caller
from presence_sync.web.body import json_object
from presence_sync.web.keys import ADMIN, AUTH, BOT, CONNECTIONS, STORE
from presence_sync.web.tab_status import status_json
from presence_sync.web.tab_views import (
    activity_json,
    job_json,
    person_json,
    preview_json,
    rules_json,
)

__all__ = ["add_routes"]

logger = logging.getLogger(__name__)

MAX_IDS = 1000
PROGRESS_EVERY = 0.5  # seconds between progress events: the bar moves at least once a second
EVENTS_LIMIT = 4 * 3600  # a progress stream ends by itself after four hours
RECHECK_EVERY = 60.0  # seconds between checks that the stream's caller may still see it
WRITE_TIMEOUT = 10.0  # a client that reads nothing for this long is dropped
_FILTERS = {
    "all": {},
    "synced": {"synced": True, "linked": True},
    "not-synced": {"synced": False, "linked": True},
    "unmatched": {"linked": False},
    "failed": {"failed": True},
}


async def _admin(request: web.Request) -> tuple[Caller, Admin]:
    caller = await request.app[AUTH].admin(request)
    return caller, request.app[ADMIN]


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}") from err
    if not low <= value <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}")
    return value


def _version(body: dict[str, Any]) -> int:
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version < 2**62:
        raise ValidationError("version: send the version of the settings you were shown")
    return version


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false")
    return value


async def status(request: web.Request) -> web.Response:
    """Everything the overview shows."""
    _caller, admin = await _admin(request)
    body = await status_json(
        admin, request.app[CONNECTIONS], request.app[STORE].store, request.app[BOT]
    )
    return web.json_response(body)


async def people(request: web.Request) -> web.Response:
    """One page of people, filtered and searched on the server."""
    _caller, admin = await _admin(request)
    name = request.query.get("filter", "all")
    if name not in _FILTERS:
        raise ValidationError(f"filter must be one of {', '.join(_FILTERS)}")
    search = request.query.get("search", "").strip()
    if len(search) > 200:
        raise ValidationError("search: at most 200 characters")
    cursor = request.query.get("cursor") or None
    if cursor is not None and len(cursor) > 200:
        raise ValidationError("cursor is not one this server gave out")
    limit = _int(request, "limit", 50, 1, 200)
    page = await admin.list_users(search or None, cursor, limit=limit, **_FILTERS[name])
    return web.json_response(
        {"people": [person_json(u) for u in page.users], "nextCursor": page.next_cursor}
    )


async def _ids(request: web.Request) -> list[str]:
    body = await json_object(request)
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise ValidationError("ids must be a list of people's ids")
    if not 1 <= len(ids) <= MAX_IDS:
        raise ValidationError(f"ids: from 1 to {MAX_IDS} people at a time")
    return ids


def _ticket(ticket: Any) -> web.Response:
    return web.json_response({"job": job_json(ticket.job), "created": ticket.created}, status=202)


async def sync_people(request: web.Request) -> web.Response:
    """Start syncing the selected people."""
    caller, admin = await _admin(request)
    return _ticket(await admin.sync_links(caller.email, await _ids(request)))


async def unsync_people(request: web.Request) -> web.Response:
    """Stop syncing the selected people."""
    caller, admin = await _admin(request)
    return _ticket(await admin.unsync_links(caller.email, await _ids(request)))


async def preview(request: web.Request) -> web.Response:
    """How many people sync all or disable would change."""
    _caller, admin = await _admin(request)
    kind = request.query.get("kind", "")
    if kind not in ("sync-all", "disable"):
        raise ValidationError("kind must be sync-all or disable")
    return web.json_response(preview_json(await admin.preview(kind.replace("-", " "))))


async def sync_all(request: web.Request) -> web.Response:
    """Start syncing everyone matched."""
    caller, admin = await _admin(request)
    await json_object(request)
    return _ticket(await admin.sync_all(caller.email))


# A settings change: (admin cases, actor, the request's body, the version shown) -> new view.
SettingsChange = Callable[[Admin, str, dict[str, Any], int], Awaitable[RulesView]]


async def _settings_change(request: web.Request, change: SettingsChange) -> web.Response:
    """Apply `change` at the version the admin saw; 409 with the current one if overtaken."""
    caller, admin = await _admin(request)
    body = await json_object(request)
    version = _version(body)
    try:
        view = await change(admin, caller.email, body, version)
    except ConflictError as err:
        return _conflict(err, await admin.get_rules())
    return web.json_response(rules_json(view))


async def _save_form(admin: Admin, actor: str, body: dict[str, Any], version: int) -> RulesView:
    rules = body.get("rules")
    if rules is not None and (
        not isinstance(rules, dict) or not all(isinstance(v, str) for v in rules.values())
    ):
        raise ValidationError("rules must map Teams states to rule ids")
    return await admin.save_rules(
        actor,
        version,
        customisation=_flag(body, "customisation"),
        preserve_during_inactivity=_flag(body, "preserveDuringInactivity"),
        rules=rules,
    )


def _conflict(err: ConflictError, current: RulesView) -> web.Response:
    body = {
        "error": {
            "code": "conflict",
            "message": "Someone else changed these settings after you opened them "
            f"(now version {current.version}); review their version before saving yours.",
        },
        "current": rules_json(current),
    }
    logger.info("settings conflict: %s", err)
    return web.json_response(body, status=409)


async def disable(request: web.Request) -> web.Response:
    """Turn presence sync off for the organisation."""
    return await _settings_change(request, lambda a, actor, _b, v: a.disable_all(actor, v))


async def enable(request: web.Request) -> web.Response:
    """Turn presence sync back on."""
    return await _settings_change(request, lambda a, actor, _b, v: a.enable(actor, v))


async def get_rules(request: web.Request) -> web.Response:
    """The call presence rules and the two toggles."""
    _caller, admin = await _admin(request)
    return web.json_response(rules_json(await admin.get_rules()))


async def put_rules(request: web.Request) -> web.Response:
    """Save the rules editor."""
    return await _settings_change(request, _save_form)


async def reset_rules(request: web.Request) -> web.Response:
    """Restore the default rules."""
    return await _settings_change(request, lambda a, actor, _b, v: a.reset_rules(actor, v))


async def jobs(request: web.Request) -> web.Response:
    """Recent jobs, newest first."""
    await _admin(request)
    limit = _int(request, "limit", 20, 1, 100)
    found = await request.app[STORE].store.list_jobs(limit=limit)
    return web.json_response({"jobs": [job_json(JobView.of(j)) for j in found]})


async def _job_json(admin: Admin, job: JobView) -> dict[str, Any]:
    body = job_json(job)
    if job.kind == SYNC_ALL and job.finished_at is not None and job.unmatched:
        body["unmatchedReasons"] = preview_json(await admin.preview("sync all"))["unmatched"]
    return body


async def job(request: web.Request) -> web.Response:
    """One job."""
    _caller, admin = await _admin(request)
    found = await admin.get_job(request.match_info["job_id"])
    return web.json_response(await _job_json(admin, found))


async def job_events(request: web.Request) -> web.StreamResponse:
    """The job's progress as server-sent events, ending with `done`.

    The caller is checked again every minute (a signed-out session ends its streams), and a
    client that stops reading is dropped instead of holding the stream open.
    """
    _caller, admin = await _admin(request)
    current = await admin.get_job(request.match_info["job_id"])
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # proxies must not hold the events back
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    ends = loop.time() + EVENTS_LIMIT
    checked = loop.time()
    try:
        while True:
            finished = current.finished_at is not None
            data = json.dumps(await _job_json(admin, current))
            event = "done" if finished else "progress"
            await asyncio.wait_for(
                response.write(f"event: {event}\ndata: {data}\n\n".encode()), WRITE_TIMEOUT
            )
            if finished or loop.time() > ends:
                break
            await asyncio.sleep(PROGRESS_EVERY)
            if loop.time() - checked > RECHECK_EVERY:
                await request.app[AUTH].admin(request)
                checked = loop.time()
            current = await admin.get_job(current.id)
    except (ConnectionResetError, TimeoutError, PresenceSyncError) as err:
        logger.info("progress stream of job %s ended: %s", current.id, err)
    return response


async def retry_failed(request: web.Request) -> web.Response:
    """Sync again the people a job failed for."""
    caller, admin = await _admin(request)
    await json_object(request)
    return _ticket(await admin.retry_failed(caller.email, request.match_info["job_id"]))


async def cancel_job(request: web.Request) -> web.Response:
    """Cancel a queued or running job."""
    caller, admin = await _admin(request)
    await json_object(request)
    cancelled = await admin.cancel_job(caller.email, request.match_info["job_id"])
    return web.json_response(job_json(cancelled))


async def activity(request: web.Request) -> web.Response:
    """Recent presence writes, jobs and admin actions."""
    _caller, _admin_cases = await _admin(request)
    limit = _int(request, "limit", 50, 1, 200)
    store = request.app[STORE].store
    # Writes outnumber admin actions by far; read deep enough to find both.
    entries = await store.list_audit(limit=limit * 10)
    recent = await store.list_jobs(limit=10)
    return web.json_response(activity_json(entries, [JobView.of(j) for j in recent], limit))


def add_routes(app: web.Application) -> None:
    """Add the tab API."""
    router = app.router
    router.add_get("/api/tab/status", status)
    router.add_get("/api/tab/people", people)
    router.add_post("/api/tab/people/sync", sync_people)
    router.add_post("/api/tab/people/unsync", unsync_people)
    router.add_get("/api/tab/preview", preview)
    router.add_post("/api/tab/sync-all", sync_all)
    router.add_post("/api/tab/disable", disable)
    router.add_post("/api/tab/enable", enable)
    router.add_get("/api/tab/rules", get_rules)
    router.add_put("/api/tab/rules", put_rules)
    router.add_post("/api/tab/rules/reset", reset_rules)
    router.add_get("/api/tab/jobs", jobs)
    router.add_get("/api/tab/jobs/{job_id}", job)
    router.add_get("/api/tab/jobs/{job_id}/events", job_events)
    router.add_post("/api/tab/jobs/{job_id}/retry-failed", retry_failed)
    router.add_post("/api/tab/jobs/{job_id}/cancel", cancel_job)
    router.add_get("/api/tab/activity", activity)
    router.add_post("/api/tab/ringcentral/connect", consent.connect_ringcentral)
    router.add_delete("/api/tab/sync-accounts/{upn}", consent.remove_sync_account)
    router.add_get("/api/tab/ringcentral/identities", consent.list_identities)
    router.add_post("/api/tab/ringcentral/identities", consent.add_identity)
    router.add_delete("/api/tab/ringcentral/identities/{extension_id}", consent.remove_identity)
