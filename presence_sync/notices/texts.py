"""What notices say: job reports, "you are now synced / unsynced", health alerts.

Each text is rendered twice from the same facts: plain text (chat, logs, the text part) and
HTML (email). Graph's JSON sendMail carries a single body, so the HTML embeds the plain text
rendering in a ``<pre>`` block after the formatted part, readable in any mail client.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HEALTH_ALERT",
    "JOB_REPORT",
    "USER_SYNCED",
    "USER_UNSYNCED",
    "RenderedNotice",
    "render",
]

JOB_REPORT = "job_report"
USER_SYNCED = "user_synced"
USER_UNSYNCED = "user_unsynced"
HEALTH_ALERT = "health-alert"  # queued by connections/records.py (and the watchers)

_JOB_TITLES = {
    "sync_all": "Sync all users",
    "sync_users": "Sync selected users",
    "unsync_users": "Unsync selected users",
    "disable_all": "Disable sync for everyone",
}


@dataclass(frozen=True)
class RenderedNotice:
    """A notice ready to send: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


def _html(title: str, paragraphs: list[str], rows: list[tuple[str, str]], text: str) -> str:
    parts = [f"<h2>{html.escape(title)}</h2>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if rows:
        cells = "".join(
            f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in rows
        )
        parts.append(f"<table>{cells}</table>")
    parts.append('<hr><p>Plain text version:</p><pre style="white-space:pre-wrap">')
    parts.append(html.escape(text) + "</pre>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _job_report(subject: str, p: Mapping[str, Any]) -> RenderedNotice:
    title = _JOB_TITLES.get(str(p.get("kind")), str(p.get("kind", "Job")))
    status = str(p.get("status", "done"))
    counts = [
        ("Synced", str(p.get("synced", 0))),
        ("Already in sync", str(p.get("already", 0))),
        ("Failed", str(p.get("failed", 0))),
        ("Unmatched", str(p.get("unmatched", 0))),
    ]
    if p.get("kind") in ("unsync_users", "disable_all"):
        counts[0] = ("Unsynced", counts[0][1])
    lead = f"{title}: {status}, {p.get('processed', 0)} of {p.get('total', 0)} users handled."
    failures = [(str(f.get("user")), str(f.get("reason"))) for f in p.get("failures", [])]
    lines = [lead, ""] + [f"{name}: {value}" for name, value in counts]
    if failures:
        lines += ["", "Failed users:"] + [f"- {user}: {reason}" for user, reason in failures]
    text = "\n".join(lines)
    body = _html(title, [lead], counts, text)
    if failures:
        items = "".join(f"<li>{html.escape(u)}: {html.escape(r)}</li>" for u, r in failures)
        body = body.replace("<hr>", f"<h3>Failed users</h3><ul>{items}</ul><hr>", 1)
    return RenderedNotice(subject or f"Presence Sync: {title} {status}", text, body)


def _user_synced(subject: str, p: Mapping[str, Any]) -> RenderedNotice:
    title = "Your presence is now synced"
    paragraphs = [
        "Your presence in Microsoft Teams and RingCentral is now kept in step.",
        "Teams meetings, calls and Do not disturb update your RingCentral status and how "
        "RingCentral routes your calls; a RingCentral call shows you as In a call in Teams.",
        "You can still change either status by hand; your own choice stands.",
    ]
    text = "\n\n".join([title, *paragraphs])
    return RenderedNotice(subject or title, text, _html(title, paragraphs, [], text))


def _user_unsynced(subject: str, p: Mapping[str, Any]) -> RenderedNotice:
    title = "Your presence is no longer synced"
    paragraphs = [
        "Microsoft Teams and RingCentral no longer update each other's status for you.",
        "Anything Presence Sync had set was handed back: RingCentral shows your own status "
        "again and Teams no longer shows RingCentral calls.",
    ]
    if p.get("reason"):
        paragraphs.append(f"Reason: {p['reason']}")
    text = "\n\n".join([title, *paragraphs])
    return RenderedNotice(subject or title, text, _html(title, paragraphs, [], text))


def _health(subject: str, p: Mapping[str, Any]) -> RenderedNotice:
    label = str(p.get("label") or p.get("connection") or "A connection")
    if p.get("state") == "recovered":
        title = subject or f"Presence Sync: the {label} connection works again"
        paragraphs = [str(p.get("note") or f"The {label} connection works again.")]
    else:
        title = subject or "Presence Sync needs attention"
        paragraphs = [str(p.get("message") or p.get("reason") or "A connection needs attention.")]
    fix = p.get("action") or p.get("fix")
    if fix and p.get("state") != "recovered":
        paragraphs.append(f"What to do: {fix}")
    text = "\n\n".join([title, *paragraphs])
    return RenderedNotice(title, text, _html(title, paragraphs, [], text))


_RENDERERS = {
    JOB_REPORT: _job_report,
    USER_SYNCED: _user_synced,
    USER_UNSYNCED: _user_unsynced,
    HEALTH_ALERT: _health,
}


def render(kind: str, subject: str, payload: Mapping[str, Any]) -> RenderedNotice:
    """The notice of `kind` from its payload; ValueError for an unknown kind."""
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        raise ValueError(f"unknown notice kind {kind!r}")
    return renderer(subject, payload)
