"""An agent stepping into a conversation the bot holds, and what the customer hears of it.

Claiming, replying to or transferring a bot-held conversation takes it out of the bot's
hands in the agent's unit of work: it becomes assigned (or queued, for a transfer to a
queue), and from then on the bot stays quiet on the customer's messages (assigned and
queued are `bots.engine.HUMAN_STATES`). An `agent_took_over` event says who took it,
from which status and how (`via`: claim, reply or transfer), for the history, the live
stream and reports.

The customer is told that a person joined, in the conversation's language (else the
configured default), once per takeover and per channel as suits it:

- chat channels (Telegram, Slack, loopback and any other): one short line through the
  outbox, as a system message ("Anna Berg has joined the conversation");
- web chat: no outbox line. The widget already shows "Anna Berg joined" live, in its own
  language, for every assignment (`router.web.console.signals`); a second line would repeat it;
- email: nothing separate. A mail only to say someone joined is noise in an inbox; the
  agent's reply, sent under the agent's name, is the sign that a person took over.
"""

from __future__ import annotations

import logging
from datetime import datetime

from router.domain.model import Agent, AuthorKind, Conversation, Event, ReplyContent, Status
from router.engine.agents import sla
from router.engine.agents.policy import DeskPolicy
from router.engine.agents.queue import take
from router.engine.effects import enqueue_reply
from router.store.base import Tx

log = logging.getLogger(__name__)

EVENT = "agent_took_over"
AUTHOR = "takeover"  # author_id of the "joined" line (author_kind system)

JOINED: dict[str, str] = {
    "en": "{name} has joined the conversation",
    "sv": "{name} har anslutit till samtalet",
    "fi": "{name} liittyi keskusteluun",
    "nb": "{name} har blitt med i samtalen",
    "uk": "{name} тепер у розмові",
}
_ALIASES = {"no": "nb", "nn": "nb"}
#: channels whose customers get no "joined" line through the outbox (see the module doc)
SILENT_CHANNELS = frozenset({"email", "webchat"})


def joined_language(language: str, default: str) -> str:
    """The language of the line: the conversation's, else the default, else English."""
    for code in (language, default):
        base = code.split("-", 1)[0].split("_", 1)[0].lower()
        base = _ALIASES.get(base, base)
        if base in JOINED:
            return base
    return "en"


def joined_text(name: str, language: str, default: str = "en") -> ReplyContent:
    lang = joined_language(language, default)
    return ReplyContent(text=JOINED[lang].format(name=name), language=lang)


def announces(channel: str) -> bool:
    """Whether a takeover sends the customer a "joined" line on `channel` ("email:support"
    is an email channel)."""
    return channel.split(":", 1)[0] not in SILENT_CHANNELS


def display(agent: Agent) -> str:
    return agent.display_name or agent.name


async def take_over(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                    now: datetime, *, via: str) -> None:
    """Assign the bot-held `conv` to `actor` (capacity checked, atomic like a claim),
    record it and tell the customer. ConflictError if the bot no longer holds it."""
    await take(tx, conv, actor.name, now, actor=f"agent:{actor.name}", reason="takeover",
               from_status=Status.BOT)
    conv.queue = conv.queue or policy.default_queue
    sla.start_clocks(conv, policy.sla(conv.queue), policy.calendar, now)
    await record(tx, conv, actor, now, via=via)
    await announce(tx, policy, conv, display(actor), now)


async def transferred_from_bot(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                               now: datetime, *, to_agent: str) -> None:
    """After a transfer moved a bot-held conversation to a queue or an agent: the due times
    it now runs against, the record, and (to an agent) that agent's "joined" line."""
    sla.start_clocks(conv, policy.sla(conv.queue), policy.calendar, now)
    await record(tx, conv, actor, now, via="transfer", to_agent=to_agent, to_queue=conv.queue)
    if to_agent:
        target = await tx.get_agent(to_agent)
        await announce(tx, policy, conv, display(target) if target else to_agent, now)


async def record(tx: Tx, conv: Conversation, actor: Agent, now: datetime, *, via: str,
                 **data: object) -> None:
    await tx.insert_event(Event(0, EVENT, now, conv.id, f"agent:{actor.name}", {
        "agent": actor.name, "from_status": str(Status.BOT), "via": via, **data}))


async def announce(tx: Tx, policy: DeskPolicy, conv: Conversation, name: str,
                   now: datetime) -> int | None:
    """The "joined" line on the customer's channel; its message id, or None where the
    channel gets none."""
    if not announces(conv.channel):
        return None
    return await enqueue_reply(tx, conv, joined_text(name, conv.language, policy.default_language),
                               now, author_kind=AuthorKind.SYSTEM, author_id=AUTHOR)
