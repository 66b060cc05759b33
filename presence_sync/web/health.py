"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from bot.cards import WriteBudget
from presence_sync import __version__
from presence_sync.web.keys import BOT, METRICS, STORE, SUPERVISOR

__all__ = ["ServerMetrics", "add_routes", "metrics_middleware"]

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive and serving requests."""
    return web.json_response({"status": "ok", "version": __version__})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to take traffic: the store answers and no background loop keeps failing.

    503 otherwise, each failing check with its reason: a loop restarted more than five
    times in five minutes is named, with its restart count and last error.
    """
    app = request.app
    if STORE not in app:
        return _ready({"server": {"ok": False, "reason": "the server is still starting"}})
    reason = await app[STORE].check()
    app[METRICS].store_up.set(0 if reason else 1)
    checks: dict[str, dict[str, object]] = {
        "store": {"ok": False, "reason": reason} if reason else {"ok": True}
    }
    supervisor = app[SUPERVISOR]
    failing = supervisor.unhealthy()
    if failing:
        minutes = supervisor.policy.window / 60
        checks["loops"] = {
            "ok": False,
            "reason": "; ".join(
                f"background loop {h.name} restarted {h.recent} times in the last "
                f"{minutes:g} minutes (last error: {h.last_error})"
                for h in failing
            ),
            "failing": [h.name for h in failing],
        }
    else:
        checks["loops"] = {"ok": True, "running": len(supervisor.names)}
    return _ready(checks)


def _ready(checks: dict[str, dict[str, object]]) -> web.Response:
    ok = all(check["ok"] for check in checks.values())
    return web.json_response(
        {"status": "ready" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics."""
    instruments = request.app[METRICS]
    if BOT in request.app:
        instruments.show_capacity(await request.app[BOT].write_budget())
    body = generate_latest(instruments.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class ServerMetrics:
    """The server's own instruments, registered in a per-app registry (no global state)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "presence_sync_http_requests",
            "HTTP requests answered, by route and status class.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "presence_sync_http_request_seconds",
            "Time to answer HTTP requests, by route.",
            ["route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.store_up = Gauge(
            "presence_sync_store_up", "1 when the last store check succeeded.", registry=registry
        )
        self.loop_restarts = Counter(
            "presence_sync_loop_restarts",
            "Background loops restarted after an unexpected error, by loop.",
            ["loop"],
            registry=registry,
        )

        self.rc_identities = Gauge(
            "presence_sync_ringcentral_identities",
            "Healthy RingCentral identities presence writes are spread across.",
            registry=registry,
        )
        self.rc_allowed = Gauge(
            "presence_sync_ringcentral_writes_allowed_per_minute",
            "Presence writes a minute RingCentral allows over every identity (its headers).",
            registry=registry,
        )
        self.rc_used = Gauge(
            "presence_sync_ringcentral_writes_used_per_minute",
            "Presence writes in the last minute over every identity.",
            registry=registry,
        )
        self.rc_backlog = Gauge(
            "presence_sync_ringcentral_write_backlog",
            "People with a RingCentral presence write waiting.",
            registry=registry,
        )
        self.rc_expected = Gauge(
            "presence_sync_ringcentral_write_expected_delay_seconds",
            "How long a new change would wait for its RingCentral write at today's rate.",
            registry=registry,
        )
        self.rc_p95 = Gauge(
            "presence_sync_ringcentral_write_delay_p95_seconds",
            "95th percentile of the wait from a change to its RingCentral write, last hour.",
            registry=registry,
        )
        self.rc_short = Gauge(
            "presence_sync_ringcentral_capacity_short",
            "1 when that p95 is above RINGCENTRAL_DELAY_ALERT_SECONDS: add an identity.",
            registry=registry,
        )

    def show_capacity(self, budget: WriteBudget | None) -> None:
        """Set the RingCentral write-capacity gauges (zero when RingCentral is not connected)."""
        shown = budget or WriteBudget(used=0, limit=None, identities=0)
        self.rc_identities.set(shown.identities)
        self.rc_allowed.set(shown.limit or 0)
        self.rc_used.set(shown.used)
        self.rc_backlog.set(shown.backlog)
        self.rc_expected.set(shown.expected_delay or 0)
        self.rc_p95.set(shown.p95_delay or 0)
        self.rc_short.set(1 if shown.advice else 0)

    def loop_started(self, name: str) -> None:
        """Show a loop's restart count (0) from its start on."""
        self.loop_restarts.labels(name)

    def loop_restarted(self, name: str) -> None:
        """Count one restart of a loop."""
        self.loop_restarts.labels(name).inc()


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by its route pattern (never the raw path: ids vary)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as err:
        status = err.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        instruments = request.app[METRICS]
        instruments.requests.labels(request.method, route, f"{status // 100}xx").inc()
        instruments.latency.labels(route).observe(time.perf_counter() - started)


def add_routes(app: web.Application, *, metrics_enabled: bool) -> None:
    """Add /healthz, /readyz and (when enabled) /metrics to `app`."""
    app.add_routes(routes)
    if metrics_enabled:
        app.router.add_get("/metrics", metrics)
