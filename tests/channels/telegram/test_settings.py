"""Telegram settings are validated at load time with located, fixable messages."""

from __future__ import annotations

import pytest

from router.domain.errors import ConfigError

GOOD = "123456:TEST-token"


def _bots(*bots: str) -> str:
    return "channels:\n  telegram:\n    bots:\n" + "".join(f"      - {b}\n" for b in bots)


def test_a_valid_config_loads(make_config):
    config = make_config(_bots(f"{{name: support, token: '{GOOD}', webhook_secret: abc}}",
                               f"{{name: sales, token: '{GOOD}', mode: polling}}"))
    bots = config.channels["telegram"].bots
    assert [b.channel for b in bots] == ["telegram:support", "telegram:sales"]
    assert bots[0].api_base == "https://api.telegram.org" and bots[0].group_mode == "mention"


@pytest.mark.parametrize("bot, message", [
    (f"{{name: support, token: '{GOOD}'}}", "needs webhook_secret"),
    ("{name: support, token: nope, mode: polling}", "a bot token looks like"),
    (f"{{name: Support Bot, token: '{GOOD}', mode: polling}}", "lowercase letters"),
    (f"{{name: s, token: '{GOOD}', mode: polling, webhook_secret: 'a b'}}", "1-256 characters"),
    (f"{{name: s, token: '{GOOD}', mode: polling, api_base: 'ftp://x'}}", "http(s) URL"),
    (f"{{name: s, token: '{GOOD}', mode: polling, group_mod: all}}", "did you mean 'group_mode'"),
])
def test_bad_settings_are_located_errors(make_config, bot, message):
    with pytest.raises(ConfigError) as info:
        make_config(_bots(bot))
    assert message in str(info.value) and "config.yaml:" in str(info.value)


def test_bot_names_must_be_unique(make_config):
    bot = f"{{name: s, token: '{GOOD}', mode: polling}}"
    with pytest.raises(ConfigError, match="unique: s"):
        make_config(_bots(bot, bot))
