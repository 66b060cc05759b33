"""Fixtures shared with the sync tests: sandbox, real clients, store and running service."""

from tests.sync.conftest import (
    any_store,
    client_sandbox,
    harness,
    make_harness,
    mongo_target,
    sqlite_store,
)

__all__ = ["any_store", "client_sandbox", "harness", "make_harness", "mongo_target", "sqlite_store"]
