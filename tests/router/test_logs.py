"""Secrets never reach the log, whatever shape they arrive in."""

from __future__ import annotations

import json
import logging

from router.logs import JsonFormatter, Redactor


def render(redactor: Redactor, msg: str, *args: object, **extra: object) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return JsonFormatter(redactor).format(record)


def test_configured_secrets_and_token_shapes_are_redacted():
    redactor = Redactor(["hunter2-configured"])
    line = render(redactor, "calling %s with %s", "https://api/bot123456789:AAHk-abcdefghijklmnopqrstuvwxyz0123/send",
                  "Bearer abc.def.ghi123456", password="hunter2-configured")
    assert "hunter2-configured" not in line
    assert "AAHk-abcdefghijklmnopqrstuvwxyz0123" not in line
    assert "abc.def.ghi123456" not in line
    assert json.loads(line)["msg"].startswith("calling https://api/bot")


def test_slack_tokens_and_key_value_secrets_are_redacted():
    line = render(Redactor(), "token=xoxb-1234-5678-abcdefgh secret: topsecretvalue")
    assert "xoxb-1234" not in line and "topsecretvalue" not in line
