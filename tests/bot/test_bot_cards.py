"""Every card the bot sends: golden files, Microsoft's renderer, Teams' size limit, buttons.

    UPDATE_SNAPSHOTS=1 pytest tests/bot/test_bot_cards.py    rewrites tests/bot/snapshots/

Without it a card that differs from its snapshot fails with the diff.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cards import (
    JOB_FAILURE_ROWS,
    RULE_INPUT_PREFIX,
    RULES_CONFLICT,
    RULES_INPUT_CUSTOMISATION,
    RULES_INPUT_PRESERVE,
    RULES_SAVED,
    USERS_PAGE_SIZE,
    VERB_DATA,
    Card,
    ConnectUrls,
    Preview,
    Verb,
    WriteBudget,
    alert_card,
    apology_card,
    cancelled_card,
    confirm_card,
    confirmed_card,
    connect_card,
    did_you_mean_card,
    expired_card,
    help_card,
    job_card,
    my_status_card,
    not_yours_card,
    pick_card,
    recovered_card,
    refused_card,
    reset_confirm_card,
    rules_card,
    status_card,
    synced_notice_card,
    team_chat_card,
    text_card,
    unknown_card,
    unsynced_notice_card,
    users_card,
)
from bot.commands import Command, CommandName, parse
from bot.people import Candidate
from presence_sync.admin import JobView, RulesView, StatusView, UserPage, UserView
from presence_sync.watch.coverage import Coverage
from tests.cards.check import MAX_CARD_BYTES, check_cards

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

# ---------------------------------------------------------------- views, as the use cases give


def rules_view(**changes: Any) -> RulesView:
    """The rules of an organisation that switched customisation on and keeps meetings quiet."""
    values: dict[str, Any] = {
        "call_presence_customisation": True,
        "preserve_during_inactivity": False,
        "rules": (
            ("Busy", "Accept all calls"),
            ("In a call", "Do not accept queue calls"),
            ("In a conference call", "Do not accept queue calls"),
            ("In a meeting", "Do not accept any calls"),
            ("Offline", "Accept all calls"),
        ),
        "rule_ids": {
            "busy": "accept_all_calls",
            "in_a_call": "no_queue_calls",
            "in_a_conference_call": "no_queue_calls",
            "in_a_meeting": "no_calls",
            "offline": "accept_all_calls",
        },
        "sync_enabled": True,
        "version": 7,
    }
    values.update(changes)
    return RulesView(**values)


def job(**changes: Any) -> JobView:
    """A sync-all job that ended with two failures."""
    values: dict[str, Any] = {
        "id": "5f0c3a9e2b7d4e61a8c0f3b1d2e4a6c8",
        "kind": "sync_all",
        "status": "done",
        "requested_by": "admin@contoso.com",
        "total": 412,
        "processed": 412,
        "synced": 371,
        "already": 24,
        "failed": 2,
        "unmatched": 15,
        "failures": (
            ("dan.ng@contoso.com", "RingCentral refused the presence change (403)."),
            ("eve.ruiz@contoso.com", "The Microsoft account has no Teams licence."),
        ),
        "created_at": 1_767_000_000.0,
        "finished_at": 1_767_000_420.0,
    }
    values.update(changes)
    return JobView(**values)


RUNNING = job(
    status="running",
    processed=180,
    synced=160,
    already=12,
    failed=0,
    unmatched=8,
    failures=(),
    finished_at=None,
)
UNMATCHED_REASONS = {
    "No RingCentral user has this email as contact email.": 11,
    "The Microsoft account is disabled.": 3,
    "The RingCentral user is unassigned, not enabled.": 1,
}
COVERAGE = Coverage(
    users=371,
    by_notification=371,
    by_polling=0,
    poll_interval=1.5,
    fast_polling=True,
    reconcile_interval=900.0,
    graph_subscriptions=1,
    ringcentral_subscription=True,
)


def status_view(**changes: Any) -> StatusView:
    """A healthy organisation with a job running."""
    values: dict[str, Any] = {
        "sync_enabled": True,
        "connections": (
            ("microsoft", "connected", None),
            ("microsoft-sync-account:sync@contoso.com", "connected", None),
            ("ringcentral", "connected", None),
        ),
        "linked": 397,
        "unmatched": 15,
        "synced": 371,
        "pending_users": 3,
        "coverage": COVERAGE,
        "last_job": RUNNING,
        "warnings": (),
    }
    values.update(changes)
    return StatusView(**values)


BROKEN = status_view(
    connections=(
        ("microsoft", "connected", None),
        ("microsoft-sync-accounts", "missing", "no sync account is authorised"),
        ("ringcentral", "broken", "RingCentral refused the refresh token (invalid_grant)."),
    ),
    coverage=Coverage(371, 0, 371, 6.0, False, 900.0, 0, False),
    last_job=job(),
    warnings=(
        "microsoft-sync-accounts is missing: no sync account is authorised",
        "ringcentral is broken: RingCentral refused the refresh token (invalid_grant).",
    ),
)


def user(name: str, email: str, **changes: Any) -> UserView:
    """One person on both platforms, not synced."""
    values: dict[str, Any] = {
        "id": f"link-{email.split('@')[0]}",
        "email": email,
        "display_name": name,
        "linked": True,
        "synced": False,
        "reason": None,
        "last_error": None,
        "teams": "Available/Available",
        "ringcentral": "Available, TakeAllCalls",
        "call_queue_member": True,
    }
    values.update(changes)
    return UserView(**values)


ALICE = user("Alice Jones", "alice.jones@contoso.com", synced=True)
BOB = user("Bob King", "bob.king@contoso.com")
CAROL = user(
    "Carol Wu",
    "carol.wu@contoso.com",
    linked=False,
    synced=False,
    reason="No RingCentral user has this email as contact email.",
)
DAN = user(
    "Dan Ng",
    "dan.ng@contoso.com",
    synced=True,
    last_error="RingCentral refused the presence change (403).",
)
URLS = ConnectUrls(
    admin_consent="https://presence.contoso.com/connect/microsoft",
    sync_account="https://presence.contoso.com/connect/sync-account",
    ringcentral="https://presence.contoso.com/connect/ringcentral",
    ringcentral_identity="https://presence.contoso.com/connect/ringcentral/identities/oauth",
)
ALICES = (
    Candidate("link-alice.jones", "alice.jones@contoso.com", "Alice Jones"),
    Candidate("link-alice.wong", "alice.wong@contoso.com", "Alice Wong"),
)
TOKEN = "c0nf1rm-7d2a"

CARDS: dict[str, Callable[[], Card]] = {
    "help_admin": lambda: help_card(True),
    "help_member": lambda: help_card(False),
    "did_you_mean": lambda: did_you_mean_card("stauts", "status"),
    "did_you_mean_nothing": lambda: did_you_mean_card("hello there", None),
    "status": lambda: status_card(status_view(), WriteBudget(used=12, limit=40)),
    # The top of the hour with one identity: the wait is too long, the card says what to do.
    "status_backlog": lambda: status_card(
        status_view(),
        WriteBudget(
            used=40,
            limit=40,
            identities=1,
            backlog=480,
            expected_delay=720.0,
            p95_delay=540.0,
            advice="RingCentral writes waited 9 min (95th percentile, last hour), above the "
            "60 s target, with 1 RingCentral identity, allowing 40 writes a minute. Add a "
            "RingCentral identity (each adds its own 40 writes a minute), or ask RingCentral "
            "for a higher API limit for the app.",
        ),
    ),
    "status_broken": lambda: status_card(BROKEN),
    "status_off": lambda: status_card(
        status_view(
            sync_enabled=False,
            coverage=None,
            last_job=None,
            warnings=("sync is turned off for the organisation",),
        )
    ),
    "my_status_synced": lambda: my_status_card(ALICE, rules_view()),
    "my_status_default": lambda: my_status_card(
        BOB, rules_view(call_presence_customisation=False, preserve_during_inactivity=True)
    ),
    "my_status_unmatched": lambda: my_status_card(CAROL, rules_view()),
    "confirm_sync_all": lambda: confirm_card(
        CommandName.SYNC_ALL, Preview(change=371, already=24, unmatched=UNMATCHED_REASONS), TOKEN
    ),
    "confirm_disable": lambda: confirm_card(CommandName.DISABLE, Preview(change=395), TOKEN),
    "confirmed_sync_all": lambda: confirmed_card(CommandName.SYNC_ALL),
    "confirmed_disable": lambda: confirmed_card(CommandName.DISABLE),
    "cancelled": lambda: cancelled_card(CommandName.SYNC_ALL),
    "expired": lambda: expired_card(CommandName.DISABLE),
    "not_yours": lambda: not_yours_card("Ada Admin"),
    "rules": lambda: rules_card(rules_view()),
    "rules_saved": lambda: rules_card(rules_view(version=8), message=RULES_SAVED),
    "rules_conflict": lambda: rules_card(
        rules_view(call_presence_customisation=False, version=9), message=RULES_CONFLICT
    ),
    "rules_reset_confirm": lambda: reset_confirm_card(rules_view()),
    "users_first": lambda: users_card(UserPage((ALICE, BOB, CAROL, DAN), "link-dan.ng")),
    "users_filtered_last": lambda: users_card(
        UserPage((ALICE,), None), filter="alice", cursor="link-a", previous_cursor=None
    ),
    "users_none": lambda: users_card(UserPage((), None), filter="zed"),
    "pick": lambda: pick_card(CommandName.SYNC, "Alice", ALICES),
    "unknown": lambda: unknown_card(["Zed Qux", "frank@contoso.com"]),
    "job_running": lambda: job_card(RUNNING),
    "job_done": lambda: job_card(job(), unmatched_reasons=UNMATCHED_REASONS),
    "job_clean": lambda: job_card(
        job(
            kind="unsync_users",
            total=2,
            processed=2,
            synced=2,
            already=0,
            failed=0,
            unmatched=0,
            failures=(),
        )
    ),
    "connect_fresh": lambda: connect_card(
        status_view(
            connections=(
                ("microsoft", "missing", None),
                ("ringcentral", "missing", None),
                ("microsoft-sync-accounts", "missing", None),
            )
        ),
        URLS,
    ),
    "connect_partly_broken": lambda: connect_card(BROKEN, URLS),
    "connect_identities": lambda: connect_card(
        status_view(
            connections=(
                *status_view().connections,
                ("ringcentral-identity:2002", "connected", None),
                ("ringcentral-identity:2003", "broken", "RingCentral refused the stored sign-in."),
            )
        ),
        URLS,
    ),
    "refused": lambda: refused_card("sync people"),
    "team_chat": lambda: team_chat_card("https://teams.microsoft.com/l/chat/0/0?users=28:bot"),
    "apology": lambda: apology_card("9f2c41d7"),
    "notice_synced": synced_notice_card,
    "notice_unsynced": lambda: unsynced_notice_card("Your admin stopped syncing your presence."),
    "alert": lambda: alert_card(
        "RingCentral",
        "RingCentral refused the refresh token (invalid_grant).",
        "In the Presence Sync tab, press Connect RingCentral",
    ),
    "recovered": lambda: recovered_card("RingCentral", "Reconnected by admin@contoso.com."),
    "notice_text": lambda: text_card(
        "Presence Sync: your job finished",
        "sync all finished: 38 synced, 2 already in sync.\n\nNo one failed.",
    ),
}

# ---------------------------------------------------------------- worst cases for Teams' limit

LONGEST = "\U0001d4d0" * 256  # 256 four-byte characters: longer in bytes than any name allowed


def worst_users_page() -> UserPage:
    """A full page whose every name, email and reason is as long as anything can be."""
    rows = []
    for i in range(USERS_PAGE_SIZE):
        rows.append(
            UserView(
                id=f"{i:02d}" + "f" * 62,
                email=("x" * 64) + "@" + ("d" * 189) + ".com",
                display_name=LONGEST,
                linked=True,
                synced=i % 2 == 0,
                reason=LONGEST * 4,
                last_error=LONGEST * 4,
                teams=None,
                ringcentral=None,
            )
        )
    return UserPage(tuple(rows), next_cursor="f" * 64)


def worst_job() -> JobView:
    """A sync-all of 5,000 people of whom 4,000 failed, with long reasons, names and causes."""
    failures = tuple((f"{i}{LONGEST}@contoso.com", LONGEST * 4) for i in range(4000))
    return job(
        total=5000,
        processed=5000,
        synced=500,
        already=0,
        failed=4000,
        unmatched=500,
        failures=failures,
    )


WORST_REASONS = {f"{i} {LONGEST * 4}": 10 for i in range(50)}

WORST: dict[str, Callable[[], Card]] = {
    "worst_users_page": lambda: users_card(
        worst_users_page(), filter=LONGEST * 8, cursor="e" * 64, previous_cursor="d" * 64
    ),
    "worst_job_report": lambda: job_card(worst_job(), unmatched_reasons=WORST_REASONS),
    "worst_confirm": lambda: confirm_card(
        CommandName.SYNC_ALL, Preview(change=10, unmatched=WORST_REASONS), TOKEN
    ),
    "worst_pick": lambda: pick_card(
        CommandName.UNSYNC, LONGEST, [Candidate(f"{i}" * 64, LONGEST, LONGEST) for i in range(60)]
    ),
    "worst_unknown": lambda: unknown_card([LONGEST] * 500),
    "worst_status": lambda: status_card(
        status_view(
            connections=tuple(
                (f"microsoft-sync-account:{i}{LONGEST}", "broken", LONGEST * 4) for i in range(20)
            ),
            warnings=(LONGEST * 4,) * 20,
        )
    ),
}


def sent_size(card: Card) -> int:
    """Bytes of the card as the Bot Connector client sends it: `json.dumps` defaults, ASCII.

    Never less than the renderer check's measure (compact UTF-8): escapes and spaces only add.
    """
    return len(json.dumps(card).encode())


def pretty(card: Card) -> str:
    """A card as its snapshot file holds it."""
    return json.dumps(card, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- snapshots


@pytest.mark.parametrize("name", sorted(CARDS))
def test_card_matches_its_snapshot(name: str) -> None:
    """Each card is exactly its committed golden file (UPDATE_SNAPSHOTS=1 rewrites them)."""
    path = SNAPSHOTS / f"{name}.json"
    built = pretty(CARDS[name]())
    if UPDATE:
        path.write_text(built, encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 to write it"
    stored = path.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            stored.splitlines(keepends=True),
            built.splitlines(keepends=True),
            fromfile=f"snapshots/{path.name}",
            tofile="built now",
        )
    )
    assert not diff, f"{name} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept):\n{diff}"


def test_every_snapshot_belongs_to_a_card() -> None:
    """No stale golden file is left behind for a card that is gone or renamed."""
    stale = sorted(p.stem for p in SNAPSHOTS.glob("*.json") if p.stem not in CARDS)
    assert stale == []


def test_every_snapshot_and_worst_case_passes_microsofts_renderer() -> None:
    """Parsed and validated as Teams reads 1.5 cards, no card raises a single event."""
    cards = {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SNAPSHOTS.glob("*.json"))
    }
    assert len(cards) == len(CARDS)
    cards.update({name: build() for name, build in WORST.items()})
    reports = check_cards(cards)
    bad = [report for report in reports if not report.ok]
    assert not bad, "\n".join(map(str, bad))


# ---------------------------------------------------------------- size


@pytest.mark.parametrize("name", sorted(WORST))
def test_worst_case_stays_under_teams_message_limit(name: str) -> None:
    """The longest names and reasons, thousands of failures: still one message Teams takes."""
    size = sent_size(WORST[name]())
    assert size < MAX_CARD_BYTES, f"{name} is {size} bytes"


def test_worst_job_report_lists_some_failures_and_counts_the_rest() -> None:
    """A report of 4,000 failures names the first few and says how many more there are."""
    built = json.dumps(WORST["worst_job_report"]())
    assert "and 3,975 people more." in built
    failed = [f for f in of_type(WORST["worst_job_report"](), "FactSet")[1]["facts"]]
    assert len(failed) == JOB_FAILURE_ROWS


# ---------------------------------------------------------------- what people notice


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def of_type(card: Card, kind: str) -> list[dict[str, Any]]:
    """Every element or action of one type."""
    return [node for node in walk(card) if node.get("type") == kind]


def visible_text(card: Card) -> str:
    """All words a person can read on the card."""
    words = []
    for node in walk(card):
        for key in ("text", "title", "value", "label"):
            if isinstance(node.get(key), str) and node.get("type") != "Input.ChoiceSet":
                words.append(node[key])
    return "\n".join(words)


ALL_CARDS = {**CARDS, **WORST}


@pytest.mark.parametrize("name", sorted(ALL_CARDS))
def test_every_button_sends_a_known_verb_with_its_documented_data(name: str) -> None:
    """The invoke handler can dispatch every button: known verb, exactly the documented keys."""
    built = ALL_CARDS[name]()
    for action in of_type(built, "Action.Execute"):
        verb = Verb(action["verb"])
        assert set(action["data"]) == VERB_DATA[verb], (name, action)
    assert not [a for a in walk(built) if a.get("type") in ("Action.Submit", "Action.ShowCard")]
    assert all(a["url"].startswith("https://") for a in of_type(built, "Action.OpenUrl"))


@pytest.mark.parametrize("name", sorted(CARDS))
def test_run_buttons_type_commands_the_parser_knows(name: str) -> None:
    """A Help, Status or suggestion button runs text that parses as a command."""
    for action in of_type(CARDS[name](), "Action.Execute"):
        if action["verb"] == Verb.RUN:
            assert isinstance(parse(action["data"]["text"], (), "28:bot"), Command), action


@pytest.mark.parametrize("name", sorted(CARDS))
def test_no_card_shows_internal_names(name: str) -> None:
    """Ids and key names stay in the data; people read plain words."""
    shown = visible_text(CARDS[name]())
    for jargon in ("link_id", "job_id", TOKEN, "microsoft-sync-account", "TakeAllCalls", "None"):
        assert jargon not in shown, (name, jargon)


def test_confirm_card_shows_the_counts_by_reason_and_carries_the_token() -> None:
    """Before syncing everyone the admin sees how many, and why some cannot be synced."""
    built = CARDS["confirm_sync_all"]()
    shown = visible_text(built)
    assert "371 people" in shown
    assert "24 people are synced already" in shown
    assert "15 people cannot be synced" in shown
    [fact_set] = of_type(built, "FactSet")
    assert [(f["title"], f["value"]) for f in fact_set["facts"]] == [
        ("11", "No RingCentral user has this email as contact email."),
        ("3", "The Microsoft account is disabled."),
        ("1", "The RingCentral user is unassigned, not enabled."),
    ]
    assert [(a["verb"], a["data"]) for a in of_type(built, "Action.Execute")] == [
        ("confirm", {"token": TOKEN}),
        ("cancel", {"token": TOKEN}),
    ]


def test_confirm_lists_the_commonest_reasons_and_sums_the_rest() -> None:
    """Many distinct reasons: the eight commonest are listed, the others are one row."""
    reasons = {f"reason {i}": i for i in range(1, 13)}
    built = confirm_card(CommandName.SYNC_ALL, Preview(change=1, unmatched=reasons), TOKEN)
    facts = of_type(built, "FactSet")[0]["facts"]
    assert facts[0] == {"title": "12", "value": "reason 12"}
    assert facts[-1] == {"title": str(1 + 2 + 3 + 4), "value": "other reasons"}
    assert len(facts) == 9


def test_only_sync_all_and_disable_are_confirmed() -> None:
    """Asking to confirm any other command is a mistake the caller hears about."""
    with pytest.raises(ValueError, match="sync all and disable"):
        confirm_card(CommandName.SYNC, Preview(change=1), TOKEN)


def test_rules_card_preselects_the_current_rules_and_carries_the_version() -> None:
    """Each Teams state's choice shows the saved rule; Save sends the version that was shown."""
    built = rules_card(rules_view(version=42))
    choices = {c["id"]: c["value"] for c in of_type(built, "Input.ChoiceSet")}
    assert choices == {
        f"{RULE_INPUT_PREFIX}busy": "accept_all_calls",
        f"{RULE_INPUT_PREFIX}in_a_call": "no_queue_calls",
        f"{RULE_INPUT_PREFIX}in_a_conference_call": "no_queue_calls",
        f"{RULE_INPUT_PREFIX}in_a_meeting": "no_calls",
        f"{RULE_INPUT_PREFIX}offline": "accept_all_calls",
    }
    toggles = {t["id"]: t["value"] for t in of_type(built, "Input.Toggle")}
    assert toggles == {RULES_INPUT_CUSTOMISATION: "true", RULES_INPUT_PRESERVE: "false"}
    save, reset = of_type(built, "Action.Execute")
    assert (save["verb"], save["data"], save["associatedInputs"]) == (
        "rules.save",
        {"version": 42},
        "auto",
    )
    assert (reset["verb"], reset["data"], reset["associatedInputs"]) == (
        "rules.reset",
        {"version": 42},
        "none",
    )
    shown = visible_text(built)
    assert "Busy, Do not disturb, no calls" in shown  # In a meeting → no calls
    assert "Offline, all calls ring" in shown


