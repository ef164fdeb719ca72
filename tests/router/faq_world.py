"""A store with conversations that teach the FAQ: agents' answers and "Did you mean" picks.

The real pipeline decides with the real rules and bots of a config, and agents reply
through the desk: the evidence `router.engine.faq_suggest` reads is what a running service
stores. Two knowledge bases: a copy of the shipped one (config.d/faq.yaml, one-line flow
lists), and a small one of block lists whose thresholds always offer "Did you mean"
(answer_at 100), so the choice scenarios do not hang on the matcher's exact scores.
"""

from __future__ import annotations

import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from router.config import Config, load_config
from router.domain.model import Agent, InboundKind, InboundMessage, Role, Sender
from router.engine.agents import actions
from router.engine.agents.desk import Desk
from router.engine.agents.policy import build_policy
from router.engine.pipeline import Pipeline
from router.store import Store
from router.wiring import build_decide
from tests.conftest import ROOT, write_config

SHIPPED_FAQ = ROOT / "config.d" / "faq.yaml"
CONFIG = """\
default_language: en
channels: {loopback: {}}
include: [config.d/faq.yaml]
"""
SMALL_FAQ = """\
# A small knowledge base (tests/router/faq_world.py): block lists, and one flow list.
faq:
  answer_at: 100   # only an exact question is answered; anything close gets "Did you mean"
  suggest_at: 1
  entries:
    - id: invoice_copy
      questions:
        sv:
          - "Var hittar jag min faktura?"
          - "Kan jag få en kopia på fakturan?"
        en:
          - "Where can I find my invoice?"
      answers:
        sv: "Alla fakturor finns under Mitt konto → Fakturor, där du kan ladda ner dem som PDF."
        en: "All invoices are under My account → Invoices, where you can download them as PDF."
    - id: order_status
      questions:
        sv:
          - "Var är min order?"
          - "När kommer mitt paket?"
        en: ["Where is my order?"]
      answers:
        sv: "Du hittar spårningslänken i orderbekräftelsen och under Mitt konto → Ordrar."
        en: "You find the tracking link in the order confirmation and under My account → Orders."
    - id: payment_methods
      questions:
        en: ["How can I pay?"]
      answers:
        sv: "Vi tar emot kort (Visa, Mastercard), Swish och faktura."
        en: "We accept cards (Visa, Mastercard), Swish and invoice."
"""
# The answers as agents paste them (between a greeting and a signature, see `answer`).
INVOICE_SV = "Alla fakturor finns under Mitt konto → Fakturor, där du kan ladda ner dem som PDF."
PAYMENT_SV = "Vi tar emot kort (Visa, Mastercard), Swish och faktura."
HANDOFF = "Kan jag få prata med en människa?"


def faq_config(directory: Path, *, shipped: bool = False, extra: str = "") -> Path:
    """config.yaml in `directory`, including its own config.d/faq.yaml (a copy)."""
    (directory / "config.d").mkdir(parents=True, exist_ok=True)
    faq = directory / "config.d" / "faq.yaml"
    if shipped:
        shutil.copy(SHIPPED_FAQ, faq)
        languages = "languages: [sv, fi, nb, uk, en]\n"
    else:
        faq.write_text(SMALL_FAQ, encoding="utf-8")
        languages = "languages: [sv, en]\n"
    return write_config(directory, languages + CONFIG + textwrap.dedent(extra))


class FaqWorld:
    """Customers write through the pipeline, an agent answers through the desk.

    Time starts two days ago, so the commands' default `--since 90d` sees it all."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.now = datetime.now(UTC) - timedelta(days=2)
        decide = build_decide(config)
        self.desk = Desk(store, build_policy(config), clock=self.clock)
        self.pipeline = Pipeline(store, lambda: decide, clock=self.clock,
                                 on_conversation=self.desk.on_conversation)
        self.n = 0
        self.agent: Agent | None = None

    @classmethod
    def of(cls, store: Store, config_path: Path) -> FaqWorld:
        return cls(store, load_config(config_path))

    def clock(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    async def say(self, thread: str, text: str = "", *, callback: str = "") -> int:
        self.n += 1
        r = await self.pipeline.ingest(InboundMessage(
            "loopback", f"m{self.n}", thread, Sender(f"u-{thread}", display_name="Ulla"), text,
            self.clock(), kind=InboundKind.CALLBACK if callback else InboundKind.MESSAGE,
            callback_data=callback))
        assert r.conversation_id is not None
        return r.conversation_id

    async def answer(self, conversation_id: int, answer: str) -> None:
        """An agent pastes `answer` between a greeting and a signature."""
        if self.agent is None:
            agent = Agent(0, "anna", display_name="Anna", role=Role.ADMIN)
            await self.store.write(lambda tx: tx.upsert_agent(agent, self.now))
            self.agent = await self.store.read(lambda tx: tx.get_agent("anna"))
        assert self.agent is not None
        text = textwrap.dedent(f"""\
            Hej Ulla!

            {answer}

            Med vänliga hälsningar
            Anna""")
        await self.desk.run(conversation_id, actions.reply, self.agent, text=text)

    async def agent_answered(self, thread: str, question: str, answer: str) -> int:
        """The customer asked `question`, then for a person; an agent answered `answer`."""
        cid = await self.say(thread, question)
        await self.say(thread, HANDOFF)
        await self.answer(cid, answer)
        return cid

    async def picked(self, thread: str, question: str, entry: str) -> int:
        """The bot offered "Did you mean" for `question`; the customer pressed `entry`."""
        cid = await self.say(thread, question)
        await self.say(thread, callback=f"faq:{entry}")
        return cid
