"""An erased contact's deliveries waiting in the outbox are never sent; `contact.erased`
(ids only) is, once; nothing new is made about the contact afterwards."""

from __future__ import annotations

from pathlib import Path

from router.domain.model import OutboxStatus
from router.engine.agents import actions
from router.engine.privacy.erase import erase_contact
from router.store.base import ConversationFilter
from tests.integrations.webhooks.conftest import Outcomes, post
from tests.integrations.webhooks.receiver import Delivery


def _contact(d: Delivery) -> int:
    return int(d.body["data"]["contact"]["id"])


async def _webhook_rows(service, status: OutboxStatus):  # type: ignore[no-untyped-def]
    rows = await service.store.read(lambda tx: tx.outbox_list([status], 1000))
    return [r for r in rows if r.channel == "webhook"]


async def test_an_erased_contact_is_never_sent(make_service, receiver, tmp_path: Path):
    # the receiver is down for an hour (Retry-After): Ulla's deliveries wait in the outbox
    receiver.respond = lambda d: (503, {"Retry-After": "3600"})
    service = await make_service()
    settled = Outcomes(service)
    await post(service, 1, "my number is +46 70 111 22 33")
    await settled.wait_for(lambda o: o.count("retry") >= 1)
    [held] = receiver.attempts
    assert held.event == "contact.created"
    ulla = _contact(held)
    [conv] = await service.store.read(
        lambda tx: tx.list_conversations(ConversationFilter(contact_id=ulla), 10))
    waiting = await _webhook_rows(service, OutboxStatus.PENDING)
    assert len(waiting) == 4  # created, opened, inbound, outbound: one attempted, all held

    result = await erase_contact(service.store, ulla, tmp_path / "data")
    assert result.rows["outbox"] >= 4
    attempts_at_erasure = len(receiver.attempts)
    receiver.respond = None  # the receiver is back
    anna = await service.store.read(lambda tx: tx.get_agent("anna"))
    await service.agents.desk.run(conv.id, actions.reply, anna, text="Are you still there?")
    await post(service, 2, "hello", sender="bo", thread="t2", email="bo@example.se")
    await receiver.wait_for(lambda r: r.events("contact.erased") and len(r.events()) == 5)

    [erased] = receiver.events("contact.erased")
    assert erased["data"] == {"contact": {"id": ulla}, "contact_ids": [ulla]}
    after = receiver.attempts[attempts_at_erasure:]
    assert [d.event for d in after if _contact(d) == ulla] == ["contact.erased"]
    bo = [b["event"] for b in receiver.events() if b["data"]["contact"]["id"] != ulla]
    assert bo == ["contact.created", "conversation.opened", "message.inbound",
                  "message.outbound"]
    assert "111 22 33" not in str([d.body for d in receiver.attempts[1:]])

    # what waited is emptied for good: an `outbox retry` of it sends nothing
    failed = await _webhook_rows(service, OutboxStatus.FAILED)
    assert len(failed) == 4
    assert all(r.payload == {} and r.last_error == "contact erased" for r in failed)
    before = settled.count("failed")
    await service.store.write(lambda tx: tx.outbox_requeue([r.id for r in failed],
                                                           service.dispatcher.clock()))
    service.dispatcher.wake()
    await settled.wait_for(lambda o: o.count("failed") == before + 4)
    assert len(receiver.attempts) == attempts_at_erasure + 5

    # erasing again sends no second contact.erased
    rows_before = await service.store.read(lambda tx: tx.outbox_list(list(OutboxStatus), 1000))
    await erase_contact(service.store, ulla, tmp_path / "data")
    rows_after = await service.store.read(lambda tx: tx.outbox_list(list(OutboxStatus), 1000))
    assert len(rows_after) == len(rows_before)
