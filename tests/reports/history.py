"""A generated week of history through the real pipeline, desk and scheduler, with a fixed
clock, and the figures it must give (worked out by hand in the comments).

Business hours are Europe/Stockholm Mon-Fri 08:00-17:00 (UTC+1 in early March, so
07:00-16:00 UTC). Period: Mon 2026-03-02 00:00Z to Mon 2026-03-09 00:00Z.

  C1 webchat Mon 09:00Z "faq"          bot answers and resolves (deflected), survey sent
  C2 email   Mon 10:00Z "sv: human"    hand-off (customer_request) to billing; ann replies
                                       10:30Z (FRT 30 min), tags it invoice, resolves 12:00Z;
                                       CSAT 5 with a comment
  C3 email   Fri 15:30Z "hello"        nobody answers: queued to general (unanswered);
                                       SLA 1 h business breaches Mon 07:30Z; bob replies
                                       Mon 08:00Z (wall 64.5 h, business 30 + 60 min = 90
                                       min), resolves Mon 09:00Z; CSAT 2
  C4 telegram Sat 11:00Z "human"       hand-off to billing; ann replies Sat 11:20Z (wall 20
                                       min, business 0: closed on Saturday); stays open
  C5 webchat Sun 20:00Z "faq"          deflected, survey sent
  C6 webchat Mon 2026-03-09 10:00Z     outside the period
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from router.config import Config, load_config
from router.domain.model import (
    Action,
    Attachment,
    Decision,
    DecisionContext,
    Event,
    InboundMessage,
    ReplyContent,
    Sender,
)
from router.engine.agents import actions
from router.engine.agents.desk import Desk
from router.engine.agents.policy import build_policy, config_agents
from router.engine.agents.scheduler import Scheduler
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore
from tests.conftest import write_config

START = datetime(2026, 3, 2, tzinfo=UTC)
END = datetime(2026, 3, 9, tzinfo=UTC)
CONFIG = """
storage: {url: "sqlite:///data/router.db"}
business_hours:
  timezone: Europe/Stockholm
  weekly: {mon-fri: "08:00-17:00"}
queues:
  general: {sla: {first_response: 1h}}
  billing: {sla: {first_response: 1h}}
agents:
  ann: {name: Ann Agent}
  bob: {name: Bob Agent}
