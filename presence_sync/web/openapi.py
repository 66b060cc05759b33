"""The tab API's OpenAPI 3.1 description, served at /api/tab/openapi.json.

The schemas are JSON Schema 2020-12; the API tests validate the served answers against them,
so a change to `tab_views` that this document does not describe fails a test.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["DOCUMENT", "add_routes"]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_INT = {"type": "integer", "minimum": 0}
_TIME = {"type": "number"}
_OPT_TIME = {"type": ["number", "null"]}
_BOOL = {"type": "boolean"}

_CONNECTION = {
    "kind": _STR,
    "label": _STR,
    "state": _STR,
    "reason": _OPT_STR,
    "since": _OPT_TIME,
    "fix": _OPT_STR,
    "details": {"type": "object"},
}

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": _STR, "message": _STR})}, {"current": _ref("Rules")}),
    "Session": _obj(
        {
            "user": _obj({"name": _STR, "email": _STR, "oid": _STR}),
            "admin": _BOOL,
            "reason": _OPT_STR,
            "via": {"enum": ["sso", "cookie"]},
            "csrfToken": _OPT_STR,
            "expiresAt": _TIME,
        }
    ),
    "Connection": _obj(_CONNECTION),
    "Microsoft": _obj(
        {
            **_CONNECTION,
            "tenantId": _OPT_STR,
            "consentedBy": _OPT_STR,
            "permissions": {"type": "array", "items": _STR},
        }
    ),
    "SyncAccount": _obj({**_CONNECTION, "upn": _STR, "covers": _INT}),
    "RingCentral": _obj(
        {
            **_CONNECTION,
            "mode": {"enum": ["jwt", "oauth", None]},
            "account": _OPT_STR,
            "jwtConfigured": _BOOL,
            "oauthConfigured": _BOOL,
        }
    ),
    "RingCentralIdentity": _obj(
        {
            "extensionId": _STR,
            "extensionNumber": _OPT_STR,
            "name": _OPT_STR,
            "email": _OPT_STR,
            "mode": {"enum": ["jwt", "oauth", None]},
            "state": {"enum": ["connected", "broken", "missing"]},
            "reason": _OPT_STR,
            "since": _OPT_TIME,
            "fix": _OPT_STR,
        }
    ),
    "RingCentralIdentities": _obj(
        {"identities": {"type": "array", "items": _ref("RingCentralIdentity")}}
    ),
    "Status": _obj(
        {
            "syncEnabled": _BOOL,
            "microsoft": _ref("Microsoft"),
            "syncAccounts": {"type": "array", "items": _ref("SyncAccount")},
            "ringcentral": _ref("RingCentral"),
            "ringcentralIdentities": {"type": "array", "items": _ref("RingCentralIdentity")},
            "counts": _obj(
                {"linked": _INT, "unmatched": _INT, "synced": _INT, "pendingUsers": _INT}
            ),
            "coverage": {
                "oneOf": [
                    _obj(
                        {
                            "notified": _INT,
                            "polled": _INT,
                            "pollIntervalSeconds": _OPT_TIME,
                            "reconcileIntervalSeconds": _TIME,
                        }
                    ),
                    {"type": "null"},
                ]
            },
            "writeBudget": {
                "oneOf": [
                    _obj(
                        {
                            "used": _INT,
                            "limit": {"type": ["integer", "null"], "minimum": 0},
                            "windowSeconds": _TIME,
                            "queued": _INT,
                            "identities": _INT,
                            "backlog": _INT,
                            "expectedDelaySeconds": _OPT_TIME,
                            "p95DelaySeconds": _OPT_TIME,
                            "advice": _OPT_STR,
                        }
                    ),
                    {"type": "null"},
                ]
            },
            "warnings": {
                "type": "array",
                "items": _obj(
                    {
                        "text": _STR,
                        "action": {
                            "enum": [
                                "consent",
                                "sync-account",
                                "ringcentral",
                                "ringcentral-identity",
                                None,
                            ]
                        },
                        "since": _OPT_TIME,
                    }
                ),
            },
            "lastJob": {"oneOf": [_ref("Job"), {"type": "null"}]},
        }
    ),
    "Person": _obj(
        {
            "id": _STR,
            "email": _STR,
            "displayName": _STR,
            "teams": _obj({"id": _OPT_STR, "upn": _OPT_STR}),
            "ringcentral": {
                "oneOf": [
                    _obj({"extensionId": _STR, "extensionNumber": _OPT_STR}),
                    {"type": "null"},
                ]
            },
            "linked": _BOOL,
            "synced": _BOOL,
            "reason": _OPT_STR,
            "lastError": _OPT_STR,
            "teamsPresence": _OPT_STR,
            "ringcentralPresence": _OPT_STR,
            "lastSyncAt": _OPT_TIME,
        }
    ),
    "People": _obj({"people": {"type": "array", "items": _ref("Person")}, "nextCursor": _OPT_STR}),
    "Job": _obj(
        {
            "id": _STR,
            "kind": {"enum": ["sync all", "sync users", "unsync users"]},
            "status": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
            "requestedBy": _STR,
            "total": _INT,
            "processed": _INT,
            "synced": _INT,
            "already": _INT,
            "failed": _INT,
            "unmatched": _INT,
            "failures": {"type": "array", "items": _obj({"user": _STR, "reason": _STR})},
            "createdAt": _TIME,
            "finishedAt": _OPT_TIME,
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
        },
        {"unmatchedReasons": {"type": "array", "items": _obj({"reason": _STR, "count": _INT})}},
    ),
    "Jobs": _obj({"jobs": {"type": "array", "items": _ref("Job")}}),
    "JobTicket": _obj({"job": _ref("Job"), "created": _BOOL}),
    "Preview": _obj(
        {
            "kind": {"enum": ["sync-all", "disable"]},
            "linked": _INT,
            "change": _INT,
            "unchanged": _INT,
            "unmatched": {"type": "array", "items": _obj({"reason": _STR, "count": _INT})},
        }
    ),
    "Rules": _obj(
        {
            "version": _INT,
            "syncEnabled": _BOOL,
            "customisation": _BOOL,
            "preserveDuringInactivity": _BOOL,
            "rows": {
                "type": "array",
                "minItems": 5,
                "maxItems": 5,
                "items": _obj(
                    {
                        "state": {
                            "enum": [
                                "busy",
                                "in_a_call",
                                "in_a_conference_call",
                                "in_a_meeting",
                                "offline",
                            ]
                        },
                        "label": _STR,
                        "rule": _ref("RuleId"),
                        "ruleLabel": _STR,
                        "ringcentral": _STR,
                        "note": _OPT_STR,
                    }
                ),
            },
            "choices": {"type": "array", "items": _obj({"rule": _ref("RuleId"), "label": _STR})},
            "defaults": {"type": "object", "additionalProperties": _ref("RuleId")},
        }
    ),
    "RuleId": {"enum": ["accept_all_calls", "no_queue_calls", "no_calls"]},
    "Activity": _obj(
        {
            "writes": {
                "type": "array",
                "items": _obj(
                    {
                        "at": _TIME,
                        "user": _OPT_STR,
                        "side": {"enum": ["teams", "ringcentral"]},
                        "write": _STR,
                        "cause": _STR,
                        "result": _STR,
                        "message": _STR,
                    }
                ),
            },
            "jobs": {"type": "array", "items": _ref("Job")},
            "admin": {
                "type": "array",
                "items": _obj({"at": _TIME, "actor": _STR, "action": _STR, "summary": _STR}),
            },
        }
    ),
    "StepUrl": _obj({"url": {"type": "string", "format": "uri"}}),
}

_ERRORS = {
    "400": {
        "description": "Invalid input; the message names the field",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "401": {
        "description": "Not signed in",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "403": {
        "description": "Not an admin, or a cookie change without its CSRF token",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
}


def _op(
    summary: str, schema: str | None, status: str = "200", /, **extra: object
) -> dict[str, Any]:
    responses: dict[str, Any] = dict(_ERRORS)
    if schema is None:
        responses[status] = {"description": summary}
    else:
        responses[status] = {
            "description": summary,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    return {"summary": summary, "responses": responses, **extra}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


def _query(*names: str) -> dict[str, object]:
    return {"parameters": [{"name": n, "in": "query", "schema": _STR} for n in names]}


_IDS = _body(_obj({"ids": {"type": "array", "items": _STR, "minItems": 1, "maxItems": 1000}}))
_VERSION = _body(_obj({"version": _INT}))
_CONFLICT = {
    "description": "Changed by someone else since `version`; `current` has theirs",
    "content": {"application/json": {"schema": _ref("Error")}},
}
_JOB_ID: dict[str, object] = {
    "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": _STR}]
}


def _with_conflict(op: dict[str, Any]) -> dict[str, Any]:
    op["responses"]["409"] = _CONFLICT
    return op


def _limited(op: dict[str, Any]) -> dict[str, Any]:
    op["responses"]["429"] = {
        "description": "10 steps were started in the last minute; `Retry-After` says when",
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    return op


def _identity_errors(op: dict[str, Any]) -> dict[str, Any]:
    """The refusals of adding an identity: refused (422) or RingCentral unreachable (502)."""
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    op["responses"]["422"] = {
        "description": "RingCentral refused the credential, or the user lacks the right",
        **error,
    }
    op["responses"]["502"] = {"description": "RingCentral could not be reached", **error}
    return op


PATHS: dict[str, Any] = {
    "/api/tab/session": {"get": _op("Who is signed in", "Session")},
    "/api/tab/steps": {
        "post": _limited(
            _op(
                "A one-time URL that starts a pop-up step",
                "StepUrl",
                **_body(
                    _obj(
                        {
                            "step": {
                                "enum": [
                                    "consent",
                                    "sync-account",
                                    "ringcentral",
                                    "ringcentral-identity",
                                ]
                            }
                        },
                        {"loginHint": _STR},
                    )
                ),
            )
        )
    },
    "/api/tab/status": {"get": _op("The overview", "Status")},
    "/api/tab/people": {
        "get": _op("One page of people", "People", **_query("filter", "search", "cursor", "limit"))
    },
    "/api/tab/people/sync": {"post": _op("Sync the selected people", "JobTicket", "202", **_IDS)},
    "/api/tab/people/unsync": {
        "post": _op("Stop syncing the selected people", "JobTicket", "202", **_IDS)
    },
    "/api/tab/preview": {
        "get": _op("What sync all or disable would change", "Preview", **_query("kind"))
    },
    "/api/tab/sync-all": {"post": _op("Sync everyone matched", "JobTicket", "202")},
    "/api/tab/disable": {
        "post": _with_conflict(_op("Turn presence sync off", "Rules", **_VERSION))
    },
    "/api/tab/enable": {"post": _with_conflict(_op("Turn presence sync on", "Rules", **_VERSION))},
    "/api/tab/rules": {
        "get": _op("The call presence rules", "Rules"),
        "put": _with_conflict(
            _op(
                "Save the call presence rules",
                "Rules",
                **_body(
                    _obj(
                        {"version": _INT},
                        {
                            "customisation": _BOOL,
                            "preserveDuringInactivity": _BOOL,
                            "rules": {"type": "object", "additionalProperties": _ref("RuleId")},
                        },
                    )
                ),
            )
        ),
    },
    "/api/tab/rules/reset": {
        "post": _with_conflict(_op("Restore the default rules", "Rules", **_VERSION))
    },
    "/api/tab/jobs": {"get": _op("Recent jobs", "Jobs", **_query("limit"))},
    "/api/tab/jobs/{job_id}": {"get": _op("One job", "Job", **_JOB_ID)},
    "/api/tab/jobs/{job_id}/events": {
        "get": {
            "summary": "The job's progress as server-sent events (progress…, done)",
            **_JOB_ID,
            "responses": {
                **_ERRORS,
                "200": {"description": "event stream", "content": {"text/event-stream": {}}},
            },
        }
    },
    "/api/tab/jobs/{job_id}/retry-failed": {
        "post": _op("Sync again the people a job failed for", "JobTicket", "202", **_JOB_ID)
    },
    "/api/tab/jobs/{job_id}/cancel": {"post": _op("Cancel a job", "Job", **_JOB_ID)},
    "/api/tab/activity": {
        "get": _op("Recent writes, jobs and admin actions", "Activity", **_query("limit"))
    },
    "/api/tab/ringcentral/connect": {"post": _op("Connect RingCentral with its JWT", None)},
    "/api/tab/ringcentral/identities": {
        "get": _op(
            "The extra RingCentral identities writes are spread across", "RingCentralIdentities"
        ),
        "post": _identity_errors(
            _op(
                "Add a RingCentral identity by its JWT credential, tested first",
                "RingCentralIdentity",
                "201",
                **_body(_obj({"jwt": _STR})),
            )
        ),
    },
    "/api/tab/ringcentral/identities/{extension_id}": {
        "delete": _op(
            "Remove a RingCentral identity",
            None,
            "204",
            parameters=[{"name": "extension_id", "in": "path", "required": True, "schema": _STR}],
        )
    },
    "/api/tab/sync-accounts/{upn}": {
        "delete": _op(
            "Remove a sync account",
            None,
            "204",
            parameters=[{"name": "upn", "in": "path", "required": True, "schema": _STR}],
        )
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Presence Sync tab API",
        "version": "1",
        "description": "Admins only. Inside Teams: `Authorization: Bearer <Teams SSO token>`. "
        "In a browser: the session cookie from /tab/auth/login, and `X-CSRF-Token` on changes.",
    },
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "teamsSso": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "session": {"type": "apiKey", "in": "cookie", "name": "presence_sync_session"},
        },
    },
    "security": [{"teamsSso": []}, {"session": []}],
    "paths": PATHS,
}


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document."""
    return web.json_response(DOCUMENT)


def add_routes(app: web.Application) -> None:
    """Add /api/tab/openapi.json."""
    app.router.add_get("/api/tab/openapi.json", openapi)
