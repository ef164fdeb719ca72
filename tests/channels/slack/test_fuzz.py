"""Hypothesis-mutated real Slack event callbacks, signed, through the events URL: no 5xx,
and nothing acknowledged then fails (issue 22; the mutations: tests/channels/fuzz.py)."""

from __future__ import annotations

from tests.channels.fuzz import EXAMPLES, assert_nothing_failed, collect, errors_logged, load
from tests.channels.slack.conftest import PAYLOADS, post_event
from tests.fuzz_counts import count


async def test_mutated_slack_event_callbacks(slack_service, http, caplog):
    service = await slack_service()
    originals = [p for p in load(PAYLOADS) if p.get("type") == "event_callback"]
    statuses = []
    for n, event in enumerate(collect(originals)):
        event["event_id"] = f"EvFUZZ{n:05d}"  # each one new, not a retry
        status, _ = await post_event(http, service, event)
        statuses.append(status)
        count("slack", status)
    assert len(statuses) >= EXAMPLES // 2 and max(statuses) < 500, sorted(set(statuses))
    await assert_nothing_failed(service)
    assert not errors_logged(caplog.records)
