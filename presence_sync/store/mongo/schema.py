"""The MongoDB store's indexes, and its documents for the store's records and back.

Opaque values (engine state, details, params, payloads, conversation references) are kept
as JSON text: their keys may contain "." or start with "$", and FerretDB 1.x rejects
nested arrays, so storing them as sub-documents would fail on some servers and not others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING

from presence_sync.secrets import SecretBox
from presence_sync.store.codec import (
    audit_details_from_json,
    connection_details_from_json,
    connection_details_to_json,
    dumps,
    failures_from_list,
    rc_from_dict,
    rc_to_dict,
    search_text,
    subscription_details_from_json,
    subscription_details_to_json,
    teams_from_dict,
    teams_to_dict,
)
from presence_sync.store.models import (
    LINK_IDENTITY,
    AuditEntry,
    Connection,
    ConnectionStatus,
    DirtyEntry,
    Job,
    JobStatus,
    LinkState,
    Notice,
    NoticeStatus,
    Subscription,
    UserLink,
    sequence_key,
)

__all__ = [
    "IDENTITY_FIELDS",
    "INDEXES",
    "audit_from_doc",
    "connection_from_doc",
    "connection_to_doc",
    "dirty_from_doc",
    "identity_of",
    "job_from_doc",
    "link_from_doc",
    "link_to_doc",
    "notice_from_doc",
    "subscription_from_doc",
    "subscription_to_doc",
]

Doc = dict[str, Any]
IDENTITY_FIELDS = (*sorted(LINK_IDENTITY), "search")

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "links": [
        ([("teams_user_id", ASCENDING)], {}),
        ([("rc_extension_id", ASCENDING)], {}),
        ([("email", ASCENDING)], {}),
        ([("state", ASCENDING), ("_id", ASCENDING)], {}),
        ([("due_at", ASCENDING)], {}),
    ],
    "subscriptions": [([("expires_at", ASCENDING)], {})],
    "jobs": [
        # One active job per kind: finished jobs carry "~<id>" here instead of the kind.
        ([("active_key", ASCENDING)], {"unique": True}),
        ([("created_at", ASCENDING)], {}),
    ],
    "dirty": [([("priority", ASCENDING), ("due_at", ASCENDING)], {}), ([("claim_token", 1)], {})],
    "notices": [
        ([("status", ASCENDING), ("next_attempt_at", ASCENDING)], {}),
        ([("claim_token", ASCENDING)], {}),
        ([("created_at", ASCENDING)], {}),
    ],
    "audit": [([("at", ASCENDING)], {}), ([("open", ASCENDING)], {})],
    "starts": [
        ([("scope", ASCENDING), ("key", ASCENDING), ("until", ASCENDING)], {}),
        ([("scope", ASCENDING), ("until", ASCENDING)], {}),
    ],
}
"""Indexes per collection, created at open."""


def link_to_doc(link: UserLink, now: float) -> Doc:
    """A whole link document, as first inserted."""
    teams, rc = link.teams, link.rc
    return {
        "_id": link.id,
        **identity_of(link),
        "sync_enabled": link.sync_enabled,
        "last_error": link.last_error,
        "teams": teams_to_dict(teams) if teams else None,
        "teams_seq": sequence_key(teams.sequence) if teams and teams.sequence else None,
        "teams_observed_at": teams.observed_at if teams else None,
        "rc": rc_to_dict(rc) if rc else None,
        "rc_seq": link.rc_sequence
        if link.rc_sequence is not None
        else (rc.sequence if rc else None),
        "rc_observed_at": rc.observed_at if rc else None,
        "engine_state": dumps(dict(link.engine_state)),
        "engine_version": link.engine_version,
        "updated_at": now,
    }


def identity_of(link: UserLink) -> Doc:
    """The fields a bulk upsert refreshes on existing links."""
    return {
        "email": link.email,
        "display_name": link.display_name,
        "teams_user_id": link.teams_user_id,
        "upn": link.upn,
        "mail": link.mail,
        "rc_extension_id": link.rc_extension_id,
        "rc_extension_number": link.rc_extension_number,
        "state": link.state.value,
        "reason_code": link.reason_code,
        "reason": link.reason,
        "search": search_text(link.email, link.upn, link.mail, link.display_name),
    }


def link_from_doc(doc: Mapping[str, Any]) -> UserLink:
    """A link from its document."""
    return UserLink(
        id=doc["_id"],
        email=doc["email"],
        display_name=doc["display_name"],
        teams_user_id=doc.get("teams_user_id"),
        upn=doc.get("upn"),
        mail=doc.get("mail"),
        rc_extension_id=doc.get("rc_extension_id"),
        rc_extension_number=doc.get("rc_extension_number"),
        sync_enabled=bool(doc["sync_enabled"]),
        state=LinkState(doc["state"]),
        reason_code=doc.get("reason_code"),
        reason=doc.get("reason"),
        last_error=doc.get("last_error"),
        teams=teams_from_dict(doc.get("teams")),
        rc=rc_from_dict(doc.get("rc")),
        rc_sequence=doc.get("rc_seq"),
        engine_state=json.loads(doc["engine_state"]),
        engine_version=int(doc["engine_version"]),
        updated_at=float(doc["updated_at"]),
        due_at=doc.get("due_at"),
    )


def connection_to_doc(item: Connection, box: SecretBox) -> Doc:
    """A connection document with the secret sealed."""
    return {
        "_id": item.kind,
        "status": item.status.value,
        "reason": item.reason,
        "details": connection_details_to_json(item.details),
        "secret": box.encrypt(item.secret) if item.secret is not None else None,
        "updated_at": item.updated_at,
    }


def connection_from_doc(doc: Mapping[str, Any], box: SecretBox) -> Connection:
    """A connection from its document, secret opened."""
    sealed = doc.get("secret")
    return Connection(
        kind=doc["_id"],
        status=ConnectionStatus(doc["status"]),
        reason=doc.get("reason"),
        details=connection_details_from_json(doc["details"]),
        secret=box.decrypt_text(sealed) if sealed else None,
        updated_at=float(doc["updated_at"]),
    )


def subscription_to_doc(item: Subscription, box: SecretBox) -> Doc:
    """A subscription document with the client state sealed."""
    return {
        "_id": f"{item.provider}:{item.id}",
        "provider": item.provider,
        "subscription_id": item.id,
        "resource": item.resource,
        "shard_key": item.shard_key,
        "expires_at": item.expires_at,
        "client_state": box.encrypt(item.client_state) if item.client_state is not None else None,
        "owner": item.owner,
        "details": subscription_details_to_json(item.details),
        "updated_at": item.updated_at,
    }


def subscription_from_doc(doc: Mapping[str, Any], box: SecretBox) -> Subscription:
    """A subscription from its document, client state opened."""
    sealed = doc.get("client_state")
    return Subscription(
        provider=doc["provider"],
        id=doc["subscription_id"],
        resource=doc["resource"],
        expires_at=float(doc["expires_at"]),
        shard_key=doc.get("shard_key"),
        client_state=box.decrypt_text(sealed) if sealed else None,
        owner=doc.get("owner"),
        details=subscription_details_from_json(doc["details"]),
        updated_at=float(doc["updated_at"]),
    )


def job_from_doc(doc: Mapping[str, Any]) -> Job:
    """A job from its document."""
    return Job(
        id=doc["_id"],
        kind=doc["kind"],
        requested_by=doc["requested_by"],
        status=JobStatus(doc["status"]),
        total=int(doc["total"]),
        processed=int(doc["processed"]),
        succeeded=int(doc["succeeded"]),
        skipped=int(doc["skipped"]),
        failed=int(doc["failed"]),
        failures=failures_from_list(doc.get("failures")),
        cursor=doc.get("cursor"),
        params=json.loads(doc["params"]),
        lease_owner=doc.get("lease_owner"),
        lease_until=doc.get("lease_until"),
        created_at=float(doc["created_at"]),
        updated_at=float(doc["updated_at"]),
        finished_at=doc.get("finished_at"),
    )


def dirty_from_doc(doc: Mapping[str, Any]) -> DirtyEntry:
    """A dirty-queue entry from its document."""
    return DirtyEntry(
        user_key=doc["_id"],
        priority=int(doc["priority"]),
        due_at=float(doc["due_at"]),
        reason=doc["reason"],
        claimed_by=doc.get("claimed_by"),
        claimed_until=doc.get("claimed_until"),
    )


def notice_from_doc(doc: Mapping[str, Any]) -> Notice:
    """A notice from its document."""
    return Notice(
        id=doc["_id"],
        recipient=doc["recipient"],
        channel=doc["channel"],
        kind=doc["kind"],
        subject=doc["subject"],
        payload=json.loads(doc["payload"]),
        status=NoticeStatus(doc["status"]),
        attempts=int(doc["attempts"]),
        reason=doc.get("reason"),
        claimed_by=doc.get("claimed_by"),
        claimed_until=doc.get("claimed_until"),
        next_attempt_at=float(doc["next_attempt_at"]),
        created_at=float(doc["created_at"]),
        delivered_at=doc.get("delivered_at"),
    )


def audit_from_doc(doc: Mapping[str, Any]) -> AuditEntry:
    """An audit entry from its document."""
    return AuditEntry(
        at=float(doc["at"]),
        actor=doc["actor"],
        action=doc["action"],
        user=doc.get("user"),
        details=audit_details_from_json(doc["details"]),
        id=str(doc["_id"]),
    )
