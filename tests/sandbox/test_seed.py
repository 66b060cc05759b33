"""The generated and loaded sandbox organisations."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox.seed import GLOBAL_ADMIN, TEAMS_ADMIN, dump_org, generate_org, load_org
from sandbox.server import RunningSandbox


def test_the_same_seed_gives_the_same_org_and_another_seed_a_different_one() -> None:
    assert dump_org(generate_org(60, seed=5)) == dump_org(generate_org(60, seed=5))
    assert dump_org(generate_org(60, seed=5)) != dump_org(generate_org(60, seed=6))


def test_first_user_is_the_global_administrator_with_a_stable_email() -> None:
    for seed in (0, 1, 99):
        org = generate_org(40, seed=seed)
        first = next(iter(org.teams_users.values()))
        assert first.user_principal_name == "admin@contoso.example"
        assert first.roles == [GLOBAL_ADMIN]
        assert org.rc_extension_by_email("admin@contoso.example") is not None
    teams_admin = org.teams_user_by_email("teams.admin@contoso.example")
    assert teams_admin is not None
    assert teams_admin.roles == [TEAMS_ADMIN]


def test_a_small_org_shows_every_kind_of_mismatch() -> None:
    org = generate_org(40, seed=0)
    teams = {u.user_principal_name.lower() for u in org.teams_users.values()}
    teams_mail = {(u.mail or "").lower() for u in org.teams_users.values()}
    rc_users = [e for e in org.rc_extensions.values() if e.type == "User"]
    rc_emails = [e.email for e in rc_users if e.email]
    # RingCentral only: an email neither as UPN nor as mail in Teams.
    assert any(e.lower() not in teams | teams_mail for e in rc_emails)
    # Teams only: a person (not a sync service account) without an extension.
    assert any(
        org.rc_extension_by_email(u.user_principal_name) is None
        and (u.mail is None or org.rc_extension_by_email(u.mail) is None)
        and not u.user_principal_name.startswith("sync")
        for u in org.teams_users.values()
    )
    assert any(not u.account_enabled for u in org.teams_users.values())
    assert any(e.status == "Disabled" for e in rc_users)
    assert any(e != e.lower() for e in rc_emails)
    assert any(u.mail and u.mail != u.user_principal_name for u in org.teams_users.values())
    counts = Counter(e.lower() for e in rc_emails)
    assert max(counts.values()) >= 2
    types = Counter(e.type for e in org.rc_extensions.values())
    assert types["Department"] >= 2
    assert types["Announcement"] >= 1


def test_mail_differing_from_upn_is_what_ringcentral_holds() -> None:
    org = generate_org(40, seed=0)
    differing = [u for u in org.teams_users.values() if u.mail and u.mail != u.user_principal_name]
    assert differing
    for user in differing:
        assert user.mail is not None
        assert org.rc_extension_by_email(user.mail) is not None
        assert org.rc_extension_by_email(user.user_principal_name) is None


def test_call_queues_have_enabled_members_who_know_their_queue() -> None:
    org = generate_org(200, seed=3)
    assert len(org.call_queues) >= 2
    for queue in org.call_queues.values():
        assert len(queue.member_ids) >= 3
        assert org.rc_extensions[queue.id].type == "Department"
        for member_id in queue.member_ids:
            member = org.rc_extensions[member_id]
            assert member.type == "User"
            assert member.status == "Enabled"
            assert queue.id in member.queue_ids


def test_sync_account_candidates_cover_every_650_people() -> None:
    org = generate_org(2000, seed=0)
    sync = [u for u in org.teams_users.values() if u.user_principal_name.startswith("sync")]
    assert len(sync) == 4
    assert all(u.account_enabled for u in sync)


def test_fifty_thousand_people_have_unique_identities() -> None:
    # Speed belongs to benchmarks, not tests; here: it scales and stays consistent.
    org = generate_org(50_000, seed=0)
    upns = [u.user_principal_name.lower() for u in org.teams_users.values()]
    assert len(upns) == len(set(upns))
    numbers = [e.extension_number for e in org.rc_extensions.values()]
    assert len(numbers) == len(set(numbers))
    assert len(org.teams_users) + len(org.rc_extensions) > 90_000


def test_rc_mode_is_carried_into_the_org() -> None:
    assert generate_org(10, rc_mode="chs").rc_mode == "chs"
    with pytest.raises(ValueError, match="rc_mode"):
        generate_org(10, rc_mode="cloud")


def test_a_dumped_org_loads_back_identically(tmp_path: Path) -> None:
    org = generate_org(80, seed=2, rc_mode="chs")
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(dump_org(org)))
    assert dump_org(load_org(path)) == dump_org(org)


def test_a_hand_written_seed_needs_only_names_and_emails(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "tenant_domain": "fabrikam.example",
                "teams_users": [
                    {"user_principal_name": "ann@fabrikam.example", "roles": [GLOBAL_ADMIN]},
                    {"user_principal_name": "bob@fabrikam.example", "presence": None},
                ],
                "rc_extensions": [
                    {"name": "Ann", "email": "Ann@Fabrikam.example"},
                    {"name": "Bob", "email": "bob@fabrikam.example"},
                ],
                "call_queues": [{"name": "Support", "members": ["ann@fabrikam.example"]}],
            }
        )
    )
    org = load_org(path)
    ann = org.teams_user_by_email("ann@fabrikam.example")
    bob = org.teams_user_by_email("bob@fabrikam.example")
    assert ann is not None
    assert ann.roles == [GLOBAL_ADMIN]
    assert ann.presence.sessions
    assert bob is not None
    assert not bob.presence.sessions
    ann_ext = org.rc_extension_by_email("ann@fabrikam.example")
    assert ann_ext is not None
    assert len(ann_ext.queue_ids) == 1
    assert org.rc_extensions[ann_ext.queue_ids[0]].type == "Department"


def test_a_bad_seed_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"call_queues": [{"name": "Q", "members": ["nobody@x.example"]}]}))
    with pytest.raises(ValueError, match=r"call_queues\[0\].*nobody@x.example"):
        load_org(path)
    path.write_text(json.dumps({"teams_users": [{"mail": "x@y.example"}]}))
    with pytest.raises(ValueError, match=r"teams_users\[0\].*user_principal_name"):
        load_org(path)


@pytest.fixture
def sandbox_options(tmp_path: Path) -> dict[str, Any]:
    """This module's sandbox runs a hand-written org in communication-handling mode."""
    path = tmp_path / "org.json"
    path.write_text(
        json.dumps(
            {
                "tenant_domain": "fabrikam.example",
                "rc_mode": "chs",
                "teams_users": [
                    {"user_principal_name": "ann@fabrikam.example", "roles": [GLOBAL_ADMIN]}
                ],
                "rc_extensions": [
                    {"name": "Ann", "email": "ann@fabrikam.example"},
                    {"name": "Rita", "email": "rita@fabrikam.example"},
                ],
            }
        )
    )
    return {"seed_file": path}


async def test_the_sandbox_serves_a_seed_file(sandbox: RunningSandbox) -> None:
    _, state = await sandbox.control("GET", "/_sandbox/state")
    assert state["rc_mode"] == "chs"
    people = {p["email"]: p for p in state["users"]}
    assert set(people) == {"ann@fabrikam.example", "rita@fabrikam.example"}
    assert people["ann@fabrikam.example"]["teams"]["roles"] == [GLOBAL_ADMIN]
    assert people["rita@fabrikam.example"]["teams"] is None
    _, config = await sandbox.control("GET", "/_sandbox/config")
    assert config["tenant_domain"] == "fabrikam.example"
    assert config["admins"] == [{"email": "ann@fabrikam.example", "roles": [GLOBAL_ADMIN]}]
