"""Outbound MIME: a threaded, properly encoded reply for one `OutboundMessage`.

Replies that open new tickets on the customer's side (or new threads in their client)
come from missing In-Reply-To/References or a changed subject, so both are always set
from the message being answered. The Message-ID is derived from the outbox idempotency
key: a retry after a crash re-sends the *same* Message-ID, so the customer's client and
our own threading see one message, not two. `email.policy.SMTP` encodes non-ASCII display
names and subjects (å/ä/ö, Cyrillic) as RFC 2047 words and uses CRLF line ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from channels.email.htmltext import text_to_html
from channels.email.threads import MAX_REFERENCES, exact_message_id, message_ids, strip_subject
from router.domain.errors import ChannelError
from router.domain.model import AuthorKind, OutboundMessage

_REPLY_PREFIX = "Re: "


def outbound_message_id(idempotency_key: str, domain: str) -> str:
    """Deterministic Message-ID (without brackets) for one outbox row."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"ir.{digest}@{domain}"


def _address(display_name: str, addr: str) -> Address:
    local, _, domain = addr.partition("@")
    return Address(display_name=display_name, username=local, domain=domain)


def reply_subject(original: str, conversation_id: int | None, mark: str = "") -> str:
    """ "Re: <original subject without prefixes> [#42-<mac>]"; the tag is the fallback token
    (`mark`: `ReplyTokens.mark(conversation_id)`; the bare id when not given)."""
    base = strip_subject(original)
    subject = f"{_REPLY_PREFIX}{base}" if base else f"{_REPLY_PREFIX}your message"
    if conversation_id is None:
        return subject
    return f"{subject} [#{mark or conversation_id}]"


def plus_address(address: str, conversation_id: int | None, mark: str = "") -> str:
    """support@example.com -> support+c42-<mac>@example.com (the reply token in Reply-To)."""
    if conversation_id is None or "@" not in address:
        return address
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}+c{mark or conversation_id}@{domain}"


def _references(meta: Mapping[str, Any], parent: str) -> list[str]:
    """The parent's References plus the parent, byte for byte, unique (compared without
    case, the first spelling kept), capped at MAX_REFERENCES."""
    refs = meta.get("references") or []
    if isinstance(refs, str):
        refs = message_ids(refs, exact=True)
    ids = [exact_message_id(f"<{str(r).strip().strip('<>')}>") for r in refs if r]
    if parent:
        ids.append(parent)
    unique: dict[str, str] = {}
    for mid in ids:
        if mid:
            unique.setdefault(mid.lower(), mid)
    ids = list(unique.values())
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def split_metadata(meta: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(metadata of the answered inbound mail, explicit overrides) from outbound metadata.

    The pipeline may nest the answered message's metadata under "in_reply_to_meta", or pass
    it as-is (recognised by its "message_id"); any other "subject", "in_reply_to" and
    "references" keys are explicit overrides.
    """
    if isinstance(meta.get("in_reply_to_meta"), Mapping):
        return meta["in_reply_to_meta"], meta
    if "message_id" in meta:
        return meta, {}
    return {}, meta


def compose_reply(
    message: OutboundMessage,
    *,
    from_address: str,
    from_name: str,
    now: datetime | None = None,
    extra_references: Sequence[str] = (),
    mark: str = "",
) -> tuple[EmailMessage, str]:
    """Build the reply and return it with its Message-ID (normalised, no brackets).

    `message.metadata` may carry "subject", "in_reply_to", "references" directly, or the
    answered message's inbound metadata as "in_reply_to_meta" ({subject, message_id,
    references}). Message-IDs are written exactly as the customer's mail had them.
    `mark` is the conversation's reply token (`ReplyTokens.mark`).
    """
    parent_meta, explicit = split_metadata(message.metadata or {})
    parent = exact_message_id(
        str(explicit.get("in_reply_to") or parent_meta.get("message_id") or message.reply_to or "")
    )
    references = _references(
        {"references": explicit.get("references") or parent_meta.get("references") or []}, parent
    )
    references.extend(r for r in extra_references if r not in references)
    subject = str(explicit.get("subject") or "") or reply_subject(
        str(parent_meta.get("subject") or ""), message.conversation_id, mark
    )
    domain = from_address.partition("@")[2] or "localhost"
    mid = outbound_message_id(message.idempotency_key or f"outbox-{message.outbox_id}", domain)

    mail = EmailMessage(policy=policy.SMTP)
    name = (
        message.author_name if message.author_kind == AuthorKind.AGENT and message.author_name else from_name
    )
    mail["From"] = _address(name, from_address)
    mail["To"] = _recipient(message.recipient)
    mail["Reply-To"] = _address(from_name, plus_address(from_address, message.conversation_id, mark))
    mail["Subject"] = subject
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = f"<{mid}>"
    if parent:
        mail["In-Reply-To"] = f"<{parent}>"
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    if message.author_kind != AuthorKind.AGENT:
        # RFC 3834: automatic replies say so, and ask Exchange not to auto-answer them
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(message.text, charset="utf-8", cte="quoted-printable")
    mail.add_alternative(message.html or text_to_html(message.text), subtype="html", charset="utf-8")
    for item in (message.metadata or {}).get("attachments") or ():
        _attach(mail, item)
    return mail, mid


def _attach(mail: EmailMessage, item: Mapping[str, Any]) -> None:
    """A file an agent sent (issue 24; router/web/api/files.py): a MIME part of its own, with
    the type the service sniffed and the file's name (RFC 2231 encoded when not ASCII).
    A file gone from disk is a permanent error: a retry cannot bring it back."""
    path = str(item.get("path") or "")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ChannelError(f"attachment missing: {item.get('name') or path} "
                           f"({exc.__class__.__name__})", permanent=True) from None
    maintype, _, subtype = str(item.get("mime") or "application/octet-stream").partition("/")
    mail.add_attachment(data, maintype=maintype or "application",
                        subtype=subtype or "octet-stream",
                        filename=str(item.get("name") or "attachment"))


def _recipient(recipient: str) -> Address | str:
    if "@" not in recipient:
        return recipient
    try:
        return _address("", recipient.strip().lower())
    except Exception:
        return recipient.strip()
