"""What every sandbox service shares: configuration, clock, request recorder and fault injector."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

from sandbox.model import Org
from sandbox.timeline import Timeline
from sandbox.tokens import TokenIssuer

FAULT_TARGETS = frozenset(
    {
        "entra",
        "graph",
        "connector",
        # Only what the bot sends: conversation creation and activities (Teams' throttling).
        "connector-sends",
        "ringcentral",
        "graph-notifications",
        "ringcentral-notifications",
    }
)
REVOCABLE = frozenset({"microsoft-consent", "microsoft-refresh-tokens", "ringcentral-token"})


@dataclass(frozen=True)
class SandboxConfig:
    """Identities and addresses the sandbox hands to its clients through /_sandbox/config."""

    base_url: str  # https://localhost:PORT
    ca_file: str
    tenant_id: str
    app_client_id: str  # the product's Entra app (Graph)
    app_client_secret: str
    bot_app_id: str
    bot_app_secret: str
    rc_client_id: str
    rc_client_secret: str
    rc_jwt: str  # JWT credential for RingCentral's JWT bearer grant
    product_url: str | None = None  # where activities to the bot are POSTed (…/api/messages)


class Clock:
    """Sandbox time: wall-clock epoch seconds that run `scale` times faster than real time."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._epoch = time.time()
        self._start = time.monotonic()

    @property
    def origin(self) -> tuple[float, float]:
        """(epoch seconds, `time.monotonic()`) at the start: ``now()`` is exactly
        ``epoch + (time.monotonic() - monotonic) * scale``. CLOCK_MONOTONIC is one clock for
        every process on a Linux machine, so another process can read sandbox time from these
        with no estimate at all."""
        return self._epoch, self._start

    def now(self) -> float:
        """Current sandbox time in epoch seconds."""
        return self._epoch + (time.monotonic() - self._start) * self.scale

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long `sandbox_seconds` of sandbox time take in real time."""
        return sandbox_seconds / self.scale

    async def sleep(self, sandbox_seconds: float) -> None:
        """Sleep for `sandbox_seconds` of sandbox time."""
        await asyncio.sleep(max(0.0, sandbox_seconds / self.scale))


class Recorder:
    """Counts API calls per service, method and route, and the 429s served; keeps the timeline."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        # Timestamps for benchmarks (off unless switched on through /_sandbox/timeline).
        self.timeline = Timeline()

    def record(self, service: str, method: str, route: str, status: int) -> None:
        """Count one answered request; `route` is the route pattern, not the concrete path."""
        key = f"{service} {method} {route}"
        self.calls[key] += 1
        if status == 429:
            self.throttled[key] += 1

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "calls": dict(sorted(self.calls.items())),
            "throttled": dict(sorted(self.throttled.items())),
            "total_throttled": sum(self.throttled.values()),
        }

    def reset(self) -> None:
        """Forget all counts."""
        self.calls.clear()
        self.throttled.clear()


@dataclass
class Fault:
    """One injected fault; see `Faults.add` for the accepted JSON."""

    target: str
    status: int | None = None
    count: int | None = None  # None: until cleared
    fraction: float = 1.0  # share of matching requests a status fault answers (seeded)
    delay_ms: int = 0
    retry_after: float | None = None
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False
    delay_notifications_ms: int = 0


