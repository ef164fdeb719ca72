"""Export then erase: nothing of the contact is left anywhere; reports do not change."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from router.engine.privacy.erase import erase_contact
from router.engine.privacy.export import export_contact, resolve_contact
from router.store.channel_state import StoreChannelState
from router.store.sql_privacy import PRIVACY_COLUMNS
from router.web.reports.load import report_for
from tests.reports.history import EMAIL, END, NAME, PHONE, START, History

NOW = datetime(2026, 3, 10, tzinfo=UTC)
NEEDLES = (EMAIL, PHONE, NAME, "Svensson", "ulla.svensson", "701234567")


def _raw_mail(data_dir: Path) -> str:
    """Store a raw mail the way the email channel does: content-addressed under email/raw."""
    from channels.email.state import RawStore

    body = f"From: {NAME} <{EMAIL}>\r\nSubject: call me\r\n\r\nPhone {PHONE}\r\n".encode()
    return RawStore(data_dir / "email" / "raw").put(body)


def _scan_db(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    hits = []
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                text = " ".join(str(v) for v in row).lower()
                hits += [f"{table}: {n}" for n in NEEDLES if n.lower() in text]
    finally:
        db.close()
    return hits


def _scan_files(root: Path) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file() and not p.name.startswith("router.db"):
            text = p.read_bytes().decode("utf-8", "replace").lower()
            hits += [f"{p.name}: {n}" for n in NEEDLES if n.lower() in text]
    return hits


async def test_export_then_erase_leaves_nothing_and_keeps_the_figures(tmp_path: Path):
    history = History(tmp_path)
    data_dir = history.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    ref = _raw_mail(data_dir)
    ids = await history.build(raw_ref=ref, attachment_ref=f"{ref}#2")
    store = history.store
    try:
        before = (await report_for(history.config, store, START, END, now=NOW)).as_dict()
        contact = await resolve_contact(store, email=EMAIL.upper())
        assert contact == await resolve_contact(store, identity=f"email:{EMAIL}")
        # channels' own state (issue 25): rows tied to the contact, to its conversation,
        # and one about someone else that stays
        email = StoreChannelState(store, "email")
        await email.put("thread:c2", {"subject": f"call me on {PHONE}"}, conversation_id=ids["c2"])
        await email.put(f"cap:{EMAIL}", {"day": "2026-03-02", "count": 1}, contact_id=contact)
        await email.put("thread:c1", {"subject": "opening hours"}, conversation_id=ids["c1"])

        exported = await export_contact(store, contact, data_dir, now=NOW)
        text = json.dumps(exported)
        assert EMAIL in text and PHONE in text and NAME in text
        tables = exported["tables"]
        assert set(tables) == set(PRIVACY_COLUMNS)
        assert [c["id"] for c in tables["conversations"]] == [ids["c2"]]
        assert any(PHONE in m["text"] for m in tables["messages"])
        assert any("Great help" in json.dumps(e["data"]) for e in tables["events"])
        assert sorted(r["key"] for r in tables["channel_state"]) == [f"cap:{EMAIL}", "thread:c2"]
        [raw] = exported["files"]
        assert EMAIL.encode() in base64.b64decode(raw["content_base64"])
        assert _scan_db(history.config.sqlite_path()) and _scan_files(data_dir)

        result = await erase_contact(store, contact, data_dir, now=NOW)
        assert result.files == 1 and result.rows["identities"] == 1
        assert result.rows["channel_state"] == 2
        assert list(await email.scan("")) == ["thread:c1"]
        after = (await report_for(history.config, store, START, END, now=NOW)).as_dict()
    finally:
        await store.close()
    assert after == before
    assert _scan_db(history.config.sqlite_path()) == []
    assert _scan_files(data_dir) == []
    assert not list((data_dir / "email" / "raw").rglob("*.eml"))


async def test_the_privacy_columns_cover_every_column_of_those_tables(tmp_path: Path):
    """A column added by a migration must be added to export and erasure too."""
    from router.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "x.db")
    await store.open()
    await store.close()
    db = sqlite3.connect(tmp_path / "x.db")
    for table, cols in PRIVACY_COLUMNS.items():
        actual = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        assert actual == set(cols), table
