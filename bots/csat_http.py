"""`GET/POST /csat/<token>`: rating links for channels without buttons (email).

GET with `?score=N` records the rating (one click in the mail is the whole survey) and
shows a page with an optional comment form; POST records a rating with a comment, or
adds the comment to the rating just given by the link. Forged, expired and replayed links
get a clear page and status (403, 410, 409); nothing is recorded for them.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from bots import state as keys
from bots.csat import SCORES, CsatSigner, InvalidToken, rating
from router.configuration.local_secret import load_secret
from router.domain.errors import ConfigError, Problem
from router.domain.timestamps import utcnow
from router.ports.csat_recorder import CsatRecorder, Decide, SurveyAnswer

log = logging.getLogger(__name__)

STATUS = {"malformed": 400, "forged": 403, "expired": 410, "replayed": 409, "unknown": 404}
MESSAGES = {
    "malformed": "This rating link is not valid.",
    "forged": "This rating link is not valid.",
    "expired": "This rating link has expired. Thank you anyway!",
    "replayed": "This conversation has already been rated. Thank you!",
    "unknown": "We could not find this conversation.",
    "score": "Please choose a rating from 1 to 5.",
}
MAX_COMMENT = 2000


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<meta name='viewport' content='width=device-width'></head>"
           f"<body style='font-family:sans-serif;max-width:32em;margin:3em auto'>"
           f"<h1>{html.escape(title)}</h1>{body}</body></html>")
    return web.Response(text=doc, status=status, content_type="text/html")


def _refused(reason: str) -> web.Response:
    return _page("Rating", f"<p>{html.escape(MESSAGES[reason])}</p>", STATUS.get(reason, 400))


def _score(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and int(text) in SCORES else None


def _answer(score: int | None, comment: str, now: datetime) -> Decide:
    """What a link's answer does to the survey record: a rating, a comment on the rating
    just given by the link, or a refusal reason ("replayed", "score")."""
    def decide(survey: dict[str, Any]) -> SurveyAnswer | str:
        if survey.get("rated"):
            if comment and score is None and not survey.get("commented") \
                    and survey.get("via") == "link":
                return SurveyAnswer({**survey, "commented": True}, "csat_comment",
                                    {"score": survey["rated"], "comment": comment})
            return "replayed"
        if score is None:
            return "score"
        event, record = rating(survey, score, now, "link", comment)
        return SurveyAnswer(record, "csat", event)

    return decide


async def record_answer(recorder: CsatRecorder, conversation_id: int, score: int | None,
                        comment: str, now: datetime) -> str:
    """Record the answer given by a verified link: '' once recorded, else why not."""
    return await recorder.answer(conversation_id, keys.CSAT, _answer(score, comment, now), now)


def csat_routes(recorder: CsatRecorder, secret: str, *,
                clock: Callable[[], datetime] = utcnow) -> Sequence[web.RouteDef]:
    signer = CsatSigner(secret)

    async def handle(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            link = signer.verify_link(token, clock())
        except InvalidToken as exc:
            log.warning("csat: refused link (%s)", exc.reason)
            return _refused(exc.reason)
        if request.method == "POST":
            form = await request.post()
            score, comment = _score(form.get("score")), str(form.get("comment") or "")[:MAX_COMMENT]
        else:
            score, comment = _score(request.query.get("score")), ""
        now = clock()
        reason = await record_answer(recorder, link.conversation_id, score, comment.strip(), now)
        if reason:
            return _refused(reason)
        if request.method == "POST":
            return _page("Thank you!", "<p>Thank you for your feedback.</p>")
        form_html = (f"<p>You rated us {score} of 5. Thank you!</p>"
                     f"<form method='post'><input type='hidden' name='score' value=''>"
                     "<p><label>Anything to add? (optional)<br>"
                     f"<textarea name='comment' rows='4' cols='40' maxlength='{MAX_COMMENT}'>"
                     "</textarea></label></p><button type='submit'>Send</button></form>")
        return _page("Thank you!", form_html)

    return [web.get("/csat/{token}", handle), web.post("/csat/{token}", handle)]


def csat_secret(config: Any) -> str:
    """The key surveys are signed with: `bots.csat.secret` when the admin set one, else
    `CSAT_SECRET`, else `<data_dir>/csat.secret` (made here once, mode 0600).

    Raises ConfigError (naming the variable, never its value) for a too short CSAT_SECRET.
    """
    raw = (config.source.data.get("bots") or {}).get("csat") or {}
    if raw.get("secret"):
        return str(raw["secret"])
    try:
        return load_secret(config.data_path(), "csat")
    except ValueError as exc:
        raise ConfigError([Problem("environment", 0, 0, str(exc),
                                   "export a longer CSAT_SECRET, or unset it and a key is kept "
                                   "in data/csat.secret")]) from None


def routes_for(config: Any, recorder: CsatRecorder) -> Sequence[web.RouteDef]:
    """The CSAT routes unless `bots.csat.enabled` is false in `config`; answers are kept
    through `recorder` (the composition root's, on the store).

    Called when the service starts: a fresh install makes its key here, so the key file
    exists before the first survey is signed.
    """
    raw = (config.source.data.get("bots") or {}).get("csat") or {}
    if "enabled" in raw and not raw["enabled"]:
        return []
    secret = csat_secret(config)
    if not config.settings.service.public_url and "email" in config.channels:
        log.warning("csat: email surveys need service.public_url for their rating links; "
                    "email conversations get no survey until it is set")
    return csat_routes(recorder, secret)