def test_rules_card_says_when_someone_else_changed_them() -> None:
    """After a conflict the admin reads that nothing was overwritten."""
    assert "nothing was overwritten" in visible_text(CARDS["rules_conflict"]())
    assert "Saved." in visible_text(CARDS["rules_saved"]())


def test_users_card_offers_sync_for_unsynced_and_unsync_for_synced() -> None:
    """Each row's button does the opposite of its state; unmatched people get none."""
    built = CARDS["users_first"]()
    buttons = {
        a["data"]["link_id"]: a["verb"]
        for a in of_type(built, "Action.Execute")
        if "link_id" in a["data"]
    }
    assert buttons == {
        ALICE.id: "unsync.one",
        BOB.id: "sync.one",
        DAN.id: "unsync.one",
    }
    shown = visible_text(built)
    assert "Not matched: No RingCentral user has this email as contact email." in shown
    assert "Failed: RingCentral refused the presence change (403)." in shown
    [next_page] = [a for a in of_type(built, "Action.Execute") if a["verb"] == "users.page"]
    assert next_page["data"] == {"filter": None, "cursor": "link-dan.ng"}


def test_users_card_goes_back_from_a_later_page() -> None:
    """A later page offers Previous (to its previous cursor) and, at the end, no Next."""
    built = CARDS["users_filtered_last"]()
    pages = [a for a in of_type(built, "Action.Execute") if a["verb"] == "users.page"]
    assert [(a["title"], a["data"]) for a in pages] == [
        ("Previous page", {"filter": "alice", "cursor": None})
    ]


