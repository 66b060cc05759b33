"""RingCentral answers and headers read without a server: batches, events, budgets."""

from __future__ import annotations

import json

from presence_sync.ringcentral.limits import RateLimits
from presence_sync.ringcentral.models import RcPresence, RcSubscription, parse_batch_presences


def _multipart(statuses: list[int], bodies: list[dict[str, object]]) -> tuple[str, bytes]:
    boundary = "Boundary_1_2_3"
    summary = {"response": [{"href": "x", "status": s} for s in statuses]}
    parts = [json.dumps(summary)] + [json.dumps(b) for b in bodies]
    text = "".join(f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{p}\r\n" for p in parts)
    return f"multipart/mixed; boundary={boundary}", (text + f"--{boundary}--\r\n").encode()


def test_multipart_batch_keeps_the_ids_ringcentral_could_read() -> None:
    content_type, body = _multipart(
        [200, 404, 200],
        [
            {"extension": {"id": 101}, "userStatus": "Busy", "dndStatus": "TakeAllCalls"},
            {
                "errorCode": "CMN-102",
                "message": "Resource for parameter [extensionId] is not found",
            },
            {"extension": {"id": 103}, "userStatus": "Available", "telephonyStatus": "Ringing"},
        ],
    )

    found = parse_batch_presences(207, content_type, body)

    assert [(p.extension_id, p.user_status) for p in found] == [
        ("101", "Busy"),
        ("103", "Available"),
    ]
    assert found[1].in_call


def test_json_batch_form_is_read_too() -> None:
    body = json.dumps(
        [
            {
                "resourceId": "7",
                "status": 200,
                "body": {"extension": {"id": 7}, "userStatus": "Offline"},
            },
            {"resourceId": "8", "status": 404, "body": {"errorCode": "CMN-102"}},
        ]
    ).encode()

    found = parse_batch_presences(207, "application/vnd.ringcentral.multipart+json", body)

    assert [(p.extension_id, p.user_status) for p in found] == [("7", "Offline")]


def test_event_body_gives_the_extension_as_a_string_and_the_mode() -> None:
    event = {
        "extensionId": "62000001",
        "telephonyStatus": "CallConnected",
        "sequence": 12,
        "presenceStatus": "Busy",
        "userStatus": "Available",
        "dndStatusPersonal": "TakeAllCalls",
        "acceptCallQueueCalls": True,
        "totalActiveCalls": 1,
    }

    presence = RcPresence.from_json(event)

    assert presence.extension_id == "62000001"
    assert presence.sequence == 12
    assert presence.mode == "chs"
    assert presence.active_calls == 1
    assert presence.in_call


def test_blacklisted_subscription_is_not_usable() -> None:
    sub = RcSubscription.from_json(
        {
            "id": "s1",
            "status": "Active",
            "eventFilters": ["/restapi/v1.0/account/~/presence"],
            "expirationTime": "2026-11-27T03:00:00.000Z",
            "expiresIn": 100,
            "deliveryMode": {"transportType": "WebHook", "address": "https://x/hook"},
            "blacklistedData": {"blacklistedAt": "2026-11-27T02:00:00.000Z"},
        }
    )

    assert sub.blacklisted
    assert not sub.usable
    assert sub.expiration is not None
    assert sub.expiration.hour == 3


class FakeClock:
    """Seconds under the test's control."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _headers(remaining: int, group: str = "Medium", limit: int = 40) -> dict[str, str]:
    return {
        "X-Rate-Limit-Group": group,
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Window": "60",
    }


def test_budget_counts_down_then_is_whole_again_after_the_window() -> None:
    clock = FakeClock()
    limits = RateLimits(clock=clock)

    limits.record(_headers(39), 200)
    clock.now += 10
    limits.record(_headers(38), 200)

    assert limits.remaining("Medium") == 38
    assert limits.reset_in("Medium") == 50  # measured from the window's first answer
    clock.now += 51
    assert limits.remaining("Medium") == 40
    assert limits.reset_in("Medium") == 0


def test_a_429_penalises_only_its_group_until_retry_after() -> None:
    clock = FakeClock()
    limits = RateLimits(clock=clock)
    limits.record(_headers(49, "Light", 50), 200)

    limits.record({**_headers(0), "Retry-After": "60"}, 429, retry_after=60)
    clock.now += 30

    assert limits.remaining("Medium") == 0
    assert limits.reset_in("Medium") == 30
    assert limits.remaining("Light") == 49
    assert limits.remaining("Heavy") is None
