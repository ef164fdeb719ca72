"""parse.py is pure: real-shaped payloads in, domain types out, no I/O."""

from __future__ import annotations

from channels.slack.parse import (
    AgentButton,
    AgentReply,
    FollowUp,
    Ignored,
    Options,
    parse_action,
    parse_event,
)
from router.domain.model import InboundKind, InboundMessage
from tests.channels.slack.conftest import AGENTS, GENERAL, SHARED, payload, variant

OPTS = Options(bot_user_id="UBOT0001", team_id="T0001", shared_channels=frozenset({SHARED}),
               agents_channel=AGENTS)


def test_direct_message_is_an_inquiry_keyed_by_channel_and_ts():
    msg = parse_event(payload("message_im"), OPTS)
    assert isinstance(msg, InboundMessage)
    assert msg.channel == "slack" and msg.external_id == "D0CUST001:1700000000.000100"
    assert msg.thread_key == "D0CUST001"
    assert msg.sender.external_id == "U0CUST0001" and msg.sender.team == "T0001"
    assert msg.text == ("Hi! My invoice 4711 shows the wrong amount & VAT <25%>. "
                        "See the invoice (https://example.com/inv/4711)")
    assert msg.kind == InboundKind.MESSAGE and msg.metadata["slack_event_id"] == "Ev0IM000001"
    assert msg.received_at.timestamp() == 1700000000.0001


def test_mention_strips_the_app_and_threads_on_the_message():
    msg = parse_event(payload("app_mention"), OPTS)
    assert isinstance(msg, InboundMessage)
    assert msg.text == "my VPN keeps dropping, can someone help? cc @ola"
    assert msg.thread_key == f"{GENERAL}:1700000100.000200"
    assert msg.external_id == f"{GENERAL}:1700000100.000200"
    in_thread = variant(payload("app_mention"), thread_ts="1700000000.000001")
    assert parse_event(in_thread, OPTS).thread_key == f"{GENERAL}:1700000000.000001"


def test_the_message_event_of_a_mention_has_the_same_key_or_is_left_to_app_mention():
    mention = payload("app_mention")
    as_message = variant(mention, type="message", channel_type="channel")
    assert parse_event(as_message, OPTS) == Ignored("mention: handled by its app_mention event")
    shared = variant(mention, type="message", channel=SHARED, user_team="T0EXTERN1")
    shared_mention = variant(mention, channel=SHARED)
    assert parse_event(shared, OPTS).external_id == parse_event(shared_mention, OPTS).external_id


def test_shared_channel_messages_from_the_other_company_only():
    msg = parse_event(payload("message_shared_channel"), OPTS)
    assert isinstance(msg, InboundMessage)
    assert msg.sender.team == "T0EXTERN1" and msg.thread_key == f"{SHARED}:1700000200.000300"
    own = variant(payload("message_shared_channel"), user_team="T0001", team="T0001")
    assert parse_event(own, OPTS) == Ignored("own workspace member in a shared channel")
    elsewhere = variant(payload("message_shared_channel"), channel="C0RANDOM01")
    assert isinstance(parse_event(elsewhere, OPTS), Ignored)


def test_bots_own_messages_deletions_and_other_subtypes_are_ignored():
    assert parse_event(payload("bot_message"), OPTS) == Ignored("message from a bot")
    own = variant(payload("message_im"), user="UBOT0001")
    assert parse_event(own, OPTS) == Ignored("the app's own message")
    assert "deletion" in parse_event(payload("message_deleted"), OPTS).reason
    join = variant(payload("message_im"), subtype="channel_join")
    assert parse_event(join, OPTS) == Ignored("message subtype 'channel_join'")
    assert isinstance(parse_event({"type": "event_callback", "event": {"type": "reaction_added"}},
                                  OPTS), Ignored)


def test_edit_finds_the_original_by_channel_and_ts():
    edit = parse_event(payload("message_changed"), OPTS)
    assert isinstance(edit, InboundMessage) and edit.kind == InboundKind.EDIT
    assert edit.edits == "D0CUST001:1700000000.000100"
    assert edit.external_id == "edit:D0CUST001:1700000000.000100:1700000050.000000"
    assert edit.text == "Hi! My invoice 4711 shows the wrong amount (it should be 120 EUR)."
    unfurl = payload("message_changed")
    unfurl["event"]["previous_message"]["text"] = unfurl["event"]["message"]["text"]
    assert isinstance(parse_event(unfurl, OPTS), Ignored)