def test_users_card_refuses_more_than_a_page() -> None:
    """A caller that asked the store for too many people hears it instead of a broken card."""
    many = UserPage((BOB,) * (USERS_PAGE_SIZE + 1), None)
    with pytest.raises(ValueError, match=str(USERS_PAGE_SIZE)):
        users_card(many)


def test_job_report_offers_retry_only_when_some_failed() -> None:
    """Retry failed appears with failures, and carries the job."""
    done = of_type(CARDS["job_done"](), "Action.Execute")
    assert [(a["verb"], a["data"]) for a in done] == [("retry", {"job_id": job().id})]
    assert of_type(CARDS["job_clean"](), "Action.Execute") == []
    running = of_type(CARDS["job_running"](), "Action.Execute")
    assert [a["verb"] for a in running] == ["job.refresh"]
    assert "180 of 412 people handled (44%)." in visible_text(CARDS["job_running"]())


def test_pick_card_has_one_button_per_candidate() -> None:
    """Which Alice: each button names the person and the command it finishes."""
    built = CARDS["pick"]()
    assert "Which Alice did you mean?" in visible_text(built)
    assert [a["data"] for a in of_type(built, "Action.Execute")] == [
        {"command": "sync", "link_id": "link-alice.jones"},
        {"command": "sync", "link_id": "link-alice.wong"},
    ]


