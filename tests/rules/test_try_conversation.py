"""`inquiry-router try --conversation`: a whole conversation, as the customer hears it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config.yaml")


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "conversation.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_saturday_evening_conversation_turn_by_turn(tmp_path, capsys: pytest.CaptureFixture[str]):
    path = _write(tmp_path, """\
channel: webchat
messages:
  - {at: "2026-12-05T21:10", text: "Hej! Jag har inte fått någon faktura, var hittar jag den?"}
  - {after: 2m, text: "Jag vill prata med en människa"}
  - {after: 5m, text: "Hallå? Jag vill prata med en människa!"}
""")
    assert main(["try", "--config", CONFIG, "--conversation", path, "--json"]) == 0
    turns = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(turns) == 3
    assert all(len(t["heard"]) == 1 for t in turns)  # one reply per message, never silence
    first, second, third = (t["heard"][0] for t in turns)
    assert "faq:invoice_copy" in first["reply_id"] and "måndag 7 december kl. 08:00" in first["text"]
    assert second["reply_id"] == third["reply_id"] == "handoff_closed"
    assert "1 tim efter att vi öppnat" in second["text"]  # the wait counts from the opening
    assert [t["status"] for t in turns] == ["bot", "queued", "queued"]
    assert {t["queue"] for t in turns} == {"billing"} and {t["priority"] for t in turns} == {"high"}
    # and the text form reads as a transcript
    assert main(["try", "--config", CONFIG, "--conversation", path]) == 0
    out = capsys.readouterr().out
    assert "customer: Jag vill prata med en människa" in out and "we say:" in out


def test_the_shipped_example_replays(capsys: pytest.CaptureFixture[str]):
    assert main(["try", "--config", CONFIG, "--conversation", str(ROOT / "docs" / "saturday.yaml")]) == 0
    assert capsys.readouterr().out.count("we say:") == 3


@pytest.mark.parametrize(("text", "error"), [
    ("messages: [{after: 2m}]", "message 1: needs `text:`"),
    ("messages: [{at: 'tomorrow', text: hi}]", "is not a time like"),
    ("messages: [{text: hi}, {after: soon, text: hi}]", "message 2: `after: soon`"),
    ("channel: fax\nmessages: [hi]", "channel 'fax' is not one of"),
    ("messages: [hi\n", "not valid YAML"),
    ("just text", "expected `messages:`"),
])
def test_a_broken_file_gets_a_clear_error(tmp_path, capsys: pytest.CaptureFixture[str],
                                          text: str, error: str):
    path = _write(tmp_path, text)
    assert main(["try", "--config", CONFIG, "--conversation", path]) == 2
    out = capsys.readouterr().out
    assert error in out and path in out
