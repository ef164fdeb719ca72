"""Prometheus metrics: counters moved by the pipeline and outbox, gauges read at scrape.

One registry per service (not the global default) so several services in one test
process do not collide. Gauges that describe stored state (queue depth, oldest waiting,
outbox backlog, dead letters) are computed from the store when `/metrics` is scraped,
so they are right after a restart and never drift from the database.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from router.engine.stages import BUCKETS as STAGE_BUCKETS
from router.store.base import Store, Tx, utcnow
from router.web.http_errors import json_error


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.inbound = Counter("inquiry_router_inbound_total", "Inbound deliveries by result",
                               ["channel", "result"], registry=r)
        self.outbound = Counter("inquiry_router_outbound_total", "Outbound sends by result",
                                ["channel", "result"], registry=r)
        self.channel_errors = Counter("inquiry_router_channel_errors_total",
                                      "Channel send errors by kind", ["channel", "kind"], registry=r)
        self.rejected = Counter("inquiry_router_rejected_total", "Rejected inbound payloads",
                                ["channel", "reason"], registry=r)
        self.pipeline_seconds = Histogram(
            "inquiry_router_pipeline_seconds", "Time from intake to durable commit",
            ["channel"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.stage_seconds = Histogram(
            "inquiry_router_stage_seconds",
            "Where a message waits on its way to our reply, per hand-over (router/engine/stages.py)",
            ["stage"], registry=r, buckets=STAGE_BUCKETS)
        self.reloads = Counter("inquiry_router_rule_reloads_total", "Rule reloads by result",
                               ["result"], registry=r)
        self.queue_depth = Gauge("inquiry_router_queue_depth", "Conversations waiting per queue",
                                 ["queue"], registry=r)
        self.oldest_waiting = Gauge("inquiry_router_queue_oldest_waiting_seconds",
                                    "Age of the oldest waiting conversation per queue", ["queue"],
                                    registry=r)
        self.outbox = Gauge("inquiry_router_outbox_rows", "Outbox rows by status", ["status"],
                            registry=r)
        self.inbox = Gauge("inquiry_router_inbox_unprocessed",
                           "Acknowledged messages not processed yet (pending) or given up on "
                           "(failed; see `inquiry-router inbox`)", ["state"], registry=r)

    async def refresh(self, store: Store, queues: list[str]) -> None:
        """Recompute the state gauges from the store."""
        now = utcnow()
        waiting, outbox = await store.read(_state_query)
        for state, count in (await store.read(lambda tx: tx.inbox_counts())).items():
            self.inbox.labels(state).set(count)
        for queue in set(queues) | set(waiting):
            count, oldest = waiting.get(queue, (0, None))
            self.queue_depth.labels(queue).set(count)
            age = (now - oldest).total_seconds() if oldest else 0.0
            self.oldest_waiting.labels(queue).set(max(0.0, age))
        for status in ("pending", "sent", "failed", "dead"):
            self.outbox.labels(status).set(outbox.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def _state_query(tx: Tx) -> tuple[dict[str, tuple[int, datetime | None]], dict[str, int]]:
    return await tx.metrics_snapshot()


def metrics_handler(metrics: Metrics, refresh: Callable[[], Awaitable[Any]], token: str = ""
                    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`GET /metrics`, optionally behind `Authorization: Bearer <token>`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return json_error(401, "unauthorized", "metrics need a bearer token")
        await refresh()
        return web.Response(body=metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handler

