"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from presence_sync import __version__
from presence_sync.web.keys import METRICS, STORE

__all__ = ["ServerMetrics", "add_routes", "metrics_middleware"]

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive and serving requests."""
    return web.json_response({"status": "ok", "version": __version__})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to take traffic: the store answers; 503 with the reason otherwise."""
    reason = await request.app[STORE].check()
    request.app[METRICS].store_up.set(0 if reason else 1)
    if reason:
        return web.json_response(
            {"status": "unavailable", "checks": {"store": {"ok": False, "reason": reason}}},
            status=503,
        )
    return web.json_response({"status": "ready", "checks": {"store": {"ok": True}}})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics."""
    body = generate_latest(request.app[METRICS].registry)
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
