"""Job reports and user notices reach people by email; undeliverable ones keep their reason."""

from __future__ import annotations

from typing import Any

from presence_sync.notices import JOB_REPORT, render
from presence_sync.store.models import NoticeStatus
from tests.sync.harness import SyncHarness, until

ADMIN = "admin@contoso.example"


async def _mail(h: SyncHarness) -> list[dict[str, Any]]:
    answer = await h.sb.control("GET", "/_sandbox/mail")
    return list(answer["mail"])


async def test_job_report_and_user_notices_arrive_by_mail(harness: SyncHarness) -> None:
    h = harness
    people = [link.email for link in await h.linked_people()][3:5]
    ticket = await h.admin.sync_users(ADMIN, [*people])

    async def delivered() -> bool:
        return len(await _mail(h)) >= 3

    await until(delivered, limit=30.0)
    mail = await _mail(h)
    report = next(m for m in mail if m["to"] == [ADMIN])
    assert "Sync selected users" in report["subject"]
    body = report["body"]["content"]
    assert report["body"]["contentType"] == "HTML"
    assert "Synced: 2" in body  # the plain-text rendering travels inside the HTML
    assert "<td>Synced</td><td>2</td>" in body
    assert ticket.job.id
    for email in people:
        notice = next(m for m in mail if m["to"] == [email])
        assert notice["subject"] == "Your presence is now synced"
        assert "RingCentral" in notice["body"]["content"]


async def test_undeliverable_notices_keep_their_reason_and_chat_falls_back_to_email(
    harness: SyncHarness,
) -> None:
    h = harness
    now = h.clock()
    bad = await h.store.enqueue_notice(
        recipient="not-an-address",
        channel="email",
        kind=JOB_REPORT,
        subject="",
        payload={"kind": "sync_all", "status": "done"},
        now=now,
    )
    chat = await h.store.enqueue_notice(
        recipient=ADMIN, channel="chat", kind=JOB_REPORT, subject="", payload={}, now=now
    )

    async def settled() -> bool:
        failed, by_email = await h.store.get_notice(bad.id), await h.store.get_notice(chat.id)
        return (
            failed is not None
            and failed.status == NoticeStatus.FAILED
            and by_email is not None
            and by_email.status == NoticeStatus.DELIVERED
        )

    await until(settled, limit=30.0)
    failed = await h.store.get_notice(bad.id)
    assert failed is not None
    assert failed.reason is not None
    assert "Microsoft refused the mail" in failed.reason
    assert failed.attempts == 1  # a refused recipient is not retried
    # Without a Teams bot a chat notice still reaches its person, by email.
    assert [m["to"] for m in await _mail(h)] == [[ADMIN]]


def test_job_report_lists_failures_in_both_renderings() -> None:
    rendered = render(
        JOB_REPORT,
        "",
        {
            "kind": "sync_all",
            "status": "done",
            "total": 5,
            "processed": 5,
            "synced": 2,
            "already": 1,
            "failed": 1,
            "unmatched": 1,
            "failures": [{"user": "kim@contoso.example", "reason": "write failed: <rejected>"}],
        },
    )
    assert rendered.subject == "Presence Sync: Sync all users done"
    assert "- kim@contoso.example: write failed: <rejected>" in rendered.text
    assert "<li>kim@contoso.example: write failed: &lt;rejected&gt;</li>" in rendered.html
    assert "Unmatched: 1" in rendered.text


def test_health_alerts_render_as_the_connections_queue_them() -> None:
    from presence_sync.connections.records import HEALTH_ALERT as QUEUED

    broken = render(
        QUEUED,
        "Presence Sync: the RingCentral connection is broken",
        {"state": "broken", "label": "RingCentral", "reason": "refused", "fix": "reconnect"},
    )
    assert "refused" in broken.text
    assert "What to do: reconnect" in broken.text
    healed = render(QUEUED, "", {"state": "recovered", "label": "RingCentral"})
    assert healed.subject == "Presence Sync: the RingCentral connection works again"
    assert "What to do" not in healed.text
