"""Pieces of Graph URLs that come from data: path segments and OData string literals."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["odata_literal", "segment"]


def segment(value: str) -> str:
    """One URL path segment, escaped (ids are GUIDs, but never trust that)."""
    return quote(value, safe="@.")


def odata_literal(value: str) -> str:
    """An OData string literal (quotes doubled, so a value cannot end the filter)."""
    return "'" + value.replace("'", "''") + "'"
