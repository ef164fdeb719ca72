"""Pure parts of the web chat channel: tokens, frames, settings, the rate bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.webchat import protocol, tokens
from channels.webchat.session import Bucket
from channels.webchat.web import script_json
from router.config import load_config
from router.domain.errors import ConfigError, PayloadRejected
from router.domain.model import InboundKind
from tests.conftest import write_config

SECRET = "unit-test-secret-0123456789"


def test_token_round_trip_forgery_and_expiry() -> None:
    token = tokens.issue(SECRET, "v_abc", now=1_000_000)
    assert tokens.verify(SECRET, token, 3600, now=1_000_100) == tokens.Visitor("v_abc", 1_000_000)
    assert tokens.verify(SECRET, token, 3600, now=1_004_000) is None  # expired
    assert tokens.verify(SECRET, token.replace("v_abc", "v_abd"), 3600, now=1_000_100) is None
    assert tokens.verify("another-secret-0123456789", token, 3600, now=1_000_100) is None
    assert tokens.verify(SECRET, "garbage", 3600) is None
    assert tokens.new_visitor_id() != tokens.new_visitor_id()


def test_chat_frame_becomes_a_namespaced_inbound_message() -> None:
    msg = protocol.parse_chat({"type": "message", "id": "abcdef12", "text": "  Hej  ", "lang": "sv-SE"},
                              visitor_id="v_1", max_text=100)
    assert (msg.channel, msg.external_id, msg.thread_key, msg.text) == ("webchat", "v_1:abcdef12",
                                                                        "v_1", "Hej")
    assert msg.sender.external_id == "v_1" and msg.sender.language_hint == "sv-SE"
    assert protocol.client_id_of(msg.external_id, "v_1") == "abcdef12"
    assert protocol.client_id_of("v_2:abcdef12", "v_1") == ""


def test_quick_reply_frame_is_a_callback_with_the_label_as_text() -> None:
    msg = protocol.parse_chat({"type": "quick_reply", "id": "abcdef12", "payload": "csat:4:5:sig",
                               "label": "5"}, visitor_id="v_1", max_text=100)
    assert msg.kind == InboundKind.CALLBACK
    assert (msg.callback_data, msg.text) == ("csat:4:5:sig", "5")


@pytest.mark.parametrize("frame, reason", [
    ({"type": "message", "id": "abcdef12", "text": "   "}, "empty message"),
    ({"type": "message", "id": "abcdef12", "text": "x" * 101}, "longer than 100"),
    ({"type": "message", "id": "bad id!!", "text": "x"}, "id"),
    ({"type": "quick_reply", "id": "abcdef12"}, "without payload"),
    ({"type": "nope", "id": "abcdef12"}, "type"),
])
def test_bad_frames_are_rejected_with_a_reason(frame: dict, reason: str) -> None:
    with pytest.raises(PayloadRejected, match=reason):
        protocol.parse_chat(frame, visitor_id="v_1", max_text=100)


def test_settings_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, """
            channels:
              webchat: {secret: short, allowed_origins: ["https://shop.example/path"]}
        """))
    text = str(err.value)
    assert "channels.webchat.secret" in text and "allowed_origins" in text


def test_script_json_cannot_close_the_script_element() -> None:
    out = script_json({"title": "</script><script>alert(1)</script>&"})
    assert "<" not in out and ">" not in out and "&" not in out


def test_bucket_allows_a_burst_then_refills() -> None:
    now = [0.0]
    bucket = Bucket(3, 10.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 10 / 3
    assert bucket.take() is True
