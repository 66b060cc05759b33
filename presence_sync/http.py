"""HTTP plumbing both provider clients share: TLS trust, backoff and Retry-After.

Kept deliberately small: each client owns its own `_request()`; this module only holds the
pieces whose rules are the same for Microsoft and RingCentral.
"""

from __future__ import annotations

import email.utils
import math
import random
import ssl
import time
from pathlib import Path
from typing import Any

import requests

__all__ = [
    "TimeoutSession",
    "backoff_delay",
    "parse_retry_after",
    "requests_session",
    "server_error_delay",
    "ssl_context",
]

BACKOFF_BASE = 0.5  # seconds before the first retry, before jitter
BACKOFF_CAP = 30.0


def ssl_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """A client TLS context trusting the system roots plus `ca_file` when one is given."""
    context = ssl.create_default_context()
    if ca_file is not None:
        # Added to, not instead of, the system roots: a deployment may point one provider at
        # a local stand-in while the other stays in the cloud.
        context.load_verify_locations(cafile=str(ca_file))
    return context


class TimeoutSession(requests.Session):
    """A `requests` session with a default timeout and, optionally, its own CA file."""

    def __init__(self, timeout: float, ca_file: str | None = None) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.ca_file = ca_file
        if ca_file is not None:
            self.verify = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send a prepared request with the default timeout and this session's CA file."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if self.ca_file is not None:
            # requests lets REQUESTS_CA_BUNDLE override a session's `verify`; the CA file
            # configured for this client must win, or a local stand-in could never be trusted.
            kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


def requests_session(ca_file: str | Path | None, timeout: float) -> TimeoutSession:
    """A `requests` session for MSAL or the RingCentral SDK that trusts `ca_file` if given."""
    # requests takes one bundle: a configured CA file replaces the default roots for this
    # session only, which is what pointing a client at a local stand-in needs.
    return TimeoutSession(timeout, str(ca_file) if ca_file is not None else None)


def backoff_delay(
    attempt: int,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential with full jitter."""
    ceiling = min(cap, base * math.pow(2, max(0, attempt)))
    # Full jitter spreads replicas that failed together, so they do not retry together.
    return (rng or random).uniform(ceiling / 2, ceiling)


def server_error_delay(attempt: int, retry_after: float | None, max_wait: float) -> float:
    """Seconds before retrying a 5xx: the provider's Retry-After when sane, else backoff."""
    if retry_after is not None and retry_after <= max_wait:
        return retry_after
    return backoff_delay(attempt)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        current = time.time() if now is None else now
        return max(0.0, moment.timestamp() - current)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)
