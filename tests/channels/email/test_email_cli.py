"""`inquiry-router parse-email`: what the service would take from a raw message."""

from __future__ import annotations

import json

import pytest

from router.cli import main

from .conftest import AUTO_DIR, SAMPLES


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
