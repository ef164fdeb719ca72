"""Structured logging with secrets redacted.

JSON lines when stderr is not a terminal (for log shippers), readable text on a TTY.
Redaction runs on the final formatted line, so a secret cannot slip out through an
exception message or an `extra` field: configured secret values are replaced, and so is
anything shaped like a bearer token, a Telegram bot token or a Slack token. Only values
are hidden, never the documentation in a hint: an environment reference (`${CSAT_SECRET}`,
`${NAME:-default}`) and a placeholder (`secret=...`, `token: <value>`) stay readable.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

_TOKEN_PATTERNS = [
    re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}"),  # telegram bot token, also inside URLs
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}\b"),  # slack tokens
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:password|passwd|secret|token|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]
_KEY_VALUE = _TOKEN_PATTERNS[-1]
# `${NAME}` or `${NAME:-default}` whose default is a placeholder word: documentation
_ENV_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-(?:default|\.\.\.|<[^<>{}]*>)?)?\}")
_PLACEHOLDER = re.compile(r"\.\.\.|…|<[^<>\s]*>?")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        # environment references are kept whole; the token shapes apply around them
        pieces, last = [], 0
        for ref in _ENV_REFERENCE.finditer(text):
            pieces += [_mask_tokens(text[last:ref.start()]), ref.group()]
            last = ref.end()
        return "".join([*pieces, _mask_tokens(text[last:])])


def _mask_tokens(text: str) -> str:
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(_mask, text)
    return text


def _mask(m: re.Match[str]) -> str:
    if m.re is _KEY_VALUE and _PLACEHOLDER.fullmatch(m.group()[len(m.group(1)):]):
        return m.group()  # `secret=...` in a hint: no value to hide
    return (m.group(1) if m.groups() else "") + "***"


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def setup_logging(level: str = "INFO", fmt: str = "auto", secrets: Iterable[str] = ()) -> Redactor:
    redact = Redactor(secrets)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if use_json else TextFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # slack_sdk/slack_bolt log request and response bodies (customer text) below WARNING
    for noisy in ("aiohttp.access", "aiogram.event", "aiosqlite", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redact
