"""Every connection an admin can see in the bot's status card, the tab or doctor is named in
words, never by its record kind."""

import pytest

from presence_sync.connections.records import (
    GRAPH_CERTIFICATE,
    MICROSOFT,
    RINGCENTRAL,
    SYNC_ACCOUNTS,
    state_of,
    sync_account_kind,
)
from presence_sync.watch.certificate import CERTIFICATE_KIND


@pytest.mark.parametrize(
    "kind",
    [MICROSOFT, RINGCENTRAL, SYNC_ACCOUNTS, CERTIFICATE_KIND, sync_account_kind("Sync1@x.example")],
)
def test_each_connection_kind_has_a_readable_label(kind: str) -> None:
    label = state_of(kind, None, "not yet").label
    assert label != kind
    assert "-" not in label.replace("sync1@x.example", "")
    assert label[0].isupper()


def test_the_certificate_is_the_one_the_watchers_store() -> None:
    assert CERTIFICATE_KIND == GRAPH_CERTIFICATE
    assert state_of(CERTIFICATE_KIND, None, "").label == "Graph notification encryption key"
