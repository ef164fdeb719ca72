"""Taking a conversation over from the bot: atomic like a claim, recorded, announced per channel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from router.domain.agent_errors import ConflictError
from router.domain.model import Action, Decision, OutboxStatus, ReplyContent, Status
from router.engine.agents import actions
from router.engine.agents.policy import DeskPolicy
from router.engine.agents.sla import ALWAYS_OPEN
from router.engine.agents.takeover import JOINED, announces, joined_language, joined_text
from router.engine.pipeline import Pipeline
from router.web.reports.facts import facts
from tests.agents.conftest import SLA_QUEUE, Clock, World


def the_bot_answers():  # type: ignore[no-untyped-def]
    """A stand-in for rules and bots that answers every message, so the bot keeps it."""
    def decide(ctx):  # type: ignore[no-untyped-def]
        if ctx.event != "message":
            return Decision()
        return Decision(actions=[Action("reply", ReplyContent("The bot answers."), source="faq")])
    return lambda: decide


@pytest.fixture
def bot_world(world: World) -> World:
    world.pipeline = Pipeline(world.store, the_bot_answers(), clock=world.clock,
                              on_conversation=world.desk.on_conversation)
    return world


async def outbox(world: World, cid: int) -> list[tuple[str, str, str]]:
    rows = await world.store.read(lambda tx: tx.outbox_list(list(OutboxStatus), 100))
    return [(r.payload["author_kind"], r.payload["language"], r.payload["text"])
            for r in rows if r.conversation_id == cid]


async def test_claim_takes_over_records_it_and_tells_the_customer(bot_world: World):
    w = bot_world
    ann = await w.agent("ann")
    cid = await w.message("t1", channel="telegram", language="fi")
    assert (await w.conv(cid)).status == Status.BOT
    await w.desk.run(cid, actions.claim, ann)
    conv = await w.conv(cid)
    assert conv.status == Status.ASSIGNED and conv.assignee == "ann"
    assert conv.queue == "general" and conv.first_response_due is not None  # SLA runs now
    (took,) = await w.events(cid, "agent_took_over")
    assert took.actor == "agent:ann"
    assert took.data == {"agent": "ann", "from_status": "bot", "via": "claim"}
    (changed,) = [e for e in await w.events(cid, "status_changed") if e.data["to"] == "assigned"]
    assert changed.data == {"from": "bot", "to": "assigned", "reason": "takeover"}
    assert [e.data["reason"] for e in await w.events(cid, "assigned")] == ["takeover"]
    assert await outbox(w, cid) == [("bot", "", "The bot answers."),
                                    ("system", "fi", "Ann liittyi keskusteluun")]
    # reports count the takeover as a hand-off, the person's clock starting at it
    f = facts(conv, await w.events(cid), ALWAYS_OPEN)
    assert f.handoff_reason == "agent_takeover" and f.queued_at == took.created_at


async def test_two_agents_taking_over_at_once_one_wins(bot_world: World):
    w = bot_world
    ann, bob = await w.agent("ann"), await w.agent("bob")
    cid = await w.message("t1", channel="telegram")
    results = await asyncio.gather(w.desk.run(cid, actions.claim, ann),
                                   w.desk.run(cid, actions.claim, bob), return_exceptions=True)
    assert sum(isinstance(r, ConflictError) for r in results) == 1
    assert len(await w.events(cid, "agent_took_over")) == 1
    assert [k for k, _, _ in await outbox(w, cid)] == ["bot", "system"]  # one "joined" line


async def test_an_agent_at_capacity_cannot_take_over_and_the_bot_keeps_it(bot_world: World):
    w = bot_world
    bob = await w.agent("bob", capacity=1)
    first = await w.message("t1", channel="telegram")
    second = await w.message("t2", sender="u2", channel="telegram")
    await w.desk.run(first, actions.claim, bob)
    with pytest.raises(ConflictError, match="at capacity"):
        await w.desk.run(second, actions.reply, bob, text="Hej!")
    conv = await w.conv(second)
    assert conv.status == Status.BOT and conv.assignee == ""
    assert [k for k, _, _ in await outbox(w, second)] == ["bot"]  # no line, no reply


async def test_reply_takes_over_then_sends(bot_world: World):
    w = bot_world
    ann = await w.agent("ann")
    cid = await w.message("t1", channel="slack", language="sv")
    await w.desk.run(cid, actions.reply, ann, text="Hej! Jag tittar på det.")
    conv = await w.conv(cid)
    assert conv.status == Status.ASSIGNED and conv.assignee == "ann"
    assert conv.first_response_at is not None
    assert [e.data["via"] for e in await w.events(cid, "agent_took_over")] == ["reply"]
    assert await outbox(w, cid) == [("bot", "", "The bot answers."),
                                    ("system", "sv", "Ann har anslutit till samtalet"),
                                    ("agent", "sv", "Hej! Jag tittar på det.")]


async def test_transfer_moves_it_out_of_the_bots_hands(bot_world: World):
    w = bot_world
    boss = await w.agent("boss")
    await w.agent("ann")
    to_queue = await w.message("t1", channel="telegram", language="nb")
    await w.desk.run(to_queue, actions.transfer, boss, queue="billing")
    conv = await w.conv(to_queue)
    assert conv.status == Status.QUEUED and conv.queue == "billing" and conv.assignee == ""
    (took,) = await w.events(to_queue, "agent_took_over")
    assert took.data == {"agent": "boss", "from_status": "bot", "via": "transfer",
                         "to_agent": "", "to_queue": "billing"}
    assert [k for k, _, _ in await outbox(w, to_queue)] == ["bot"]  # nobody joined yet

    to_agent = await w.message("t2", sender="u2", channel="telegram", language="nb")
    await w.desk.run(to_agent, actions.transfer, boss, agent="ann")
    conv = await w.conv(to_agent)
    assert conv.status == Status.ASSIGNED and conv.assignee == "ann" and conv.queue == "general"
    assert (await outbox(w, to_agent))[-1] == ("system", "nb", "Ann har blitt med i samtalen")


@pytest.mark.parametrize("channel", ["email", "email:support", "webchat"])
async def test_email_and_web_chat_get_no_joined_line(bot_world: World, channel: str):
    w = bot_world
    ann = await w.agent("ann")
    cid = await w.message("t1", channel=channel)
    await w.desk.run(cid, actions.claim, ann)
    assert (await w.conv(cid)).status == Status.ASSIGNED
    assert [k for k, _, _ in await outbox(w, cid)] == ["bot"]
    assert len(await w.events(cid, "agent_took_over")) == 1


async def test_the_default_language_speaks_when_the_conversation_has_none(store):
    w = World(store, DeskPolicy(queues={"general": SLA_QUEUE}, default_language="uk"),
              Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    w.pipeline = Pipeline(store, the_bot_answers(), clock=w.clock,
                          on_conversation=w.desk.on_conversation)
    ann = await w.agent("ann")
    cid = await w.message("t1", channel="telegram")
    assert (await w.conv(cid)).language == ""
    await w.desk.run(cid, actions.claim, ann)
    assert (await outbox(w, cid))[-1] == ("system", "uk", "Ann тепер у розмові")


def test_joined_texts_cover_five_languages_and_fall_back():
    assert set(JOINED) == {"sv", "fi", "nb", "uk", "en"}
    assert all("{name}" in text for text in JOINED.values())
    assert joined_language("sv-SE", "en") == "sv"
    assert joined_language("no", "en") == "nb"
    assert joined_language("de", "fi") == "fi"  # unknown: the default
    assert joined_language("", "de") == "en"  # neither known: English
    assert joined_text("Alice", "en").text == "Alice has joined the conversation"
    assert announces("telegram") and announces("loopback") and announces("slack")
    assert not announces("email") and not announces("email:support") and not announces("webchat")
