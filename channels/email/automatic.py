"""Loop guards: which mail must never get an automatic answer, and how many we send.

Auto-reply loops are the classic helpdesk failure: our bot answers a vacation notice, the
vacation responder answers our bot, forever. RFC 3834 says an automatic responder must
not answer mail that is itself automatic (Auto-Submitted other than "no"), list or bulk
mail, bounces (empty Return-Path, mailer-daemon) or mail from itself; we also rate-limit
automatic replies per sender per day as the last line of defence.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from router.ports.channel_state import ChannelState

# local parts of machines, compared with separators (- _ . =) and a +tag removed, so
# no_reply@, noreply+tag@, notifications-noreply@, do.not.reply@ and no-reply2@ all match
_ROBOT_WORDS = frozenset({
    "noreply", "donotreply", "dontreply", "donotrespond", "norespond", "noresponse",
    "mailerdaemon", "maildaemon", "postmaster", "bounce", "bounces", "autoreply",
    "autoresponder", "autorespond", "autoresponse",
})  # fmt: skip
_SEPARATORS = re.compile(r"[-_.=]+")
_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply", "autoreply"})
# X-Auto-Response-Suppress values that say "this mail is itself automatic" (Exchange sets
# them on its own auto-replies and on mail from systems); DR/RN/NRN only ask for no receipts
_SUPPRESS = frozenset({"all", "oof", "autoreply"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|autosvar|"
    r"automatiskt svar|frånvaro|automaattinen vastaus|poissa toimistolta|automatisk svar|"
    r"fraværende|ikke til stede|abwesenheitsnotiz|automatische antwort|"
    r"автоматична відповідь|автоматический ответ|undeliverable|undelivered mail|"
    r"delivery status notification|mail delivery (?:failed|failure|subsystem)|"
    r"returned mail|kan inte levereras|ei voitu toimittaa|unzustellbar)\b",
    re.IGNORECASE,
)

HeaderGetter = Callable[[str], str]


def robot_word(address: str) -> str:
    """The machine word in an address's local part ("noreply"...), "" for a person's."""
    local = address.split("@", 1)[0].lower().split("+", 1)[0] if address else ""
    parts = [p for p in _SEPARATORS.split(local) if p]
    for start in range(len(parts)):
        joined = ""
        for part in parts[start : start + 4]:
            joined += part
            if joined.rstrip("0123456789") in _ROBOT_WORDS:
                return joined.rstrip("0123456789")
    return ""


def automatic_reasons(
    header: HeaderGetter,
    *,
    sender: str,
    content_type: str,
    own_addresses: Iterable[str] = (),
    answer_to: str = "",
) -> tuple[str, ...]:
    """Why this mail must not be answered automatically (empty tuple: it may be).

    :param header: returns a header's (decoded) value or "" when absent
    :param sender: the From address, lower case
    :param content_type: the top-level content type, lower case
    :param own_addresses: our addresses, lower case
    :param answer_to: where a reply would go when that is not `sender` (a Reply-To we
        use): a web form's `From: noreply@site` with `Reply-To: kalle@kund` is answered
    """
    reasons: list[str] = []
    auto = header("Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        reasons.append(f"auto-submitted:{auto.split(';')[0].strip()}")
    precedence = header("Precedence").split(";", 1)[0].strip().strip('"').lower()
    if precedence in _PRECEDENCE:
        reasons.append(f"precedence:{precedence}")
    if header("List-Id").strip():
        reasons.append("list-id")
    if header("List-Unsubscribe").strip():
        reasons.append("list-unsubscribe")
    if header("Feedback-ID").strip():
        reasons.append("feedback-id")
    return_path = header("Return-Path").strip()
    if return_path and not return_path.strip("<> \t"):
        reasons.append("empty-return-path")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if header(name).strip():
            reasons.append(name.lower())
    suppress = {w for w in re.split(r"[\s,;]+", header("X-Auto-Response-Suppress").lower()) if w}
    if suppress & _SUPPRESS:
        reasons.append("x-auto-response-suppress")
    if header("X-Failed-Recipients").strip() or content_type == "multipart/report":
        reasons.append("delivery-report")
    answered = answer_to or sender
    if robot_word(answered):
        reasons.append(f"robot-sender:{answered.split('@', 1)[0].lower()}")
    own = {a.lower() for a in own_addresses}
    if (sender and sender.lower() in own) or (answer_to and answer_to.lower() in own):
        reasons.append("own-address")
    if _AUTO_SUBJECT.match(header("Subject")):
        reasons.append("auto-subject")
    return tuple(reasons)


class AutoReplyLimiter:
    """At most `limit` automatic replies per recipient per UTC day, in the channel's state.

    Kept in the channel's state, so a restart does not reset the budget and instances
    sharing a database share it. Each reply takes one of the day's `limit` slots of the
    recipient by `claim` (atomic, so two instances never take the same slot);
    `try_acquire` is called just before an automatic reply is sent and `release` gives
    the slot back when the send then fails, so failed attempts do not use up the budget.
    A slot is tied to the reply's conversation (erased with the contact); its key holds a
    hash of the address, not the address.
    """

    def __init__(self, state: ChannelState, limit: int) -> None:
        self.state = state
        self.limit = limit
        self._swept = ""  # the day old slots were last removed by this instance

    @staticmethod
    def _day(now: datetime | None) -> str:
        return (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()

    def today(self) -> str:
        return self._day(None)

    @staticmethod
    def _prefix(address: str, day: str) -> str:
        digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]
        return f"autoreply:{day}:{digest}:"

    async def count(self, address: str, now: datetime | None = None) -> int:
        return len(await self.state.scan(self._prefix(address, self._day(now))))

    async def try_acquire(self, address: str, *, conversation_id: int | None = None,
                          now: datetime | None = None, day: str = "") -> str | None:
        """Take one of today's slots for `address`: its key, or None when all are taken."""
        day = day or self._day(now)
        prefix, owner = self._prefix(address, day), uuid.uuid4().hex
        for slot in range(self.limit):
            key = f"{prefix}{slot:04d}"
            if await self.state.claim(key, owner, _SLOT_TTL):
                await self.state.put(key, day, conversation_id=conversation_id)
                await self._sweep(day)
                return key
        return None

    async def release(self, slot: str) -> None:
        await self.state.delete(slot)

    async def _sweep(self, day: str) -> None:
        """Forget slots of days more than a week old (once a day per instance)."""
        if self._swept == day:
            return
        self._swept = day
        oldest = (date.fromisoformat(day) - timedelta(days=7)).isoformat()
        for key, taken in (await self.state.scan("autoreply:")).items():
            if str(taken) < oldest:
                await self.state.delete(key)


_SLOT_TTL = timedelta(days=2)  # past its day; the day is in the key, so never taken again
