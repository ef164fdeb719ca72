"""The core decides when a channel's raw input is decoded (issue 25, router/engine/inbox.py).

A deferrable channel hands raw input to its inbox. Acknowledging once stored, the payload
is in the inbox table before `decode` runs (in the backlog, after `receive` returned);
acknowledging once processed, `decode` and `enrich` run, and the message is processed,
before `receive` returns.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from router.domain.model import InboundMessage, OutboundMessage, Sender, UnparsedInbound
from router.ports.channel import ChannelAdapter, ChannelInbox, IngestResult, SendResult
from router.service import Service


class Probe(ChannelAdapter):
    """A webhook-like channel whose hooks record when they ran, and what the store held
    when `decode` ran (a test double may look at the database file; a channel may not)."""

    name = "probe"
    deferrable = True

    def __init__(self, db: Path, *, deferrable: bool) -> None:
        self.db = db
        self.deferrable = deferrable
        self.events: list[str] = []
        self.inbox: ChannelInbox | None = None

    def routes(self, inbox: ChannelInbox) -> list:
        self.inbox = inbox
        return []

    def decode(self, raw: UnparsedInbound) -> InboundMessage | None:
        with sqlite3.connect(self.db) as db:
            row = db.execute("SELECT pending FROM inbox WHERE channel = ? AND external_id = ?",
                             (raw.channel, raw.external_id)).fetchone()
        self.events.append("decode (payload stored)" if row else "decode (nothing stored)")
        if raw.payload.get("ignore"):
            return None
        return InboundMessage(channel=self.name, external_id=raw.external_id, thread_key="t1",
                              sender=Sender("visitor-1"), text=raw.payload["text"],
                              received_at=datetime.now(UTC))

    async def enrich(self, message: InboundMessage) -> InboundMessage:
        self.events.append("enrich")
        return message

    async def processed(self, message: InboundMessage, result: IngestResult) -> None:
        self.events.append("processed")

    async def send(self, message: OutboundMessage) -> SendResult:
        return SendResult()


class ProbeService(Service):
    probe: Probe

    def build_channels(self) -> dict[str, ChannelAdapter]:
        return {**super().build_channels(), "probe": self.probe}


async def started(make_config, tmp_path: Path, acknowledge: str, *,
                  deferrable: bool = True) -> ProbeService:
    service = ProbeService(make_config(f"service: {{acknowledge: {acknowledge}}}"))
    service.probe = Probe(tmp_path / "data" / "router.db", deferrable=deferrable)
    await service.start(port=0)
    return service


def raw(key: str, **payload: object) -> UnparsedInbound:
    return UnparsedInbound("probe", key, payload)


async def test_acknowledging_once_stored_stores_the_raw_payload_before_decode_runs(
        make_config, tmp_path: Path) -> None:
    service = await started(make_config, tmp_path, "stored")
    probe = service.probe
    try:
        assert probe.inbox is not None
        result = await probe.inbox.receive(raw("r1", text="hej"))
        probe.events.append("acknowledged")
        assert result.accepted and not result.duplicate and result.message_id is None
        assert service.backlog is not None
        await service.backlog.drained()
        assert probe.events == ["acknowledged", "decode (payload stored)", "enrich",
                                "processed"]
        assert (await probe.inbox.receive(raw("r1", text="hej"))).duplicate  # a redelivery
        await service.backlog.drained()
        assert probe.events == ["acknowledged", "decode (payload stored)", "enrich",
                                "processed"]
        # nothing to process: acknowledged, then settled by the backlog
        probe.events.clear()
        assert (await probe.inbox.receive(raw("r2", ignore=True))).accepted
        probe.events.append("acknowledged")
        await service.backlog.drained()
        assert probe.events == ["acknowledged", "decode (payload stored)"]
        counts = await service.store.read(lambda tx: tx.inbox_counts())
        assert counts.get("pending", 0) == 0 and counts.get("failed", 0) == 0, counts
    finally:
        await service.stop()


async def test_acknowledging_once_processed_decodes_before_the_acknowledgement(
        make_config, tmp_path: Path) -> None:
    service = await started(make_config, tmp_path, "processed")
    probe = service.probe
    try:
        assert probe.inbox is not None
        result = await probe.inbox.receive(raw("r1", text="hej"))
        probe.events.append("acknowledged")
        assert not result.accepted and result.message_id is not None
        assert probe.events == ["decode (nothing stored)", "enrich", "processed",
                                "acknowledged"]
        probe.events.clear()
        result = await probe.inbox.receive(raw("r2", ignore=True))
        assert result.ignored and result.message_id is None
        assert probe.events == ["decode (nothing stored)"]
    finally:
        await service.stop()


async def test_a_channel_that_is_not_deferrable_is_processed_before_the_acknowledgement(
        make_config, tmp_path: Path) -> None:
    service = await started(make_config, tmp_path, "stored", deferrable=False)
    probe = service.probe
    try:
        assert probe.inbox is not None
        result = await probe.inbox.receive(raw("r3", text="hej"))
        assert not result.accepted and result.message_id is not None
        probe.events.append("acknowledged")
        assert probe.events == ["decode (nothing stored)", "enrich", "processed",
                                "acknowledged"]
    finally:
        await service.stop()
