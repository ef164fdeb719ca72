"""parse_update on real-shaped updates: pure, no network."""

from __future__ import annotations

import pytest

from channels.telegram.parse import ChatMemberChange, Ignored, UpdateRejected, parse_update
from router.domain.model import InboundKind, InboundMessage
from tests.channels.telegram.conftest import payload
from tests.channels.telegram.fake_api import BOT_ID


def parse(name: str, **kw):
    opts = {"bot_name": "support", "bot_username": "support_bot", "group_mode": "mention",
            "bot_id": BOT_ID}
    opts.update(kw)
    return parse_update(payload(name), **opts)


def test_private_text_message():
    msg = parse("message_text_sv")
    assert isinstance(msg, InboundMessage)
    assert msg.channel == "telegram:support"
    assert msg.external_id == "800000101"  # update_id: the inbox dedupe key
    assert msg.message_external_id == "111222333:41"  # what an edit looks for
    assert msg.thread_key == "111222333"
    assert msg.sender.external_id == "111222333"
    assert msg.sender.display_name == "Anna Lindqvist" and msg.sender.username == "annal"
    assert msg.sender.language_hint == "sv"
    assert msg.text.startswith("Hej! Jag har en fråga") and msg.kind == InboundKind.MESSAGE
    assert msg.metadata == {"message_id": 41, "chat_type": "private"}
    assert msg.received_at.tzinfo is not None


@pytest.mark.parametrize("name, lang", [("message_text_fi", "fi"), ("message_text_nb", "nb"),
                                        ("message_text_uk", "uk")])
def test_language_hint_from_language_code(name, lang):
    assert parse(name).sender.language_hint == lang


def test_edited_message_points_at_the_original():
    msg = parse("edited_message")
    assert msg.kind == InboundKind.EDIT
    assert msg.external_id == "800000105" and msg.edits == "111222333:41"
    assert msg.metadata["edited"] is True


def test_edited_message_can_ask_to_rerun_the_rules():
    assert parse("edited_message").rerun_rules is False
    msg = parse("edited_message", rerun_rules_on_edit=True)
    assert msg.kind == InboundKind.EDIT and msg.edits == "111222333:41"
    assert msg.rerun_rules is True
    assert parse("message_text_sv", rerun_rules_on_edit=True).rerun_rules is False


def test_photo_keeps_the_largest_size_and_caption():
    msg = parse("message_photo")
    (att,) = msg.attachments
    assert (att.kind, att.ref, att.size, att.mime) == (
        "photo", "AgACAgQAAxkBAAIBQ2d-large", 98211, "image/jpeg")
    assert att.caption == msg.text == "Skärmdump av felet"


@pytest.mark.parametrize("name, kind, expected", [
    ("message_document", "document", {"name": "faktura-12.pdf", "mime": "application/pdf",
                                      "size": 183422, "ref": "BQACAgQAAxkBAAIBRGd-doc"}),
    ("message_voice", "voice", {"mime": "audio/ogg", "size": 11520}),
    ("message_video", "video", {"name": "fel.mp4", "mime": "video/mp4"}),
    ("message_sticker", "sticker", {"name": "👍", "mime": "image/webp"}),
    ("message_location", "location", {"ref": "59.329323,18.068581"}),
    ("message_contact", "contact", {"name": "Anna Lindqvist", "ref": "+46701234567"}),
])
def test_media_become_attachments(name, kind, expected):
    (att,) = parse(name).attachments
    assert att.kind == kind
    for key, value in expected.items():
        assert getattr(att, key) == value


def test_start_deep_link_payload():
    msg = parse("start_deeplink")
    assert msg.metadata["command"] == "start"
    assert msg.metadata["start_payload"] == "billing-sv"


def test_callback_query_uses_the_button_label():
    msg = parse("callback_query")
    assert msg.kind == InboundKind.CALLBACK
    assert msg.callback_data == "csat:5" and msg.text == "5"
    assert msg.thread_key == "111222333"
    assert msg.metadata["callback_query_id"] == "4382bfdwdsb323b2d9"


def test_my_chat_member_block_and_unblock():
    blocked = parse("my_chat_member_kicked")
    assert blocked == ChatMemberChange("telegram:support", "111222333", True, 800000115, "kicked")
    assert parse("my_chat_member_member").blocked is False


def test_supergroup_mention_is_taken_and_stripped():
    msg = parse("supergroup_mention")
    assert msg.text == "missä tilaukseni on?"
    assert msg.thread_key == "-1001987654321"  # replies go to the group
    assert msg.sender.external_id == "666777888"  # the person is the identity
    assert msg.metadata["chat_type"] == "supergroup"


def test_supergroup_reply_to_the_bot_counts_as_addressed():
    assert isinstance(parse("supergroup_reply_to_bot"), InboundMessage)


@pytest.mark.parametrize("mode, taken", [("mention", False), ("all", True), ("off", False)])
def test_group_mode_decides_on_chatter(mode, taken):
    result = parse("supergroup_chatter", group_mode=mode)
    assert isinstance(result, InboundMessage) is taken
    if not taken:
        assert isinstance(result, Ignored)


def test_group_mode_off_ignores_even_mentions():
    assert isinstance(parse("supergroup_mention", group_mode="off"), Ignored)


def test_known_but_unhandled_type_is_ignored():
    result = parse("channel_post")
    assert isinstance(result, Ignored) and "channel_post" in result.reason


@pytest.mark.parametrize("body, code", [
    ({"update_id": 1, "quantum": {}}, "unknown_update_type"),
    ([1, 2], "invalid_update"),
    ({"message": {}}, "invalid_update"),
    ({"update_id": 2, "message": {"message_id": "x"}}, "invalid_update"),
])
def test_rejections_carry_a_code(body, code):
    with pytest.raises(UpdateRejected) as info:
        parse_update(body, bot_name="support")
    assert info.value.code == code


def test_unknown_type_payload_is_rejected():
    with pytest.raises(UpdateRejected):
        parse("unknown_type")


def test_an_edit_date_out_of_range_is_rejected_not_a_crash():
    update = payload("edited_message")
    update["edited_message"]["edit_date"] = 2**70
    with pytest.raises(UpdateRejected) as err:
        parse_update(update, bot_name="support", bot_username="support_bot")
    assert err.value.code == "invalid_update" and "out of range" in str(err.value)
