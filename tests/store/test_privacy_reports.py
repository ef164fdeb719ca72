"""Reports, export and erase read and write through SQL shared by both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from router.domain.model import InboundMessage, Sender
from router.engine.pipeline import Pipeline
from router.engine.privacy.erase import erase_contact
from router.engine.privacy.export import export_contact
from router.store import Store
from router.web.reports.load import build_report
from tests.conftest import echo_decide

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
EMAIL = "ulla.svensson@example.se"


async def test_export_erase_and_report_on_both_backends(store: Store, tmp_path: Path):
    pipeline = Pipeline(store, lambda: echo_decide, clock=lambda: T0)
    r = await pipeline.ingest(InboundMessage(
        "loopback", "m1", "t1", Sender("ulla", display_name="Ulla Svensson", email=EMAIL),
        f"Hej, mejla mig på {EMAIL}", T0))
    await pipeline.ingest(InboundMessage("loopback", "m2", "t2", Sender("bo"), "hi", T0))
    conv = await store.read(lambda tx: tx.get_conversation(r.conversation_id))
    before = await build_report(store, T0 - timedelta(days=1), T0 + timedelta(days=1), now=T0)

    exported = await export_contact(store, conv.contact_id, tmp_path, now=T0)
    assert EMAIL in json.dumps(exported, default=str)

    await erase_contact(store, conv.contact_id, tmp_path, now=T0)
    again = await export_contact(store, conv.contact_id, tmp_path, now=T0)
    assert EMAIL not in json.dumps(again, default=str)
    assert "Svensson" not in json.dumps(again, default=str)
    after = await build_report(store, T0 - timedelta(days=1), T0 + timedelta(days=1), now=T0)
    assert after.as_dict() == before.as_dict()
    assert before.totals.opened == 2  # there were figures to keep
