"""Thread keys: how a reply finds its conversation, and why a stranger cannot steer it.

A reply joins its conversation by, in order of strength: (1) References/In-Reply-To
Message-IDs (ours and the customer's, since the pipeline registers both), (2) a reply
token we planted, either the plus-address `support+c42-<mac>@...` in our Reply-To or a
`[#42-<mac>]` subject tag (survives clients that drop References, e.g. some mobile apps
and webmail), (3) the normalised subject plus the sender (clients that drop everything).
The pipeline tries them in that order and applies its time window to the weak `subject:`
keys only (see `is_weak_key`).

A token proves itself. `<mac>` is an HMAC of the conversation id under a per-installation
secret (`ReplyTokens`): a valid one becomes the key `pin:token:c42`, which our outgoing
replies register for conversation 42 only. A token without a valid mac (a plain `[#42]`
of older versions, a guessed number, another installation's token) counts only for a
participant: it becomes `pin:token:c42|<sender>`, registered when we mailed that address
in conversation 42. Both are pinned keys (`router.domain.model.PINNED_KEY_PREFIX`): the pipeline
looks them up but never adds them to the conversation a mail lands in, so a token is
never re-pointed; a stranger quoting "[#18]" opens a conversation of their own.

Message-IDs are compared case-insensitively as keys (`normalise_message_id`), and kept
byte for byte (`exact_message_id`) for the In-Reply-To/References we write.

Forwarded mail ("Fwd:", "VB:", "WG:" ... or a forwarded-message body) starts a new
conversation: it usually comes from someone new, and pointing at an old thread would leak
that thread's history to them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from router.domain.model import PINNED_KEY_PREFIX

_MSGID = re.compile(r"<([^<>\s]{1,500})>")
# reply and forward prefixes of the clients our customers use, any number, in any mix
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|fw|sv|vs|vl|vb|aw|wg|antw|tr|rv|rif|ynt|odp|res|enc|"
    r"відп|відповідь|пересл|переслати|ответ|отв|otv)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*"
    r"|\[#\d+(?:-[a-z0-9]{1,32})?\]\s*)+",
    re.IGNORECASE,
)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|fw|vb|vl|wg|tr|rv|enc|пересл|переслати)\s*[:：]", re.IGNORECASE)
_TAG = re.compile(r"\[#(\d{1,12})(?:-([a-z0-9]{1,32}))?\]", re.IGNORECASE)
_PLUS_TOKEN = re.compile(r"^([^@+]+)\+c(\d{1,12})(?:-([a-z0-9]{1,32}))?@(.+)$", re.IGNORECASE)
MAX_REFERENCES = 50
MAC_CHARS = 10  # base32: 50 bits, one guess in 10^15

TOKEN_PREFIX = f"{PINNED_KEY_PREFIX}token:"
SUBJECT_PREFIX = "subject:"


def exact_message_id(value: str) -> str:
    """`<AbC@Host>` -> `AbC@Host`: the first id, byte for byte; "" if there is none."""
    found = _MSGID.findall(value or "")
    if found:
        return found[0].strip()
    bare = (value or "").strip().strip("<>").strip()
    return bare if bare and " " not in bare else ""


def normalise_message_id(value: str) -> str:
    """`<AbC@Host>` -> `abc@host`: the first id as a thread and dedupe key; "" if none."""
    return exact_message_id(value).lower()


def message_ids(value: str, *, exact: bool = False) -> list[str]:
    """All Message-IDs in a References/In-Reply-To value, in order, unique (compared
    case-insensitively); lower case as keys, or byte for byte with `exact`."""
    seen: dict[str, str] = {}
    for mid in _MSGID.findall(value or ""):
        seen.setdefault(mid.strip().lower(), mid.strip())
    if not seen and value and value.strip() and " " not in value.strip():
        bare = value.strip().strip("<>")  # a bare id without brackets
        seen[bare.lower()] = bare
    ids = list(seen.values() if exact else seen)
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


class ReplyTokens:
    """Signs and checks reply tokens with a per-installation secret (`EMAIL_SECRET`, else
    `<data_dir>/email.secret`; see router.configuration.local_secret). `secret` is called when a token
    is first signed or checked; None: tokens are plain and none is valid (a dry run)."""

    def __init__(self, secret: Callable[[], str] | str | None) -> None:
        self._secret = secret
        self._key: bytes | None = None

    def _mac(self, conversation_id: int) -> str:
        if self._key is None:
            secret = self._secret() if callable(self._secret) else self._secret
            self._key = (secret or "").encode("utf-8")
        digest = hmac.new(self._key, f"inquiry-router/email-thread/{conversation_id}".encode(),
                          hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii")[:MAC_CHARS].lower()

    def mark(self, conversation_id: int) -> str:
        """`42-<mac>`: what follows `[#` in our subjects and `+c` in our Reply-To."""
        if self._secret is None:
            return str(conversation_id)
        return f"{conversation_id}-{self._mac(conversation_id)}"

    def valid(self, conversation_id: int, mac: str) -> bool:
        if self._secret is None or len(mac) != MAC_CHARS:
            return False
        return hmac.compare_digest(self._mac(conversation_id), mac.lower())


def token_key(conversation_id: int) -> str:
    """The key a valid token of the conversation looks up (registered by our replies)."""
    return f"{TOKEN_PREFIX}c{conversation_id}"


def participant_key(conversation_id: int, address: str) -> str:
    """The key a plain token looks up: the conversation's token in `address`'s hands
    (registered when we mail that address in the conversation)."""
    return f"{TOKEN_PREFIX}c{conversation_id}|{address.strip().lower()}"


def found_tokens(subject: str, recipients: Iterable[str],
                 own_bases: Iterable[str] = ()) -> list[tuple[int, str]]:
    """(conversation id, mac or "") of each `[#42-mac]` subject tag and `support+c42-mac@`
    recipient; a plus-token counts only on one of our addresses (when `own_bases` given)."""
    found: dict[tuple[int, str], None] = {}
    bases = {b.lower() for b in own_bases}
    for addr in recipients:
        m = _PLUS_TOKEN.match(addr.strip().lower())
        if m and (not bases or f"{m.group(1)}@{m.group(4)}" in bases):
            found.setdefault((int(m.group(2)), (m.group(3) or "").lower()), None)
    for num, mac in _TAG.findall(subject or ""):
        found.setdefault((int(num), mac.lower()), None)
    return list(found)


def reply_tokens(subject: str, recipients: Iterable[str], own_bases: Iterable[str] = (), *,
                 sender: str = "", tokens: ReplyTokens | None = None) -> list[str]:
    """The pinned keys of the reply tokens in a mail: `pin:token:c42` for a valid token,
    `pin:token:c42|<sender>` for any other (it counts only from a participant)."""
    keys: dict[str, None] = {}
    for conversation_id, mac in found_tokens(subject, recipients, own_bases):
        if mac and tokens is not None and tokens.valid(conversation_id, mac):
            keys.setdefault(token_key(conversation_id), None)
        elif sender:
            keys.setdefault(participant_key(conversation_id, sender), None)
    return list(keys)


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
    tokens: ReplyTokens | None = None,
) -> ThreadKeys:
    """The thread's root key and every other key (strongest first) for one message.

    Message-IDs may come exact: keys are their lower-case forms. `sender` is the address
    replies go to (tokens and the subject key are bound to it)."""
    own = list(own_addresses)
    message_id = message_id.lower()
    references = [r.lower() for r in references]
    in_reply_to = [i.lower() for i in in_reply_to]
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
    for key in reply_tokens(subject, recipients, own, sender=sender, tokens=tokens):
        ordered.setdefault(key, None)
    skey = subject_key(subject, sender)
    if skey:
        ordered.setdefault(skey, None)
    return ThreadKeys(root, tuple(ordered))