def test_connect_card_opens_the_next_step_of_each_broken_connection() -> None:
    """Missing or broken steps get their sign-in page; a working sync account can add another."""
    urls = [
        (a["title"], a["url"]) for a in of_type(CARDS["connect_partly_broken"](), "Action.OpenUrl")
    ]
    assert urls == [
        ("Authorise a sync account", URLS.sync_account),
        ("Sign in to RingCentral", URLS.ringcentral),
    ]
    fresh = [a["url"] for a in of_type(CARDS["connect_fresh"](), "Action.OpenUrl")]
    assert fresh == [URLS.admin_consent, URLS.sync_account, URLS.ringcentral]


def test_status_card_reports_coverage_budget_and_fixes() -> None:
    """Admins read how people are watched, RingCentral writes in use, and how to fix breaks."""
    healthy = visible_text(CARDS["status"]())
    assert "371 people by Teams notification, 0 people by polling every 1.5 s." in healthy
    assert "Everyone is also read every 1.5 s." in healthy
    assert "12 of 40 a minute in use, over 1 RingCentral identity." in healthy
    assert "Nobody waiting." in healthy
    assert "Sync everyone: 180 of 412 people handled (44%)." in healthy
    broken = visible_text(CARDS["status_broken"]())
    assert "To fix: In the Presence Sync tab, press Connect RingCentral. Or type connect." in broken
    assert "RingCentral changes are only seen on that check" in broken