@dataclass
class Faults:
    """Injected faults: error statuses, latency, notification chaos, revoked grants."""

    rng: random.Random = field(default_factory=lambda: random.Random(7))
    active: list[Fault] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)

    def add(self, spec: dict[str, Any]) -> None:
        """Add a fault from control-API JSON; raises ValueError naming the bad field."""
        if "revoke" in spec:
            what = spec["revoke"]
            if what not in REVOCABLE:
                raise ValueError(f"revoke: unknown grant {what!r}; one of {sorted(REVOCABLE)}")
            self.revoked.add(what)
            return
        target = spec.get("target")
        if target not in FAULT_TARGETS:
            raise ValueError(f"target: unknown {target!r}; one of {sorted(FAULT_TARGETS)}")
        known = {f for f in Fault.__dataclass_fields__}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = Fault(**spec)
        if fault.status is not None and not 400 <= fault.status <= 599:
            raise ValueError("status: must be an HTTP error status (400-599)")
        for name in ("drop", "duplicate", "fraction"):
            if not 0.0 <= float(getattr(fault, name)) <= 1.0:
                raise ValueError(f"{name}: must be a probability between 0 and 1")
        self.active.append(fault)

    def clear(self) -> None:
        """Remove every fault and restore every revoked grant."""
        self.active.clear()
        self.revoked.clear()

    def is_revoked(self, grant: str) -> bool:
        """Whether the control API revoked `grant`."""
        return grant in self.revoked

    async def before_request(self, target: str) -> web.Response | None:
        """Apply latency for `target`; return an error answer if a status fault fires."""
        for fault in list(self.active):
            if fault.target != target:
                continue
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.status is not None:
                if fault.fraction < 1.0 and self.rng.random() >= fault.fraction:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.active.remove(fault)
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(int(fault.retry_after))
                return web.json_response(
                    _fault_body(target, fault.status), status=fault.status, headers=headers
                )
        return None

    def shape_notifications(self, target: str, items: list[Any]) -> list[tuple[float, Any]]:
        """Plan delivery of `items` for `target`: (delay s, item) after drop, duplicate, reorder."""
        plan: list[tuple[float, Any]] = [(0.0, item) for item in items]
        for fault in self.active:
            if fault.target != target:
                continue
            shaped: list[tuple[float, Any]] = []
            for delay, item in plan:
                if fault.drop and self.rng.random() < fault.drop:
                    continue
                extra = fault.delay_notifications_ms / 1000 * self.rng.uniform(0.5, 1.5)
                shaped.append((delay + extra, item))
                if fault.duplicate and self.rng.random() < fault.duplicate:
                    shaped.append((delay + extra + self.rng.uniform(0.0, 0.2), item))
            if fault.reorder:
                shaped = [(d + self.rng.uniform(0.0, 0.3), i) for d, i in shaped]
            plan = shaped
        return plan


def _fault_body(target: str, status: int) -> dict[str, Any]:
    """An injected error in the shape the emulated service itself uses."""
    message = f"injected fault: HTTP {status}"
    if target.startswith("ringcentral"):
        code = "CMN-301" if status == 429 else "CMN-500"
        return {
            "errorCode": code,
            "message": message,
            "errors": [{"errorCode": code, "message": message}],
        }
    if target == "entra":
        error = "temporarily_unavailable" if status >= 500 else "invalid_request"
        return {"error": error, "error_description": message, "error_codes": [status]}
    code = "TooManyRequests" if status == 429 else "InjectedFault"
    return {"error": {"code": code, "message": message}}


@dataclass
class SandboxContext:
    """Everything a sandbox service needs; one per sandbox server."""

    config: SandboxConfig
    org: Org
    clock: Clock
    entra_tokens: TokenIssuer  # issuer f"{base_url}/entra/{tenant_id}/v2.0"
    channel_tokens: TokenIssuer  # the Bot Framework channel's issuer, for activities to the bot
    recorder: Recorder = field(default_factory=Recorder)
    faults: Faults = field(default_factory=Faults)
    http: ClientSession | None = None  # outbound: webhooks and bot activities; set at startup
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def create(cls, config: SandboxConfig, org: Org, clock: Clock) -> SandboxContext:
        """A context with fresh signing keys for Entra ID and the Bot Framework channel."""
        return cls(
            config=config,
            org=org,
            clock=clock,
            entra_tokens=TokenIssuer(f"{config.base_url}/entra/{org.tenant_id}/v2.0"),
            channel_tokens=TokenIssuer("https://api.botframework.com"),
        )

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run `coro` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task