def test_fields_of_the_wrong_type_count_as_missing():
    """Found by the fuzz test: an object field holding a number raised (a 500, retried)."""
    odd = payload("message_changed")
    odd["event"]["previous_message"] = 7
    odd["event"]["message"]["edited"] = "yesterday"
    edit = parse_event(odd, OPTS)
    assert isinstance(edit, InboundMessage) and edit.kind == InboundKind.EDIT
    # no `edited.ts`: the event's own ts stands for the edit
    assert edit.external_id == "edit:D0CUST001:1700000000.000100:1700000050.000200"
    press = payload("block_actions_claim", ROOT_TS="1.2", CONV_ID="7")
    press["user"], press["container"] = 5, [1]
    assert isinstance(parse_action(press, OPTS), AgentButton)

def test_thread_reply_without_mention_is_a_follow_up():
    reply = variant(payload("app_mention"), type="message", text="any news?",
                    thread_ts="1700000100.000200", ts="1700000400.000500")
    parsed = parse_event(reply, OPTS)
    assert isinstance(parsed, FollowUp)
    assert parsed.message.thread_key == f"{GENERAL}:1700000100.000200"


def test_agents_channel_thread_reply_and_buttons():
    reply = parse_event(payload("message_agent_thread_reply", ROOT_TS="1700001000.000001"), OPTS)
    assert isinstance(reply, AgentReply)
    assert reply.thread_ts == "1700001000.000001" and reply.user == "U0AGENT001"
    assert reply.text.startswith("Hi Olga, I have reset your password & unlocked")
    top = variant(payload("message_agent_thread_reply", ROOT_TS="x"), thread_ts=None)
    assert isinstance(parse_event(top, OPTS), Ignored)
    press = parse_action(payload("block_actions_claim", ROOT_TS="1700001000.000001",
                                 CONV_ID="7"), OPTS)
    assert press == AgentButton("claim", 7, "U0AGENT001", AGENTS, "1700001000.000001", "",
                                "1700001900.123456")
    resolve = parse_action(payload("block_actions_resolve", ROOT_TS="1", CONV_ID="7"), OPTS)
    assert isinstance(resolve, AgentButton) and resolve.action == "resolve"
    bad = parse_action(payload("block_actions_claim", ROOT_TS="1", CONV_ID="x"), OPTS)
    assert isinstance(bad, Ignored)


def test_transfer_select_carries_the_queue():
    body = payload("block_actions_claim", ROOT_TS="1", CONV_ID="7")
    body["actions"] = [{"action_id": "ir.agent.transfer", "type": "static_select",
                        "block_id": "ir.conv.7", "action_ts": "2",
                        "selected_option": {"value": "7:billing",
                                            "text": {"type": "plain_text", "text": "billing"}}}]
    press = parse_action(body, OPTS)
    assert isinstance(press, AgentButton) and (press.action, press.value) == ("transfer", "billing")


def test_customer_quick_reply_button_is_a_callback():
    body = payload("block_actions_claim", ROOT_TS="1700000500.000100", CONV_ID="1")
    body["container"]["channel_id"] = "D0CUST001"
    body["actions"] = [{"action_id": "ir.qr.0", "type": "button", "value": "csat:1:5:abc",
                        "text": {"type": "plain_text", "text": "Great"}, "action_ts": "3.0"}]
    msg = parse_action(body, OPTS)
    assert isinstance(msg, InboundMessage) and msg.kind == InboundKind.CALLBACK
    assert msg.callback_data == "csat:1:5:abc" and msg.thread_key == "D0CUST001"


def test_customer_role_off_ignores_customers_but_not_agents():
    opts = Options(bot_user_id="UBOT0001", team_id="T0001", agents_channel=AGENTS,
                   customers=False)
    assert parse_event(payload("message_im"), opts) == Ignored("customer role is off")
    reply = payload("message_agent_thread_reply", ROOT_TS="1700001000.000001")
    assert isinstance(parse_event(reply, opts), AgentReply)
