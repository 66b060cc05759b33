"""Logging set-up: plain lines for people, JSON lines for log pipelines.

Messages carry values from requests (a callback's `error`, a refused body's problem), so
both formats escape control characters, line and paragraph separators, bidirectional
overrides and lone surrogates in the message and its extras: a value can never start a line
of its own and pass for a record the product wrote. Tracebacks stay multi-line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "PLAIN_FORMAT",
    "JsonFormatter",
    "PlainFormatter",
    "configure_logging",
    "escape_controls",
]

PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every character that could break or disguise a log line escaped."""
    return _UNSAFE.sub(_escape, text)


class PlainFormatter(logging.Formatter):
    """The plain line format, with the message escaped (see the module docstring)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Format with `record.message` escaped; the traceback is appended after this."""
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line with time, level, logger, message and structured extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": escape_controls(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                if isinstance(value, (int, float, bool, type(None))):
                    entry[key] = value
                else:
                    entry[key] = escape_controls(str(value))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "plain", level: str = "INFO", file: Path | None = None) -> None:
    """Route the root logger to stderr (or to `file`) in the chosen format and level.

    The demo and the other local runs log to a file, so their console shows only their own
    lines.
    """
    handler: logging.Handler
    if file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter(PLAIN_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log at INFO is one line per webhook: too loud for production.
    logging.getLogger("aiohttp.access").setLevel(max(logging.WARNING, root.level))
