"""Subscription secrets that recently matched, so busy webhooks need not read the store each time.

Every Graph delivery names its subscription and carries its clientState; every RingCentral
event carries the subscription's verification token. Checking them means reading the stored
subscriptions: one store round trip per delivery, on the path every presence change takes.
A secret that matched a stored subscription is trusted for `ttl` seconds more without that
read. Only matches are remembered: a secret not seen before, or a different one, is checked
against the store as always, so a new subscription is never refused and a wrong secret never
passes. A subscription deleted meanwhile is still accepted for at most `ttl` seconds; its
deliveries are hints that pass the same checks as any other.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SECRET_TTL", "KnownSecrets"]

SECRET_TTL = 30.0  # seconds a matched secret is trusted without reading the store again
_PRUNE_ABOVE = 1_000  # remembered matches before expired ones are dropped


@dataclass
class KnownSecrets:
    """Secrets that matched a stored subscription lately, per provider and subscription."""

    ttl: float = SECRET_TTL
    clock: Callable[[], float] = time.monotonic
    _matched: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def known(self, provider: str, subscription: str, given: str | None) -> bool:
        """Whether `given` matched `subscription` of `provider` within the last `ttl` s."""
        if not given:
            return False
        now = self.clock()
        secrets = self._matched.get((provider, subscription), {})
        # Compared in constant time, as against the store: a near miss must not be faster.
        return any(
            now - at < self.ttl and hmac.compare_digest(given.encode(), secret.encode())
            for secret, at in secrets.items()
        )

    def remember(self, provider: str, subscription: str, secret: str) -> None:
        """Note that `secret` matched the stored `subscription` of `provider` just now."""
        now = self.clock()
        if sum(len(s) for s in self._matched.values()) >= _PRUNE_ABOVE:
            self._matched = {
                key: fresh
                for key, secrets in self._matched.items()
                if (fresh := {k: t for k, t in secrets.items() if now - t < self.ttl})
            }
        self._matched.setdefault((provider, subscription), {})[secret] = now
