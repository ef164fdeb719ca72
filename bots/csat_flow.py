"""CSAT in the decision stage: the survey on resolve, and a rating by button press.

Ratings by link arrive over HTTP instead (bots/csat_http.py); both paths store the same
`csat` event and mark the survey answered on the conversation, so whichever comes first
counts and the other is refused as a replay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots import state as keys
from bots.csat import SCORES, InvalidToken, rating
from bots.state import stamp
from router.domain.model import QuickReply, Status

if TYPE_CHECKING:
    from bots.engine import Turn
    from bots.stage import Bots

NO_SURVEY_CHANNELS = frozenset({"webhook"})


def survey_links(public_url: str, token: str) -> str:
    base = public_url.rstrip("/")
    return "\n".join(f"{n}: {base}/csat/{token}?score={n}" for n in SCORES)


def send_survey(bots: Bots, turn: Turn) -> None:
    """One 1-5 survey per conversation, shaped for the channel (buttons or signed links)."""
    c, ctx = bots.settings.csat, turn.ctx
    conv = ctx.conversation
    if not c.enabled or turn.state.csat or turn.state.loop or conv.channel in NO_SURVEY_CHANNELS:
        return
    if conv.status != Status.RESOLVED:
        return
    expires = ctx.now + c.expires
    signer = bots.signer
    if conv.channel == "email":
        if not bots.public_url:
            turn.note("csat", skipped="email needs service.public_url for rating links")
            return
        links = survey_links(bots.public_url, signer.link_token(conv.id, expires))
        reply = bots.replies.render(c.email_reply, turn.language, ctx, {"links": links})
    else:
        buttons = tuple(QuickReply(str(n), signer.payload(conv.id, n, expires)) for n in SCORES)
        reply = bots.replies.render(c.reply, turn.language, ctx, quick_replies=buttons)
    turn.reply(reply, "csat")
    turn.meta[keys.CSAT] = {"sent_at": stamp(ctx.now), "expires": stamp(expires)}
    turn.note("csat", sent=True, expires=stamp(expires))


def record_press(bots: Bots, turn: Turn) -> None:
    """A rating button: verify, store once, thank; re-close what the press reopened."""
    ctx, survey = turn.ctx, dict(turn.state.csat)
    turn.drop_rule_replies = True  # a button press is not a question for the rules
    try:
        if not bots.settings.csat.enabled:
            raise InvalidToken("disabled")
        score = bots.signer.verify_payload(ctx.message.callback_data,
                                           conversation_id=ctx.conversation.id,
                                           expires=turn.state.csat_expires, now=ctx.now)
        if survey.get("rated"):
            raise InvalidToken("replayed")
    except InvalidToken as exc:
        turn.note("csat", refused=exc.reason)
        turn.add("record", {"kind": "csat_refused", "reason": exc.reason, "via": "button"}, "csat")
    else:
        event, turn.meta[keys.CSAT] = rating(survey, score, ctx.now, "button")
        turn.add("record", {"kind": "csat", **event}, "csat")
        turn.reply(bots.replies.render(bots.settings.csat.thanks, turn.language, ctx), "csat")
        turn.note("csat", score=score)
    if survey and ctx.conversation.status in (Status.QUEUED, Status.BOT):
        # The press arrived as an inbound message, which reopened the resolved conversation;
        # a rating is not a new question, so it goes back to resolved.
        turn.add("resolve", None, "csat")
