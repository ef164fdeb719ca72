"""Outgoing webhooks through the real service: every event kind, signed, in order, retried.

The receiver (receiver.py) checks each request with the documentation's snippet; its
fixture fails the test if any request did not verify.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time

from bots.csat_http import record_answer
from router.cli import main
from router.domain.model import Agent
from router.engine.agents import actions
from router.engine.csat_recorder_store import StoreCsatRecorder
from router.service import Service
from tests.integrations.webhooks.conftest import Outcomes, post
from tests.integrations.webhooks.receiver import Delivery, WebhookReceiver


async def _agent(service: Service, name: str = "anna") -> Agent:
    agent = await service.store.read(lambda tx: tx.get_agent(name))
    assert agent is not None
    return agent


def _about(rec: WebhookReceiver, contact: int) -> list[str]:
    return [b["event"] for b in rec.events() if b["data"]["contact"]["id"] == contact]


async def test_every_event_kind_arrives_signed_and_in_order(make_service, receiver):
    service = await make_service(extra="queues: {general: {sla: {first_response: 1s, "
                                       "business_hours: false}}}")
    await post(service, 1, "hello")
    await receiver.wait_for(lambda r: len(r.events()) >= 4)
    created, opened, inbound, outbound = receiver.events()[:4]
    assert [b["event"] for b in receiver.events()[:4]] == [
        "contact.created", "conversation.opened", "message.inbound", "message.outbound"]
    contact = created["data"]["contact"]
    assert contact == {"id": contact["id"], "name": "Ulla", "email": "ulla@example.se",
                       "phone": "", "language": ""}
    conv = opened["data"]["conversation"]["id"]
    assert opened["data"] == {"conversation": {"id": conv, "channel": "loopback"},
                              "contact": {"id": contact["id"]}, "actor": "customer"}
    assert inbound["data"]["message"]["text"] == "hello"
    assert inbound["data"]["message"]["author"] == {"kind": "customer", "id": "ulla"}
    assert outbound["data"]["message"]["text"] == "echo: hello"
    assert outbound["data"]["message"]["author"] == {"kind": "bot", "id": "echo"}
    assert opened["created_at"].endswith("Z") and opened["id"] != inbound["id"]

    await post(service, 2, "a human please")  # handed off; its 1 s SLA runs out
    await receiver.wait_for(lambda r: r.events("sla.breached"), timeout=15)
    [handoff] = receiver.events("conversation.handed_off")
    assert handoff["data"]["queue"] == "general"
    assert handoff["data"]["reason"] == "customer_request"
    [breach] = receiver.events("sla.breached")
    assert breach["data"]["clock"] == "first_response" and breach["data"]["queue"] == "general"
    assert breach["data"]["actor"] == "system:scheduler"

    anna = await _agent(service)
    desk = service.agents.desk
    await desk.run(conv, actions.claim, anna)
    await desk.run(conv, actions.reply, anna, text="I am on it")
    await desk.resolve(conv, anna)
    assert await record_answer(StoreCsatRecorder(service.store), conv, 5, "Great help",
                               desk.clock()) == ""
    await receiver.wait_for(lambda r: r.events("csat.received"))
    [assigned] = receiver.events("conversation.assigned")
    assert assigned["data"] | {"conversation": None} == {
        "conversation": None, "contact": {"id": contact["id"]}, "actor": "agent:anna",
        "agent": "anna", "queue": "general", "reason": "claim"}
    agent_reply = receiver.events("message.outbound")[-1]["data"]["message"]
    assert agent_reply["text"] == "I am on it"
    assert agent_reply["author"] == {"kind": "agent", "id": "anna"}
    [resolved] = receiver.events("conversation.resolved")
    assert resolved["data"]["previous_status"] == "assigned"
    assert resolved["data"]["actor"] == "agent:anna"
    [rating] = receiver.events("csat.received")
    assert rating["data"] | {"conversation": None} == {
        "conversation": None, "contact": {"id": contact["id"]}, "actor": "customer", "score": 5,
        "comment": "Great help", "via": "link"}

    # a second customer, merged into the first by an agent
    await post(service, 3, "hi", sender="ulla2", thread="t2", email="ulla.b@example.se")
    await receiver.wait_for(lambda r: len(r.events("contact.created")) == 2)
    other = receiver.events("contact.created")[1]["data"]["contact"]["id"]
    await desk.merge_contacts(other, contact["id"], anna)
    await receiver.wait_for(lambda r: r.events("contact.merged"))
    [merged] = receiver.events("contact.merged")
    assert merged["data"] == {"contact": {"id": contact["id"]}, "actor": "agent:anna",
                              "merged_contact": {"id": other}}

    # per contact, the order things happened in
    assert _about(receiver, contact["id"]) == [
        "contact.created", "conversation.opened", "message.inbound", "message.outbound",
        "message.inbound", "conversation.handed_off", "sla.breached", "conversation.assigned",
        "message.outbound", "conversation.resolved", "csat.received", "contact.merged"]
    assert receiver.repeats == []
    for d in receiver.delivered.values():  # headers as documented
        assert d.headers["Idempotency-Key"] == d.id
        assert d.headers["X-Router-Signature"].startswith("v1=")
        assert abs(int(d.headers["X-Router-Timestamp"]) - time.time()) < 60


async def test_subscriptions_retry_after_and_the_same_key(make_service, receiver):
    """Only the subscribed events go out; a 429 and a 503 are retried after their
    Retry-After, with the same id and a fresh signature."""
    answers = iter([(429, {"Retry-After": "1"}), (503, {"Retry-After": "0"})])
    seen: list[tuple[float, Delivery]] = []

    def respond(d: Delivery) -> tuple[int, dict[str, str]]:
        seen.append((time.monotonic(), d))
        return next(answers, (200, {}))

    receiver.respond = respond
    service = await make_service(events="[message.inbound, conversation.resolved]")
    settled = Outcomes(service)
    await post(service, 1, "bye now")
    await settled.wait_for(lambda o: o.count("sent") == 2)
    assert [b["event"] for b in receiver.events()] == ["message.inbound",
                                                       "conversation.resolved"]
    first, second, third = (d for _, d in seen[:3])
    assert first.id == second.id == third.id  # one delivery, three attempts
    assert seen[1][0] - seen[0][0] >= 0.95  # Retry-After: 1 honoured
    assert first.headers["X-Router-Signature"] != "" and len(seen) == 4
    rows = await service.store.read(lambda tx: tx.outbox_list(["sent"]))  # type: ignore[list-item]
    webhook_rows = [r for r in rows if r.channel == "webhook"]
    assert {r.idempotency_key for r in webhook_rows} == set(receiver.delivered)
    assert all("secret" not in str(r.payload) for r in webhook_rows)


async def test_dead_letters_and_outbox_retry(make_service, receiver, tmp_path):
    """An endpoint that keeps failing: the delivery is dead after outbox.max_attempts; once
    it is back, `inquiry-router outbox retry` sends it, with the same id."""
    receiver.respond = lambda d: (500, {})
    service = await make_service(events="[message.inbound]")
    settled = Outcomes(service)
    await post(service, 1, "hello")
    await settled.wait_for(lambda o: o.count("dead") == 1)
    assert len(receiver.attempts) == service.config.settings.outbox.max_attempts
    assert len({d.id for d in receiver.attempts}) == 1
    receiver.respond = None

    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # the admin's command, beside the running service
        code = await asyncio.to_thread(main, ["outbox", "-c", service.config.path, "retry"])
    assert code == 0 and out.getvalue().startswith("1 delivery queued")
    service.dispatcher.wake()  # what its next poll would do
    await settled.wait_for(lambda o: o.count("sent") == 1)
    [delivered] = receiver.delivered.values()
    assert delivered.id == receiver.attempts[0].id
    assert delivered.body["data"]["message"]["text"] == "hello"


async def test_a_refusal_fails_for_good(make_service, receiver):
    receiver.respond = lambda d: (401, {})  # e.g. the receiver has another secret
    service = await make_service(events="[message.inbound]")
    settled = Outcomes(service)
    await post(service, 1, "hello")
    await settled.wait_for(lambda o: o.count("failed") == 1)
    assert len(receiver.attempts) == 1
    [row] = [r for r in await service.store.read(lambda tx: tx.outbox_list(["failed"]))  # type: ignore[list-item]
             if r.channel == "webhook"]
    assert row.last_error == "HTTP 401" and row.recipient == receiver.url
