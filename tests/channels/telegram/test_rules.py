"""The real rules engine (rules.compile_rules via router.wiring) answering on Telegram."""

from __future__ import annotations

import yaml

from router.wiring import build_decide
from tests.channels.telegram.conftest import payload, post_update
from tests.channels.telegram.fake_api import TOKEN

RULES = """
languages: [sv, fi, nb, uk, en]
default_language: en
replies:
  got_it:
    sv: "Hej {{ contact.first_name }}! Vi har fått: {{ message.text }}"
    fi: "Hei {{ contact.first_name }}! Saimme viestin: {{ message.text }}"
    nb: "Hei {{ contact.first_name }}! Vi har fått: {{ message.text }}"
    uk: "Вітаємо, {{ contact.first_name }}! Ми отримали: {{ message.text }}"
    en: "Hi {{ contact.first_name }}! We got: {{ message.text }}"
rules:
  - name: acknowledge
    when: %s
    then:
      - reply: got_it
"""


def _config(make_config, fake_api, when: str):
    bot = {"name": "support", "token": TOKEN, "webhook_secret": "s3cret-Token_1",
           "api_base": fake_api.base, "username": "support_bot",
           "rate_limits": {"per_chat_per_second": 1000}}
    return make_config(yaml.safe_dump({"channels": {"telegram": {"bots": [bot]}}}) + "\n"
                       + RULES % when)


async def _replies(config, start_service, fake_api, http) -> dict[str, str]:
    service = await start_service(config, build_decide(config))
    for name in ("message_text_sv", "message_text_fi", "message_text_nb", "message_text_uk"):
        assert await post_update(http, service, payload(name)) == 200
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 4)
    return {c.params["chat_id"]: c.params["text"] for c in fake_api.called("sendMessage")}


async def test_canned_reply_rule_answers_in_the_customers_language(
        fake_api, make_config, start_service, http):
    config = _config(make_config, fake_api, "{text: {regex: '.'}}")
    sent = await _replies(config, start_service, fake_api, http)
    assert sent["111222333"] == ("Hej Anna! Vi har fått: Hej! Jag har en fråga om min faktura "
                                 "&lt;nr 12&gt; &amp; moms.")  # escaped once, not twice
    assert sent["222333444"].startswith("Hei Mikko! Saimme viestin: Hei, lasku")
    assert sent["333444555"].startswith("Hei Ingrid! Vi har fått: Hei! Jeg får")
    assert sent["444555666"].startswith("Вітаємо, Олена! Ми отримали: Добрий день!")


async def test_channel_telegram_condition_matches_every_bot(
        fake_api, make_config, start_service, http):
    config = _config(make_config, fake_api, "{channel: telegram}")
    sent = await _replies(config, start_service, fake_api, http)
    assert len(sent) == 4, sent
    starts = ("Hej Anna", "Hei Mikko", "Hei Ingrid", "Вітаємо, Олена")
    assert all(t.startswith(starts) for t in sent.values()), sent
