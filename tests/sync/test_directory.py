"""Matching Teams users with RingCentral extensions, and keeping links current."""

from __future__ import annotations

from presence_sync.graph.models import GraphUser
from presence_sync.ringcentral.models import Extension
from presence_sync.store.models import LinkState
from presence_sync.sync.directory import MatchReason, match_users
from tests.sync.harness import SyncHarness


def _user(uid: str, upn: str, mail: str | None = None, enabled: bool = True) -> GraphUser:
    return GraphUser(uid, upn.split("@")[0], upn, mail, enabled)


def _ext(eid: str, email: str | None, status: str = "Enabled", kind: str = "User") -> Extension:
    return Extension(eid, eid[-3:], f"ext {eid}", email, kind, status)


def test_matching_by_upn_then_mail_ignoring_case_and_spaces() -> None:
    links = match_users(
        [_user("1", "ann@c.example"), _user("2", "bo@c.example", "bo.lee@c.example")],
        [_ext("101", " ANN@C.Example "), _ext("102", "Bo.Lee@c.example")],
    )
    by_id = {link.id: link for link in links}
    assert by_id["t:1"].state == LinkState.LINKED
    assert by_id["t:1"].rc_extension_id == "101"
    assert by_id["t:2"].state == LinkState.LINKED
    assert by_id["t:2"].rc_extension_id == "102"
    assert len(links) == 2


def test_unmatched_people_keep_a_reason_a_person_understands() -> None:
    links = match_users(
        [
            _user("1", "solo@c.example"),
            _user("2", "gone@c.example", enabled=False),
            _user("3", "dup@c.example"),
            _user("4", "off@c.example"),
        ],
        [
            _ext("201", "rc.only@c.example"),
            _ext("202", "gone@c.example"),
            _ext("203", "dup@c.example"),
            _ext("204", "dup@c.example"),
            _ext("205", "off@c.example", status="Disabled"),
            _ext("206", "queue@c.example", kind="Department"),
        ],
    )
    reasons = {link.id: (link.reason_code, link.reason) for link in links}
    assert all(link.state == LinkState.UNMATCHED for link in links)
    assert reasons["t:1"][0] == MatchReason.NO_RC_EXTENSION
    assert reasons["r:201"] == (
        MatchReason.NO_TEAMS_ACCOUNT,
        "No Microsoft Teams account has the email rc.only@c.example.",
    )
    assert reasons["t:2"] == (MatchReason.TEAMS_DISABLED, "The Microsoft account is disabled.")
    assert reasons["t:3"][0] == MatchReason.DUPLICATE_EMAIL
    assert "2 RingCentral users share this email" in (reasons["t:3"][1] or "")
    assert reasons["r:203"][0] == reasons["r:204"][0] == MatchReason.DUPLICATE_EMAIL
    assert reasons["t:4"] == (
        MatchReason.RC_DISABLED,
        "The RingCentral user is disabled, not enabled.",
    )
    assert "r:206" not in reasons  # call queues are not people


async def test_directory_follows_new_hires_changes_and_leavers(harness: SyncHarness) -> None:
    h = harness
    directory = h.service.directory
    await h.sb.control(
        "POST", "/_sandbox/teams/users", {"userPrincipalName": "new.hire@contoso.example"}
    )
    summary = await directory.refresh()
    assert not summary.full
    hire = await h.store.get_link_by_email("new.hire@contoso.example")
    assert hire is not None
    assert hire.reason_code == MatchReason.NO_RC_EXTENSION

    # The seeded RingCentral-only person gets a Teams account with their address.
    rc_only = next(
        link
        for link in (await h.store.list_links(state=LinkState.UNMATCHED, limit=500)).links
        if link.reason_code == MatchReason.NO_TEAMS_ACCOUNT
    )
    await h.sb.control(
        "PATCH",
        "/_sandbox/teams/users/new.hire@contoso.example",
        {"userPrincipalName": rc_only.email},
    )
    summary = await directory.refresh()
    assert summary.removed == 1  # the RingCentral-only link; the hire's id stays
    linked = await h.store.get_link_by_email(rc_only.email)
    assert linked is not None
    assert linked.state == LinkState.LINKED
    assert linked.rc_extension_id == rc_only.rc_extension_id

    await h.sb.control("DELETE", f"/_sandbox/teams/users/{rc_only.email}")
    await directory.refresh()
    again = await h.store.get_link_by_email(rc_only.email)
    assert again is not None
    assert again.reason_code == MatchReason.NO_TEAMS_ACCOUNT
