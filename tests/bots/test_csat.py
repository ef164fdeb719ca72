"""CSAT end to end on the loopback channel: survey on resolve, rating by button or link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from bots.csat import CsatSigner
from router.domain.model import Action, DecisionContext, InboundMessage, Sender, Status
from router.engine.effects import apply_actions
from router.wiring import build_decide
from tests.bots.helpers import ctx, make_bots, meta, replies

SECRET = "test-secret-0123456789abcdef"
CONFIG = """
service: {acknowledge: processed}  # the tests read the conversation id from the 200
channels:
  loopback: {deliver_url: "%s"}
bots:
  csat: {enabled: true, secret: "%s", expires: 7d}
"""


async def resolve(service, conversation_id: int) -> None:
    """What the agent desk does on resolve: apply it, then run the decider on 'resolved'."""
    decide = service.decider()
    now = datetime.now(UTC)

    async def work(tx):
        conv = await tx.get_conversation(conversation_id)
        contact = await tx.get_contact(conv.contact_id)
        await apply_actions(tx, conv, contact, [Action("resolve")], now, default_queue="general")
        msg = InboundMessage(channel=conv.channel, external_id="", thread_key=conv.thread_key,
                             sender=Sender(conv.recipient), text="", received_at=now)
        decision = decide(DecisionContext(message=msg, conversation=conv.view(),
                                          contact=contact.view(), now=now, event="resolved"))
        applied = await apply_actions(tx, conv, contact, decision.actions, now,
                                      default_queue="general")
        await tx.save_conversation(conv, now)
        return applied.outbox_rows

    rows = await service.store.write(work)
    service.dispatcher.wake(rows)


async def post(service, body: dict) -> dict:
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{service.port}/webhooks/loopback", json=body) as resp:
        assert resp.status == 200
        return await resp.json()


async def events(service, conversation_id: int, kind: str) -> list:
    return await service.store.read(lambda tx: tx.list_events(conversation_id, kinds=[kind]))


async def test_csat_by_button_end_to_end(make_config, start_service, recorder):
    config = make_config(CONFIG % (recorder.url, SECRET))
    service = await start_service(config, build_decide(config))
    first = await post(service, {"id": "c1", "thread": "t1", "from": "u1", "text": "is shipping free"})
    conv_id = first["conversation_id"]
    await recorder.wait_for(lambda r: len(r.delivered) == 1)

    await resolve(service, conv_id)
    await recorder.wait_for(lambda r: len(r.delivered) == 2)
    survey = list(recorder.delivered.values())[1].body
    payloads = [q["payload"] for q in survey["quick_replies"]]
    assert [q["label"] for q in survey["quick_replies"]] == ["1", "2", "3", "4", "5"]
    assert all(len(p.encode()) <= 64 for p in payloads)  # Telegram's callback_data limit

    # a forged press (score changed, signature of another score) is refused
    forged = payloads[0].replace(":1:", ":5:")
    await post(service, {"id": "c2", "thread": "t1", "from": "u1", "text": "", "callback": forged})
    # the real press is recorded and thanked
    await post(service, {"id": "c3", "thread": "t1", "from": "u1", "text": "", "callback": payloads[3]})
    await recorder.wait_for(lambda r: len(r.delivered) == 3)
    assert "Thank you for your rating" in list(recorder.delivered.values())[2].body["text"]
    # a replayed press is refused
    await post(service, {"id": "c4", "thread": "t1", "from": "u1", "text": "", "callback": payloads[3]})

    ratings = await events(service, conv_id, "csat")
    refused = await events(service, conv_id, "csat_refused")
    assert [e.data["score"] for e in ratings] == [4]
    assert [e.data["reason"] for e in refused] == ["forged", "replayed"]
    conv = await service.store.read(lambda tx: tx.get_conversation(conv_id))
    assert conv.status == Status.RESOLVED  # the button presses did not reopen it
    # one survey per conversation: resolving again sends none
    await resolve(service, conv_id)
    assert len(recorder.delivered) == 3


async def test_csat_link_forged_expired_replayed(make_config, start_service, recorder):
    config = make_config(CONFIG % (recorder.url, SECRET))
    service = await start_service(config, build_decide(config))
    first = await post(service, {"id": "l1", "thread": "t9", "from": "u9", "text": "hello"})
    conv_id = first["conversation_id"]
    await resolve(service, conv_id)
    signer = CsatSigner(SECRET)
    base = f"http://127.0.0.1:{service.port}/csat"
    good = signer.link_token(conv_id, datetime.now(UTC) + timedelta(days=1))
    expired = signer.link_token(conv_id, datetime.now(UTC) - timedelta(seconds=1))
    later = datetime.now(UTC) + timedelta(days=1)
    forged = CsatSigner("another-secret-0123456789").link_token(conv_id, later)
    other_conv = good.replace(f"{conv_id}.", f"{conv_id + 1}.", 1)
    async with aiohttp.ClientSession() as http:
        for token, status in ((forged, 403), (other_conv, 403), (expired, 410), ("junk", 400)):
            async with http.get(f"{base}/{token}?score=5") as resp:
                assert resp.status == status, token
                assert "text/html" in resp.headers["Content-Type"]
        async with http.get(f"{base}/{good}?score=2") as resp:
            assert resp.status == 200 and "<form" in await resp.text()
        async with http.post(f"{base}/{good}", data={"comment": "Slow but friendly"}) as resp:
            assert resp.status == 200
        async with http.get(f"{base}/{good}?score=5") as resp:
            assert resp.status == 409  # replayed
    [rating] = await events(service, conv_id, "csat")
    assert rating.data == {"score": 2, "comment": "", "via": "link"}
    [comment] = await events(service, conv_id, "csat_comment")
    assert comment.data["comment"] == "Slow but friendly"


def test_email_survey_has_signed_links_and_expired_press_is_refused(tmp_path):
    bots = make_bots(tmp_path, f"""
        service: {{public_url: "https://support.example.com"}}
        bots: {{csat: {{enabled: true, secret: "{SECRET}", expires: 1d}}}}
    """)
    now = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)
    d = bots.decide(ctx(status=Status.RESOLVED, event="resolved", channel="email", now=now,
                        language="sv"), _empty())
    [survey] = replies(d)
    assert survey.quick_replies == () and survey.language == "sv"
    assert "https://support.example.com/csat/7." in survey.text and "?score=5" in survey.text
    # a button survey pressed after it expired is refused
    d = bots.decide(ctx(status=Status.RESOLVED, event="resolved", now=now), _empty())
    state = meta(d)
    payload = replies(d)[0].quick_replies[4].payload
    late = bots.decide(ctx(callback=payload, metadata=state, status=Status.QUEUED,
                           now=now + timedelta(days=2)), _empty())
    assert replies(late) == []
    assert [a.value["reason"] for a in late.actions if a.kind == "record"] == ["expired"]
    assert "resolve" in [a.kind for a in late.actions]


def _empty():
    from router.domain.model import Decision

    return Decision()
