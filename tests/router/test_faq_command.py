"""`inquiry-router faq suggest` on the shipped knowledge base: diff, JSON, --apply."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from router.cli import main
from router.config import load_config
from router.store.sqlite import SqliteStore
from tests.router.faq_world import SHIPPED_FAQ, FaqWorld, faq_config

QUESTION = "Hej! Går det bra att betala med Swish när jag handlar hos er?"


def _answer(entry: str, language: str) -> str:
    """The shipped answer an agent pastes (whatever its current wording)."""
    data = yaml.safe_load(SHIPPED_FAQ.read_text(encoding="utf-8"))
    return next(e["answers"][language] for e in data["faq"]["entries"] if e["id"] == entry)


def _site(tmp_path: Path, *conversations: tuple[str, str]) -> Path:
    """A site with a copy of the shipped config.d/faq.yaml and a history in which an agent
    answered each (question, entry) with the entry's Swedish answer. Built in its own event
    loop: the command runs `asyncio.run` itself."""
    site = tmp_path / "site"
    config = faq_config(site, shipped=True)

    async def build() -> None:
        store = SqliteStore(load_config(config).sqlite_path())
        await store.open()
        world = FaqWorld.of(store, config)
        for i, (question, entry) in enumerate(conversations):
            await world.agent_answered(f"t{i}", question, _answer(entry, "sv"))
        await store.close()

    asyncio.run(build())
    return config


def test_the_diff_applies_to_a_copy_and_the_copy_still_checks(tmp_path: Path, capsys, monkeypatch):
    config = _site(tmp_path, (QUESTION, "payment_methods"))
    site = config.parent
    before = (site / "config.d" / "faq.yaml").read_text(encoding="utf-8")
    monkeypatch.chdir(site)
    assert main(["faq", "suggest", "-c", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("--- ./config.d/faq.yaml\n+++ ./config.d/faq.yaml\n")
    assert f'"{QUESTION}"' in out
    assert "1 suggestion since" in err and "nothing was written" in err
    assert (site / "config.d" / "faq.yaml").read_text(encoding="utf-8") == before

    copy = tmp_path / "copy"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("data"))
    subprocess.run(["git", "apply", "-"], cwd=copy, input=out.encode(), check=True)
    assert main(["check", "-c", str(copy / "config.yaml")]) == 0
    entries = load_config(copy / "config.yaml").source.data["faq"]["entries"]
    payment = next(e for e in entries if e["id"] == "payment_methods")
    assert payment["questions"]["sv"][-1] == QUESTION
    # one line changed: the Swedish list, in place
    changed = [line for line in out.splitlines() if line.startswith(("+", "-"))][2:]
    assert len(changed) == 2 and changed[0].lstrip("-").strip().startswith("sv: [")


def test_json_then_apply_then_nothing_left(tmp_path: Path, capsys, monkeypatch):
    config = _site(tmp_path, (QUESTION, "payment_methods"), (QUESTION.lower(), "payment_methods"),
                   ("Jag vill ha en kopia av min senaste faktura, hur gör jag?", "invoice_copy"))
    monkeypatch.chdir(config.parent)
    assert main(["faq", "suggest", "--config", str(config), "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["entry"], i["language"], i["count"], i["sources"]) for i in items] == [
        ("payment_methods", "sv", 2, ["agent_answer"]), ("invoice_copy", "sv", 1, ["agent_answer"])]
    assert items[0]["text"] == QUESTION
    lines = (config.parent / items[0]["file"]).read_text(encoding="utf-8").splitlines()
    assert items[0]["file"] == "config.d/faq.yaml" and "sv: [" in lines[items[0]["line"] - 1]
    assert set(items[0]) >= {"entry", "language", "text", "count", "sources", "file", "line"}

    assert main(["faq", "suggest", "-c", str(config), "--min-count", "2", "--apply"]) == 0
    out, err = capsys.readouterr()
    assert "wrote config.d/faq.yaml (1 new question variant)" in err
    assert main(["check", "-c", str(config)]) == 0
    capsys.readouterr()
    # applied variants are known now: only the other one is left
    assert main(["faq", "suggest", "-c", str(config), "--json"]) == 0
    assert [i["entry"] for i in json.loads(capsys.readouterr().out)] == ["invoice_copy"]
    assert main(["faq", "suggest", "-c", str(config), "--apply"]) == 0
    capsys.readouterr()
    assert main(["faq", "suggest", "-c", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "nothing to suggest" in err
    assert main(["faq", "suggest", "-c", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_message_with_an_email_address_is_not_suggested(tmp_path: Path, capsys):
    config = _site(tmp_path, ("Min faktura har inte kommit, mejla den till ulla@example.se",
                              "invoice_copy"))
    assert main(["faq", "suggest", "-c", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "nothing to suggest" in err


def test_clear_errors_and_no_tracebacks(tmp_path: Path, capsys):
    config = faq_config(tmp_path / "site", shipped=True)
    assert main(["faq", "suggest", "-c", str(config), "--since", "last week"]) == 2
    assert "error: --since: 'last week' is neither a duration" in capsys.readouterr().err
    assert main(["faq", "suggest", "-c", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert "missing.yaml" in err and "file not found" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["faq", "suggest", "-c", str(config), "--limit", "0"])
    assert exc.value.code == 2
    assert "expected a whole number of at least 1" in capsys.readouterr().err
    empty = tmp_path / "empty" / "config.yaml"
    empty.parent.mkdir()
    empty.write_text("storage: {url: 'sqlite:///router.db'}\n", encoding="utf-8")
    assert main(["faq", "suggest", "-c", str(empty)]) == 0
    assert "no FAQ entries" in capsys.readouterr().err