def test_status_card_says_how_long_writes_wait_and_what_to_do_when_it_is_too_long() -> None:
    """At the top of the hour an admin reads the backlog, the wait and the advice."""
    backlog = visible_text(CARDS["status_backlog"]())
    assert "40 of 40 a minute in use, over 1 RingCentral identity." in backlog
    assert "480 people waiting; a new change is written in about 12 min." in backlog
    assert "95% of writes in the last hour waited 9 min or less." in backlog
    assert "Add a RingCentral identity" in backlog


def test_connect_card_lists_the_identities_and_offers_one_more() -> None:
    """Once RingCentral is connected, the connect card lists each identity and adds one."""
    shown = visible_text(CARDS["connect_identities"]())
    assert "RingCentral identity 2002" in shown
    assert "RingCentral refused the stored sign-in." in shown
    urls = [a["url"] for a in of_type(CARDS["connect_identities"](), "Action.OpenUrl")]
    assert URLS.ringcentral_identity in urls


def test_my_status_shows_what_each_teams_state_does_in_ringcentral() -> None:
    """A person reads one row per Teams state with what RingCentral then shows."""
    [fact_set] = of_type(CARDS["my_status_synced"](), "FactSet")
    rows = dict((f["title"], f["value"]) for f in fact_set["facts"])
    assert rows["In a meeting"] == "Busy, Do not disturb, no calls"
    assert rows["In a call"] == "Busy, no call-queue calls"
    outside = my_status_card(
        user("Ed Li", "ed.li@contoso.com", call_queue_member=False), rules_view()
    )
    [fact_set] = of_type(outside, "FactSet")
    assert dict((f["title"], f["value"]) for f in fact_set["facts"])["In a call"] == (
        "Busy, all calls ring"
    )
