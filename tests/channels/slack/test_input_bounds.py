"""Hostile Slack requests get a 4xx and no ERROR log (issue 22): a non-numeric timestamp
before any signature check, JSON nested 10,000 deep (events and interactive payloads),
integers beyond 64 bits."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest

from tests.channels.slack.conftest import payload, post_event, sign

DEEP = "[" * 10_000 + "]" * 10_000


async def post(http, service, path: str, raw: str, headers: dict[str, str]) -> tuple[int, str]:
    url = f"http://127.0.0.1:{service.port}/webhooks/slack/{path}"
    async with http.post(url, data=raw.encode(), headers=headers) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "１２３", "-5", "9" * 5000])
async def test_non_numeric_timestamp_is_400_without_an_error_log(slack_service, http, caplog,
                                                                 timestamp):
    service = await slack_service()
    raw = json.dumps(payload("message_im"))
    headers = {"Content-Type": "application/json", **sign(raw),
               "X-Slack-Request-Timestamp": timestamp}
    with caplog.at_level(logging.INFO):
        for path in ("events", "interactive"):
            status, _ = await post(http, service, path, raw, headers)
            assert 400 <= status < 500, (path, timestamp, status)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_hostile_json_is_400_signed_or_not(slack_service, http, caplog):
    service = await slack_service()
    huge = json.dumps(payload("message_im")).replace('"event_time": 1700000000',
                                                     f'"event_time": {2**64 + 1}')
    form = "payload=" + urllib.parse.quote(DEEP)
    cases = [("events", DEEP, "application/json"), ("events", huge, "application/json"),
             ("interactive", form, "application/x-www-form-urlencoded")]
    with caplog.at_level(logging.INFO):
        for path, raw, kind in cases:
            for signed in (sign(raw), {}):
                status, text = await post(http, service, path, raw,
                                          {"Content-Type": kind, **signed})
                assert 400 <= status < 500, (path, raw[:40], status, text)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await service.backlog.drained()
    assert service.backlog.failed == 0


async def test_a_plain_event_still_goes_through(slack_service, http):
    service = await slack_service()
    status, _ = await post_event(http, service, payload("message_im"))
    assert status == 200
    await service.backlog.drained()
    assert service.backlog.failed == 0
