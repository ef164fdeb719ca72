"""Events API end to end: signed requests to the real service and bolt, stand-in Web API."""

from __future__ import annotations

import asyncio
import json

from router.domain.model import Direction
from tests.channels.slack.conftest import (
    DM,
    GENERAL,
    SHARED,
    conversation,
    message_count,
    payload,
    post_event,
    variant,
)
from tests.conftest import echo_decide


async def test_direct_message_is_stored_before_the_200_and_answered_in_the_dm(
        slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    status, _ = await post_event(http, service, payload("message_im"))
    assert status == 200
    conv, messages = await conversation(service, DM)  # in the inbox when the 200 arrived
    assert conv is not None and conv.recipient == "U0CUST0001"
    (inbound,) = [m for m in messages if m.direction == Direction.INBOUND]
    assert inbound.external_id == f"{DM}:1700000000.000100"
    contact = await service.store.read(lambda tx: tx.get_contact(conv.contact_id))
    assert (contact.display_name, contact.email, contact.language) == (
        "Olga Svensson", "olga@customer.example", "sv")
    await slack_api.wait_for(lambda api: len(api.posted(DM)) == 1)
    (reply,) = slack_api.posted(DM)
    assert "thread_ts" not in reply
    assert reply["text"] == ("echo: Hi! My invoice 4711 shows the wrong amount &amp; VAT "
                             "&lt;25%&gt;. See the invoice (https://example.com/inv/4711)")
    assert len(slack_api.called("users.info")) == 1 and slack_api.called("auth.test")


async def test_a_retry_and_a_second_event_for_the_same_message_are_answered_once(
        slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    body = payload("message_im")
    assert (await post_event(http, service, body))[0] == 200
    assert (await post_event(http, service, body, retry=1))[0] == 200
    other_event_id = dict(body, event_id="Ev0IM000002")
    assert (await post_event(http, service, other_event_id))[0] == 200
    assert await message_count(service) == 2  # the customer's one and the echo
    await slack_api.wait_for(lambda api: len(api.posted(DM)) == 1)
    assert len(slack_api.called("users.info")) == 1  # cached


async def test_mention_is_answered_in_its_thread(slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    assert (await post_event(http, service, payload("app_mention")))[0] == 200
    conv, messages = await conversation(service, f"{GENERAL}:1700000100.000200")
    assert conv is not None and messages[0].text.startswith("my VPN keeps dropping")
    await slack_api.wait_for(lambda api: len(api.posted(GENERAL)) == 1)
    assert slack_api.posted(GENERAL)[0]["thread_ts"] == "1700000100.000200"
    follow_up = variant(payload("app_mention"), type="message", text="any news?",
                        ts="1700000400.000500", thread_ts="1700000100.000200",
                        channel_type="channel")
    assert (await post_event(http, service, follow_up))[0] == 200
    _, messages = await conversation(service, f"{GENERAL}:1700000100.000200")
    assert [m.text for m in messages if m.direction == Direction.INBOUND][-1] == "any news?"
    stray = variant(follow_up, ts="1700000500.000600", thread_ts="1699999999.000001")
    assert (await post_event(http, service, stray))[0] == 200
    assert (await conversation(service, f"{GENERAL}:1699999999.000001"))[0] is None


async def test_shared_channel_message_from_the_partner_is_an_inquiry(
        slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    assert (await post_event(http, service, payload("message_shared_channel")))[0] == 200
    conv, _ = await conversation(service, f"{SHARED}:1700000200.000300")
    assert conv is not None and conv.language == "sv"
    await slack_api.wait_for(lambda api: len(api.posted(SHARED)) == 1)
    own = variant(payload("message_shared_channel"), ts="1700000201.000000", user="U0CUST0002",
                  user_team="T0001", team="T0001", event_id="Ev0OWN")
    assert (await post_event(http, service, own))[0] == 200
    assert (await conversation(service, f"{SHARED}:1700000201.000000"))[0] is None


async def test_bots_deletions_and_unknown_events_are_acknowledged_and_not_stored(
        slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    for body in (payload("bot_message"), payload("message_deleted"),
                 {**payload("bot_message"), "event": {"type": "reaction_added", "user": "U1",
                                                      "reaction": "+1", "event_ts": "1.0"}},
                 variant(payload("message_im"), user="UBOT0001", bot_id="BBOT0001")):
        assert (await post_event(http, service, body))[0] == 200
    assert await message_count(service) == 0
    assert not slack_api.called("chat.postMessage")


async def test_edit_updates_the_stored_message_without_a_reply(slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    assert (await post_event(http, service, payload("message_im")))[0] == 200
    await slack_api.wait_for(lambda api: len(api.posted(DM)) == 1)
    assert (await post_event(http, service, payload("message_changed")))[0] == 200
    assert (await post_event(http, service, payload("message_changed"), retry=1))[0] == 200
    _, messages = await conversation(service, DM)
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    assert len(inbound) == 1 and inbound[0].edited_at is not None
    assert inbound[0].text.endswith("(it should be 120 EUR).")
    assert len(slack_api.posted(DM)) == 1


async def test_url_verification_is_answered_with_the_challenge(slack_service, http):
    service = await slack_service()
    status, body = await post_event(http, service, payload("url_verification"))
    assert status == 200 and json.loads(body)["challenge"].startswith("3eZbrw1aBm2")


async def test_bad_signature_stale_timestamp_and_missing_headers_are_401(
        slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    body = payload("message_im")
    assert (await post_event(http, service, body, secret="wrong-secret-0000"))[0] == 401
    assert (await post_event(http, service, body, timestamp=1_600_000_000))[0] == 401
    url = f"http://127.0.0.1:{service.port}/webhooks/slack/events"
    async with http.post(url, json=body) as resp:
        assert resp.status == 401
    tampered = variant(body, text="something else")
    raw = json.dumps(body)
    from tests.channels.slack.conftest import sign
    async with http.post(url, data=json.dumps(tampered), headers={
            "Content-Type": "application/json", **sign(raw)}) as resp:
        assert resp.status == 401
    assert await message_count(service) == 0
    assert not slack_api.calls  # nothing reached the listener, not even auth.test


async def test_while_stopping_the_answer_is_503_so_slack_retries(slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    service.state["stopping"] = True
    assert (await post_event(http, service, payload("message_im")))[0] == 503
    service.state["stopping"] = False
    assert (await post_event(http, service, payload("message_im"), retry=1))[0] == 200
    assert (await conversation(service, DM))[0] is not None


async def test_a_slow_users_info_does_not_hold_the_acknowledgement(slack_service, slack_api, http):
    slack_api.users_info_delay = 2.5
    service = await slack_service(echo_decide, profile_timeout=0.2)
    assert (await post_event(http, service, payload("message_im")))[0] == 200
    conv, _ = await conversation(service, DM)
    contact = await service.store.read(lambda tx: tx.get_contact(conv.contact_id))
    assert contact.display_name == "" and conv.recipient == "U0CUST0001"


async def test_the_acknowledgement_does_not_wait_for_users_info_and_processing_does(
        slack_service, slack_api, http):
    """A new customer's profile is looked up while the message is processed, after the
    200: the answer comes while users.info is still unanswered, and the contact still
    gets the profile."""
    slack_api.users_info_gate = asyncio.Event()
    service = await slack_service(echo_decide, profile_timeout=2)
    assert (await post_event(http, service, payload("message_im")))[0] == 200
    await slack_api.users_info_asked.wait()
    assert service.backlog.status()["pending"] == 1  # waiting for the profile
    slack_api.users_info_gate.set()
    conv, _ = await conversation(service, DM)
    contact = await service.store.read(lambda tx: tx.get_contact(conv.contact_id))
    assert (contact.display_name, contact.language) == ("Olga Svensson", "sv")
