"""FAQ suggestions read their evidence through SQL shared by both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from router.config import load_config
from router.engine.faq_kb import KnowledgeBase
from router.engine.faq_suggest import AGENT, CHOICE, collect
from router.store import Store
from tests.router.faq_world import PAYMENT_SV, FaqWorld, faq_config


async def test_agent_answers_and_picks_read_alike_on_both_backends(store: Store, tmp_path: Path):
    config = faq_config(tmp_path)
    kb = KnowledgeBase.from_data(load_config(config).source.data)
    world = FaqWorld.of(store, config)
    await world.say("quiet", "Hej")  # the bot spoke, nobody learnt anything
    answered = await world.agent_answered("a", "Tar ni Swish?", PAYMENT_SV)
    picked = await world.picked("b", "min order och fakturan", "invoice_copy")
    await world.say("c", "jag hittar inte fakturan")
    typed = await world.say("c", "1")
    await world.answer(answered, "Något mer jag kan hjälpa till med?")  # not an answer
    since = world.now - timedelta(days=1)

    evidence = await collect(store, kb, since)
    got = [(e.conversation_id, e.entry, e.language, e.text, e.source) for e in evidence]
    assert got == [(answered, "payment_methods", "sv", "Tar ni Swish?", AGENT),
                   (picked, "invoice_copy", "sv", "min order och fakturan", CHOICE),
                   (typed, "invoice_copy", "sv", "jag hittar inte fakturan", CHOICE)]
    assert await collect(store, kb, since, batch=1) == evidence  # batch edges change nothing

    convs = await store.read(lambda tx: tx.faq_conversations(since, limit=10))
    assert [c.id for c in convs] == sorted(c.id for c in convs) and len(convs) == 4
    after = await store.read(lambda tx: tx.faq_conversations(since, after_id=picked))
    assert [c.id for c in after] == [typed]
    messages = await store.read(lambda tx: tx.faq_messages([answered]))
    assert [m.author_kind for m in messages] == ["customer", "customer", "agent", "agent"]
    events = await store.read(lambda tx: tx.faq_events([picked]))
    assert {e.kind for e in events} == {"message_received", "rules_applied"}
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert await store.read(lambda tx: tx.faq_messages([])) == []
    assert await store.read(lambda tx: tx.faq_events([])) == []
