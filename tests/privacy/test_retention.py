"""Retention deletes old conversations in batches, keeps open ones, logs counts only."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from router.engine.privacy.retention import Retention
from tests.privacy.test_erase import _raw_mail
from tests.reports.history import EMAIL, History


async def test_old_conversations_go_in_batches_and_open_ones_stay(tmp_path: Path, caplog):
    history = History(tmp_path)
    history.data_dir.mkdir(parents=True, exist_ok=True)
    ref = _raw_mail(history.data_dir)
    ids = await history.build(raw_ref=ref)
    job = Retention(history.store, days=3, data_dir=history.data_dir, batch=2,
                    clock=lambda: datetime(2026, 3, 13, tzinfo=UTC))
    try:
        with caplog.at_level(logging.INFO, logger="router.engine.privacy"):
            result = await job.run_once()
        left = await history.store.read(lambda tx: tx.report_conversations(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)))
        again = await job.run_once()
    finally:
        await history.store.close()
    assert (result.conversations, result.batches, result.contacts, result.files) == (5, 3, 5, 1)
    assert [c.id for c in left] == [ids["c4"]]  # still waiting on an agent: kept
    assert again.conversations == 0
    assert "deleted 5 conversations in 3 batches" in caplog.text and EMAIL not in caplog.text
    assert not list((history.data_dir / "email" / "raw").rglob("*.eml"))
