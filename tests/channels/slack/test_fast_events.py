"""Customer message events skip bolt's dispatch once the app's ids are known, with the
same verification and the same answers (channels/slack/fast_events.py)."""

from __future__ import annotations

import json

from router.domain.model import Direction
from tests.channels.slack.conftest import (
    DM,
    conversation,
    message_count,
    payload,
    post_event,
    sign,
    variant,
)
from tests.conftest import echo_decide


async def test_after_the_first_event_messages_take_the_fast_path_verified_as_by_bolt(
        slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    fast = service.channels["slack"].fast_events
    first = payload("message_im")
    assert (await post_event(http, service, first))[0] == 200  # bolt learns the ids
    stored = await message_count(service)  # the message and its echo
    assert fast.handled == 0 and stored == 2

    second = variant(first, text="En fråga till", ts="1700000000.000200",
                     event_id="Ev0SECOND")
    # forged, stale, unsigned and tampered requests are refused as before (bolt: 401)
    assert (await post_event(http, service, second, secret="wrong-secret-0000"))[0] == 401
    assert (await post_event(http, service, second, timestamp=1_600_000_000))[0] == 401
    url = f"http://127.0.0.1:{service.port}/webhooks/slack/events"
    async with http.post(url, json=second) as resp:
        assert resp.status == 401
    async with http.post(url, data=json.dumps(variant(second, text="tampered")), headers={
            "Content-Type": "application/json", **sign(json.dumps(second))}) as resp:
        assert resp.status == 401
    assert fast.handled == 0 and await message_count(service) == stored

    assert (await post_event(http, service, second))[0] == 200
    assert (await post_event(http, service, second, retry=1))[0] == 200  # a retry: deduped
    assert fast.handled == 2
    _, messages = await conversation(service, DM)
    assert [m.text for m in messages if m.direction == Direction.INBOUND][-1] == "En fråga till"
    assert await message_count(service) == stored + 2  # once, with its echo
    # what the fast path does not take still goes through bolt
    status, body = await post_event(http, service, payload("url_verification"))
    assert status == 200 and json.loads(body)["challenge"]
    async with http.post(url, data="[1, 2]", headers={  # signed, but not an object
            "Content-Type": "application/json", **sign("[1, 2]")}) as resp:
        assert resp.status == 400
    async with http.post(url, data="{not json", headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    assert fast.handled == 2 and await message_count(service) == stored + 2


async def test_the_fast_path_answers_503_while_stopping(slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    first = payload("message_im")
    assert (await post_event(http, service, first))[0] == 200
    service.state["stopping"] = True
    second = variant(first, ts="1700000000.000300", event_id="Ev0THIRD")
    assert (await post_event(http, service, second))[0] == 503
    service.state["stopping"] = False
    assert (await post_event(http, service, second, retry=1))[0] == 200
    assert service.channels["slack"].fast_events.handled == 1
