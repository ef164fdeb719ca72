"""Thread keys: how a reply finds its conversation.

A reply joins its conversation by, in order of strength: (1) References/In-Reply-To
Message-IDs (ours and the customer's, since the pipeline registers both), (2) a reply
token we planted, either the plus-address `support+c42@...` in our Reply-To or a `[#42]`
subject tag (survives clients that drop References, e.g. some mobile apps and webmail),
(3) the normalised subject plus the sender (clients that drop everything). Keys come out
strongest first; the pipeline should take the first alias that matches, and apply its
time window to the weak `subject:` keys only (see `is_weak_key`).

Forwarded mail ("Fwd:", "VB:", "WG:" ... or a forwarded-message body) starts a new
conversation: it usually comes from someone new, and pointing at an old thread would leak
that thread's history to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_MSGID = re.compile(r"<([^<>\s]{1,500})>")
# reply and forward prefixes of the clients our customers use, any number, in any mix
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|fw|sv|vs|vl|vb|aw|wg|antw|tr|rv|rif|ynt|odp|res|enc|"
    r"відп|відповідь|пересл|переслати|ответ|отв|otv)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*"
    r"|\[#\d+\]\s*)+",
    re.IGNORECASE,
)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|fw|vb|vl|wg|tr|rv|enc|пересл|переслати)\s*[:：]", re.IGNORECASE)
_TAG = re.compile(r"\[#(\d{1,12})\]")
_PLUS_TOKEN = re.compile(r"^([^@+]+)\+c(\d{1,12})@(.+)$", re.IGNORECASE)
MAX_REFERENCES = 50

TOKEN_PREFIX = "token:"
SUBJECT_PREFIX = "subject:"


def normalise_message_id(value: str) -> str:
    """`<AbC@Host>` -> `abc@host`; the first id if several; "" if there is none."""
    found = _MSGID.findall(value or "")
    if found:
        return found[0].strip().lower()
    bare = (value or "").strip().strip("<>").strip()
    return bare.lower() if bare and " " not in bare else ""


def message_ids(value: str) -> list[str]:
    """All Message-IDs in a References/In-Reply-To value, normalised, in order, unique."""
    seen: dict[str, None] = {}
    for mid in _MSGID.findall(value or ""):
        seen.setdefault(mid.strip().lower(), None)
    if not seen and value and value.strip() and " " not in value.strip():
        seen[value.strip().strip("<>").lower()] = None  # a bare id without brackets
    ids = list(seen)
    if len(ids) > MAX_REFERENCES:  # keep the root and the most recent ones
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def strip_subject(subject: str) -> str:
    """Subject without Re:/SV:/VS:/AW:/Відп:... prefixes and ticket tags, casing kept."""
    text = _PREFIX.sub("", subject or "")
    text = _TAG.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def normalise_subject(subject: str) -> str:
    """The subject as a thread key: `strip_subject`, lower case."""
    return strip_subject(subject).lower()


def is_forward(subject: str, body: str = "") -> bool:
    """A forwarded message: forward prefix in the subject or a forward marker up top."""
    if _FORWARD_PREFIX.match(subject or ""):
        return True
    head = (body or "")[:600].lower()
    return "---------- forwarded message" in head or "begin forwarded message" in head


def reply_tokens(subject: str, recipients: Iterable[str], own_bases: Iterable[str] = ()) -> list[str]:
    """`token:c42` keys from a `[#42]` subject tag or a `support+c42@` recipient.

    :param own_bases: our addresses; a plus-token counts only on one of them (when given)
    """
    tokens: dict[str, None] = {}
    bases = {b.lower() for b in own_bases}
    for addr in recipients:
        m = _PLUS_TOKEN.match(addr.strip().lower())
        if m and (not bases or f"{m.group(1)}@{m.group(3)}" in bases):
            tokens.setdefault(f"{TOKEN_PREFIX}c{int(m.group(2))}", None)
    for num in _TAG.findall(subject or ""):
        tokens.setdefault(f"{TOKEN_PREFIX}c{int(num)}", None)
    return list(tokens)


def subject_key(subject: str, sender: str) -> str:
    norm = normalise_subject(subject)
    return f"{SUBJECT_PREFIX}{norm}|{sender.lower()}" if norm and sender else ""


def is_weak_key(key: str) -> bool:
    """Subject keys match only within the pipeline's window; the others always match."""
    return key.startswith(SUBJECT_PREFIX)


@dataclass(frozen=True, slots=True)
class ThreadKeys:
    thread_key: str
    aliases: tuple[str, ...]
    forwarded: bool = False


def thread_keys(
    *,
    message_id: str,
    references: Sequence[str],
    in_reply_to: Sequence[str],
    subject: str,
    sender: str,
    recipients: Iterable[str],
    own_addresses: Iterable[str] = (),
    body: str = "",
) -> ThreadKeys:
    """The thread's root key and every other key (strongest first) for one message."""
    own = list(own_addresses)
    if is_forward(subject, body):
        # new conversation; only its own id, so replies to it thread correctly
        key = subject_key(subject, sender)
        return ThreadKeys(message_id, (key,) if key else (), forwarded=True)
    refs = [*references, *(i for i in in_reply_to if i not in references)]
    root = refs[0] if refs else message_id
    ordered: dict[str, None] = {}
    for key in (*reversed(refs), message_id):  # most recent reference first
        if key and key != root:
            ordered.setdefault(key, None)
    for key in reply_tokens(subject, recipients, own):
        ordered.setdefault(key, None)
    skey = subject_key(subject, sender)
    if skey:
        ordered.setdefault(skey, None)
    return ThreadKeys(root, tuple(ordered))
