"""`inquiry-router parse-email`: what the service would take from a raw message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.email.threads import ReplyTokens
from router.cli import main
from tests.conftest import write_config

from .conftest import AUTO_DIR, SAMPLES
from .shapes import mail


def test_parse_email_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-email", str(SAMPLES / "gmail_uk.eml"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["visible_text"].startswith("Добрий день!")
    assert info["language"] == "uk"
    assert info["thread_key"] == "c42.0@mail.example.net"
    assert info["automatic"] is False
    assert info["attachments"] == []


def test_parse_email_text_shows_why_mail_is_automatic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-email", str(AUTO_DIR / "bounce_dsn.eml"), "--own", "support@example.com"]) == 0
    out = capsys.readouterr().out
    assert "Automatic:   yes" in out and "empty-return-path" in out


def test_parse_email_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-email", "/nonexistent.eml"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_parse_email_checks_reply_tokens_with_the_installations_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMAIL_SECRET", raising=False)
    config = write_config(tmp_path, """
channels:
  email:
    smtp_out: {host: 127.0.0.1, port: 25, tls: none, from_address: support@example.com}
""")
    secret = "the installation's key, 32 chars"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "email.secret").write_text(secret + "\n")
    mark = ReplyTokens(secret).mark(18)
    path = tmp_path / "reply.eml"
    path.write_bytes(mail(subject=f"Re: Faktura [#{mark}]", to=f"support+c{mark}@example.com"))

    assert main(["parse-email", str(path), "--json", "--config", str(config)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["reply_tokens"] == [{"conversation": 18, "signed": True, "only_from_participant": None}]
    assert "pin:token:c18" in info["thread_aliases"]
    # without the key the same token is only a participant's (and the text says so)
    assert main(["parse-email", str(path)]) == 0
    out = capsys.readouterr().out
    assert "conversation 18, not signed by this installation" in out
    assert "pin:token:c18|anna@kund.example" in out
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["email.secret"]  # nothing made