"""
# the contact the privacy tests erase: their name, address and phone appear in messages,
# a CSAT comment, the identity, the raw mail and an attachment
NAME, EMAIL, PHONE = "Ulla Svensson", "ulla.svensson@example.org", "+46701234567"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def decide(ctx: DecisionContext) -> Decision:
    """A stand-in for rules and bots: FAQ answers and resolves; 'human' hands off."""
    text = ctx.message.text
    lang = "sv" if text.startswith("sv:") else "en"
    if ctx.event != "message":
        return Decision(language=lang)
    if "faq" in text:
        return Decision(language=lang, actions=[
            Action("reply", ReplyContent(text="Here is the answer."), "faq"),
            Action("meta", {"bots.csat": {"sent_at": "2026-03-02T00:00:00Z"}}, "csat"),
            Action("resolve", None, "faq")])
    if "human" in text:
        return Decision(language=lang, actions=[
            Action("handoff", {"queue": "billing", "reason": "customer_request"}, "bots")])
    return Decision(language=lang)


class History:
    def __init__(self, tmp_path: Path) -> None:
        self.config: Config = load_config(write_config(tmp_path, CONFIG))
        self.data_dir = self.config.data_path()
        self.store = SqliteStore(self.config.sqlite_path())
        self.clock = Clock(START)
        self.desk = Desk(self.store, build_policy(self.config), clock=self.clock)
        self.pipeline = Pipeline(self.store, lambda: decide, clock=self.clock,
                                 on_conversation=self.desk.on_conversation)
        self.scheduler = Scheduler(self.desk)
        self.n = 0

    async def at(self, when: datetime, channel: str, text: str, *, sender: str = "",
                 name: str = "", email: str = "", raw: dict[str, Any] | None = None,
                 attachments: tuple[Attachment, ...] = ()) -> int:
        self.clock.now = when
        self.n += 1
        r = await self.pipeline.ingest(InboundMessage(
            channel=channel, external_id=f"m{self.n}", thread_key=f"thread-{self.n}",
            sender=Sender(external_id=sender or f"user{self.n}", display_name=name, email=email),
            text=text, received_at=when, raw=raw, attachments=attachments))
        assert r.conversation_id is not None
        return r.conversation_id

    async def agent_does(self, when: datetime, cid: int, name: str, action: Any,
                         **kwargs: Any) -> None:
        self.clock.now = when
        agent = await self.store.read(lambda tx: tx.get_agent(name))
        assert agent is not None
        await self.desk.run(cid, action, agent, **kwargs)

    async def csat(self, when: datetime, cid: int, score: int, comment: str = "") -> None:
        await self.store.write(lambda tx: tx.insert_event(Event(
            0, "csat", when, cid, "customer", {"score": score, "comment": comment, "via": "link"})))

    async def build(self, *, raw_ref: str = "", attachment_ref: str = "") -> dict[str, int]:
        await self.store.open()
        await self.desk.sync_agents(config_agents(self.config))
        d = lambda day, h, m=0: datetime(2026, 3, day, h, m, tzinfo=UTC)  # noqa: E731
        c1 = await self.at(d(2, 9), "webchat", "faq: opening hours?")
        c2 = await self.at(d(2, 10), "email", f"sv: human please, call me on {PHONE}",
                           sender=EMAIL, name=NAME, email=EMAIL,
                           raw={"ref": raw_ref, "headers": {"From": f"{NAME} <{EMAIL}>"}},
                           attachments=(Attachment("file", "cv-ulla.pdf", "application/pdf",
                                                   10, attachment_ref),) if attachment_ref else ())
        await self.agent_does(d(2, 10, 30), c2, "ann", actions.reply,
                              text=f"Hi {NAME}, we will call {PHONE}.")
        await self.agent_does(d(2, 10, 40), c2, "ann", actions.update, add_tags=["invoice"])
        await self.agent_does(d(2, 12), c2, "ann", actions.resolve)
        await self.csat(d(2, 12, 5), c2, 5, f"Great help, regards {NAME} {PHONE}")
        c3 = await self.at(d(6, 15, 30), "email", "hello")
        self.clock.now = d(9, 7, 45)
        await self.scheduler.tick()  # the 1 h business-hours SLA ran out Mon 07:30Z
        await self.agent_does(d(9, 8), c3, "bob", actions.reply, text="Sorry for the wait")
        await self.agent_does(d(9, 9), c3, "bob", actions.resolve)
        await self.csat(d(9, 9, 10), c3, 2)
        c4 = await self.at(d(7, 11), "telegram", "human")
        await self.agent_does(d(7, 11, 20), c4, "ann", actions.reply, text="Hello!")
        c5 = await self.at(d(8, 20), "webchat", "faq again")
        c6 = await self.at(d(9, 10), "webchat", "faq later")
        self.clock.now = d(9, 12)
        return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6}


H, M = 3600.0, 60.0
EXPECTED_TOTALS = {
    "key": "all", "opened": 5, "resolved": 4, "deflected": 2, "deflection_rate": 40.0,
    "handed_off": 3, "handoff_rate": 60.0,
    # FRT from first queueing: C2 30 min, C3 64.5 h, C4 20 min
    "frt": {"count": 3, "median": 30 * M, "p90": 64.5 * H},
    # business hours: C2 30 min, C3 30 min Friday + 60 min Monday, C4 0 (Saturday)
    "frt_business": {"count": 3, "median": 30 * M, "p90": 90 * M},
    # from opening: C1 0, C2 2 h, C3 65.5 h, C5 0 -> median (0 + 2 h) / 2
    "resolution": {"count": 4, "median": 1 * H, "p90": 65.5 * H},
    "resolution_business": {"count": 4, "median": 1 * H, "p90": 2.5 * H},
    "csat_count": 2, "csat_average": 3.5,
}
_ = timedelta
