"""One customer message, one reply: what rules and bots say for it, composed.

The rules of the `conversation_opened` event, the rules and bots of the `message` event
and a follow-up (a CSAT survey after a rule resolves) each decide on their own. Sent as
they come, a customer reads two bubbles that contradict each other ("we are closed" and
"we answer within an hour"), and an email customer gets two mails. The pipeline collects
every reply a message causes and sends this composition instead: replies another one
covers are left out, repeats are dropped, and the rest read as one message in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.domain.model import QuickReply, ReplyContent

PARAGRAPH = "\n\n"


@dataclass(frozen=True, slots=True)
class Part:
    """One reply as decided, with who decided it (a rule's name or a bot)."""

    reply: ReplyContent
    source: str = ""


def compose(parts: list[Part]) -> tuple[ReplyContent, str] | None:
    """The reply to send and its source (the first kept part's), or None for no parts."""
    covered = {c for p in parts for c in p.reply.covers}
    kept: list[Part] = []
    seen: set[str] = set()
    for part in parts:
        if part.reply.reply_id and part.reply.reply_id in covered:
            continue
        key = " ".join(part.reply.text.casefold().split())
        if key in seen:
            continue
        seen.add(key)
        kept.append(part)
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0].reply, kept[0].source
    replies = [p.reply for p in kept]
    quick: dict[str, QuickReply] = {}
    for r in replies:
        for q in r.quick_replies:
            quick.setdefault(q.payload, q)
    html = "<br><br>".join(r.html for r in replies) if all(r.html for r in replies) else ""
    return ReplyContent(
        PARAGRAPH.join(r.text.strip() for r in replies if r.text.strip()),
        html=html,
        quick_replies=tuple(quick.values()),
        reply_id="+".join(r.reply_id for r in replies if r.reply_id),
        language=next((r.language for r in replies if r.language), ""),
    ), kept[0].source
