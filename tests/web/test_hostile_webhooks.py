"""Hostile webhook deliveries, each found by a probe to end as a 500 with a traceback.

Each one must now answer 400, leave one log line that names the problem, log no traceback,
and change nothing. A verified but malformed RingCentral event must be refused the same way
and leave the inbox worker running: the next genuine event is still applied.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from typing import Any

import pytest

from presence_sync.web.keys import SUPERVISOR
from tests.watch.harness import eventually
from tests.web import test_webhooks as delivered
from tests.web.test_webhooks import RC_TOKEN, Hooks, hooks

__all__ = ["hooks"]

GRAPH = "/api/notifications/graph"
LIFECYCLE = "/api/notifications/graph/lifecycle"
RINGCENTRAL = "/api/notifications/ringcentral"


def graph_body(**item: Any) -> bytes:
    """A change notification with one item; `item` overrides its fields."""
    fields = {
        "subscriptionId": delivered.GRAPH_SUB,
        "clientState": delivered.CLIENT_STATE,
        "changeType": "updated",
    }
    fields.update(item)
    fields.setdefault("resource", f"communications/presences('{delivered.USER}')")
    return json.dumps({"value": [fields]}).encode()


def rc_body(**overrides: Any) -> bytes:
    """The extension presence event for the linked person; `overrides` replace its fields."""
    body = delivered.fixture(
        "ringcentral",
        "extension_presence",
        subscription_id=delivered.RC_SUB,
        extension_id=delivered.EXTENSION,
    )
    for key, value in overrides.items():
        if key.startswith("body."):
            body["body"][key[5:]] = value
        else:
            body[key] = value
    return json.dumps(body).encode()


def deep(levels: int) -> bytes:
    """A JSON body nested `levels` deep."""
    return b'{"value": ' + b"[" * levels + b"]" * levels + b"}"


BIG_INT = b'{"value": [{"subscriptionId": "s", "sequence": ' + b"9" * 5000 + b"}]}"
RC_BIG_INT = rc_body().replace(b'"sequence": 7', b'"sequence": ' + b"1" * 4400)

# (path, body, extra headers, a word the log line and answer must hold)
CASES: dict[str, tuple[str, bytes, dict[str, str], str]] = {
    "graph: a 5,000-digit integer": (GRAPH, BIG_INT, {}, "digits"),
    "lifecycle: a 5,000-digit integer": (LIFECYCLE, BIG_INT, {}, "digits"),
    "ringcentral: a 4,400-digit sequence": (RINGCENTRAL, RC_BIG_INT, {}, "digits"),
    "graph: nested 100,000 deep": (GRAPH, deep(100_000), {}, "nested"),
    "lifecycle: nested 100,000 deep": (LIFECYCLE, deep(100_000), {}, "nested"),
    "ringcentral: nested 100,000 deep": (RINGCENTRAL, deep(100_000), {}, "nested"),
    "graph: nested 40 deep": (GRAPH, deep(40), {}, "nested"),
    "graph: gzip that is not gzip": (
        GRAPH,
        b"\x1f\x8b\x08\x00garbage-that-is-not-a-gzip-stream",
        {"Content-Encoding": "gzip"},
        "Content-Encoding",
    ),
    "ringcentral: deflate that is not deflate": (
        RINGCENTRAL,
        b"this is not a deflate stream at all",
        {"Content-Encoding": "deflate"},
        "Content-Encoding",
    ),
    "graph: a lone surrogate in subscriptionId": (
        GRAPH,
        graph_body(subscriptionId="\ud800"),
        {},
        "surrogate",
    ),
    "graph: a lone surrogate in clientState": (
        GRAPH,
        graph_body(clientState="abc\ud800"),
        {},
        "surrogate",
    ),
    "lifecycle: a lone surrogate in clientState": (
        LIFECYCLE,
        json.dumps(
            {
                "value": [
                    {
                        "subscriptionId": delivered.GRAPH_SUB,
                        "clientState": "\udfff",
                        "lifecycleEvent": "missed",
                    }
                ]
            }
        ).encode(),
        {},
        "surrogate",
    ),
    "graph: a lone surrogate in a key": (GRAPH, b'{"value": [{"\\ud800": 1}]}', {}, "surrogate"),
    "ringcentral: a lone surrogate in subscriptionId": (
        RINGCENTRAL,
        rc_body(subscriptionId="\ud800"),
        {},
        "surrogate",
    ),
    "ringcentral: timestamp year 1 at +14:00": (
        RINGCENTRAL,
        rc_body(timestamp="0001-01-01T00:00:00+14:00"),
        {},
        "timestamp",
    ),
    "ringcentral: timestamp year 9999 at -14:00": (
        RINGCENTRAL,
        rc_body(timestamp="9999-12-31T23:59:59-14:00"),
        {},
        "timestamp",
    ),
    "graph: NaN": (GRAPH, b'{"value": [{"subscriptionId": NaN}]}', {}, "NaN"),
}


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records at WARNING and above: what an operator would see."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def watched(hooks: Hooks, caplog: pytest.LogCaptureFixture) -> tuple[Any, ...]:
    """What the store holds now; the log is captured (at INFO) from here on."""
    before = await hooks.snapshot()
    caplog.clear()
    caplog.set_level(logging.INFO)
    return before


def assert_one_clean_line(caplog: pytest.LogCaptureFixture, word: str) -> None:
    """Exactly one warning, naming the problem, and no traceback anywhere in the log."""
    lines = problems(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert word.lower() in lines[0].getMessage().lower()
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("case", list(CASES))
async def test_each_hostile_body_is_refused_with_400_and_one_log_line(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    path, body, headers, word = CASES[case]
    before = await watched(hooks, caplog)

    response = await hooks.client.post(
        path,
        data=body,
        headers={"Content-Type": "application/json", "Verification-Token": RC_TOKEN, **headers},
    )

    assert response.status == 400
    answer = await response.json()
    assert word.lower() in answer["error"]["message"].lower()
    assert_one_clean_line(caplog, word)
    assert await hooks.snapshot() == before


async def raw_post(hooks: Hooks, path: str, head: bytes, body: bytes) -> tuple[int, bytes]:
    """POST over a plain socket, so header bytes go out exactly as given."""
    server = hooks.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n"
        + head
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.parametrize(
    "header",
    [
        b"Verification-Token: " + RC_TOKEN.encode() + b"\xff\r\n",
        b"Verification-Token: \xc3\xa9t\xc3\xa9\r\n",
        b"Validation-Token: \xe2\x80\xa8\r\n",
    ],
)
async def test_a_token_header_with_a_non_ascii_byte_is_refused(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, header: bytes
) -> None:
    before = await watched(hooks, caplog)

    status, answer = await raw_post(hooks, RINGCENTRAL, header, rc_body())

    assert status == 400
    assert b"visible ASCII" in answer
    assert_one_clean_line(caplog, "ASCII")
    assert await hooks.snapshot() == before


async def test_the_validation_echo_is_plain_text_that_is_not_sniffed(hooks: Hooks) -> None:
    for path in (GRAPH, LIFECYCLE):
        response = await hooks.client.post(path, params={"validationToken": "<b>hello</b>"})
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.text() == "<b>hello</b>"


async def test_an_absurd_validation_token_is_refused(hooks: Hooks) -> None:
    response = await hooks.client.post(GRAPH, params={"validationToken": "x" * 5000})
    assert response.status == 400
    assert "validationToken" in (await response.json())["error"]["message"]


# -- verified but malformed RingCentral events -----------------------------------------

POISON = {
    "a lone surrogate as extensionId": {"body.extensionId": "\ud800"},
    "an extensionId that is not a RingCentral id": {"body.extensionId": "62000864101; DROP"},
    "sequence 2**64": {"body.sequence": 2**64},
    "a negative sequence": {"body.sequence": -1},
    "a sequence that is text": {"body.sequence": "7"},
    "a status that is not a word": {"body.telephonyStatus": "CallConnected\n"},
    "a status of 10,000 characters": {"body.presenceStatus": "Busy" * 2500},
    "a timestamp that is not a time": {"timestamp": "yesterday"},
}


async def rc_in_call(hooks: Hooks) -> bool:
    """Whether the store holds the linked person as in a call on RingCentral."""
    link = await hooks.store.get_link(f"t:{delivered.USER}")
    return link is not None and link.rc is not None and link.rc.telephony_status == "CallConnected"


def inbox_restarts(hooks: Hooks) -> int:
    """How often the supervisor had to restart the inbox worker."""
    health = hooks.client.app[SUPERVISOR].health()
    return next(h.restarts for h in health if h.name == "watch-inbox")


@pytest.mark.parametrize("case", list(POISON))
async def test_a_verified_malformed_event_is_refused_and_the_inbox_keeps_working(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    before = await watched(hooks, caplog)

    poisoned = await hooks.client.post(
        RINGCENTRAL,
        data=rc_body(**POISON[case]),
        headers={"Content-Type": "application/json", "Verification-Token": RC_TOKEN},
    )

    assert poisoned.status == 400
    assert_one_clean_line(caplog, "RingCentral")
    assert await hooks.snapshot() == before
    # The inbox worker is still there and still applies what RingCentral genuinely sends.
    genuine = await hooks.client.post(
        RINGCENTRAL, data=rc_body(), headers={"Verification-Token": RC_TOKEN}
    )
    assert genuine.status == 200
    await eventually(lambda: rc_in_call(hooks), within=5)
    assert inbox_restarts(hooks) == 0
    assert "Traceback" not in caplog.text


async def test_a_gzip_bomb_is_cut_off_at_the_limit(
    hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    before = await watched(hooks, caplog)
    bomb = gzip.compress(b'{"value": [' + b" " * (20 * 1024 * 1024) + b"]}")
    assert len(bomb) < 64 * 1024  # small on the wire, 20 MB once inflated

    response = await hooks.client.post(
        GRAPH, data=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )

    assert response.status == 413
    assert "Traceback" not in caplog.text
    assert await hooks.snapshot() == before
