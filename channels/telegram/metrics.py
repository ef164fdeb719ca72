"""Counters for updates this channel did not ingest.

Telegram retries any non-2xx answer for hours, so a bad update is acknowledged with 200
and counted instead: the counter (and the warning log) is how an operator notices.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter


def _counter(name: str, doc: str) -> Counter:
    # Another channel may already have registered the shared metric in this process.
    existing = REGISTRY._names_to_collectors.get(name)
    if isinstance(existing, Counter):
        return existing
    return Counter(name, doc, ["channel", "reason"])


REJECTED = _counter("inquiry_router_rejected",
                    "Inbound payloads rejected as malformed or unknown, by channel and reason")
IGNORED = _counter("inquiry_router_telegram_ignored",
                   "Valid Telegram updates deliberately not ingested (e.g. group chatter)")


def rejected_count(channel: str, reason: str) -> float:
    value = REGISTRY.get_sample_value("inquiry_router_rejected_total",
                                      {"channel": channel, "reason": reason})
    return value or 0.0
