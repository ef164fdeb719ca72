"""Raw RFC 5322 bytes -> `ParsedEmail` -> `InboundMessage`. Pure: no I/O.

Built on the standard library's `email` package with `policy.default`. Real mail is often
broken (wrong charset labels, bad base64, missing boundaries, malformed addresses), so
every step degrades to a best-effort value and records a defect instead of raising: a
message we cannot fully understand is still imported (the raw bytes are kept by the
adapter) rather than lost or retried forever.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

from channels.email.automatic import automatic_reasons
from channels.email.htmltext import html_to_text
from channels.email.quotes import split_reply
from channels.email.threads import ThreadKeys, message_ids, normalise_message_id, thread_keys
from router.model import Attachment, InboundMessage, Sender

log = logging.getLogger(__name__)

CHANNEL = "email"
MAX_TEXT_CHARS = 200_000  # the body text kept on the message; the raw mail has the rest
MAX_RAW_TEXT_CHARS = 50_000  # the whole body (with quotes) kept on the stored message
MAX_PARTS = 5_000  # stop walking absurd MIME trees
# Big attachments: the feed parser holds every line of a part as a str (about 8x the raw
# size in peak memory). Above SHRINK_OVER bytes, long base64 runs are cut to their first
# KEEP_B64 bytes before parsing, with a marker that records how much was cut (for the
# attachment size). The stored raw message is untouched; only our view of it shrinks.
SHRINK_OVER = 4 * 1024 * 1024
KEEP_B64 = 256 * 1024
_B64_RUN = re.compile(rb"(?:[A-Za-z0-9+/=]{40,998}\r?\n){1000,}")
_CUT_MARK = re.compile(r"!ir-cut-bytes=(\d+)!")
# labels that real mail uses for something else (browsers do the same)
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
}
KEPT_HEADERS = (
    "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Auto-Submitted", "Precedence", "List-Id", "Return-Path",
    "Content-Type", "X-Mailer", "User-Agent",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """What the service takes from one raw message."""

    message_id: str  # normalised; synthesised from a hash when the mail has none
    subject: str
    sender: str  # the From address, lower case
    sender_name: str
    recipients: tuple[str, ...]  # To + Cc + Delivered-To + X-Original-To, lower case
    date: datetime | None
    references: tuple[str, ...]
    in_reply_to: tuple[str, ...]
    text: str  # the whole body as text (HTML converted), capped
    visible_text: str
    quoted_text: str
    signature: str
    html_only: bool
    attachments: tuple[Attachment, ...]
    attachments_omitted: int
    automatic: tuple[str, ...]  # reasons; empty when a human wrote it
    threading: ThreadKeys
    headers: Mapping[str, str]
    defects: tuple[str, ...]
    size: int
    synthetic_id: bool = False
    truncated: bool = False  # only the headers were parsed (over max_message_bytes)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_automatic(self) -> bool:
        return bool(self.automatic)


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset -> str, never raising (utf-8, then cp1252 fallbacks)."""
    label = (charset or "").strip().strip('"').lower()
    codec = _CHARSET_ALIASES.get(label, label)
    for candidate in (codec, "utf-8"):
        if not candidate or candidate in ("unknown-8bit", "x-unknown", "8bit", "default"):
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _header(msg: Message, name: str) -> str:
    """A header's decoded value; "" when absent; best effort when malformed."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                return _decode_raw_header(str(raw))
        return ""


def _decode_raw_header(raw: str) -> str:
    try:
        return str(make_header(decode_header(raw)))
    except Exception:
        return raw


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    values = [_header(msg, n) for n in names]
    try:
        pairs = getaddresses([v for v in values if v])
    except Exception:
        pairs = [parseaddr(v) for v in values if v]
    return [(name.strip(), addr.strip().lower()) for name, addr in pairs if "@" in addr]


def _date(msg: Message) -> datetime | None:
    raw = _header(msg, "Date")
    try:
        value = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError):
        return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
    except Exception:
        return True
    return disposition == "attachment" or bool(filename)


def _shrink(raw: bytes) -> bytes:
    """Cut long base64 runs (attachments) of a big message; see SHRINK_OVER."""
    if len(raw) < SHRINK_OVER:
        return raw
    out: list[bytes] = []
    pos = 0
    for m in _B64_RUN.finditer(raw):
        start, end = m.span()
        if end - start <= 2 * KEEP_B64:
            continue
        cut = raw.rfind(b"\n", start, start + KEEP_B64) + 1
        out.append(raw[pos:cut])
        out.append(b"!ir-cut-bytes=%d!\r\n" % (end - cut))
        pos = end
    if not out:
        return raw
    out.append(raw[pos:])
    return b"".join(out)


def _decoded_payload(part: Message) -> bytes:
    raw = part.get_payload()
    if isinstance(raw, str) and "!ir-cut-bytes=" in raw[-100:]:
        try:
            return base64.b64decode(_CUT_MARK.sub("", raw).encode("ascii", "ignore"), validate=False)
        except (binascii.Error, ValueError):
            return b""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _encoded_size(part: Message) -> int:
    """Decoded size estimated from the encoded payload, without decoding attachments."""
    raw = part.get_payload()
    if not isinstance(raw, str):
        return 0
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    cut = _CUT_MARK.search(raw[-100:])
    if cut:  # the part was shortened by _shrink: count what was cut (76 of 78 bytes are data)
        raw = _CUT_MARK.sub("", raw)
        return (len(raw.replace("\n", "").replace("\r", "")) + int(cut.group(1)) * 76 // 78) * 3 // 4
    if cte == "base64":
        return len(raw.replace("\n", "").replace("\r", "")) * 3 // 4
    return len(raw)


@dataclass(slots=True)
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    omitted: int = 0
    parts: int = 0
    defects: list[str] = field(default_factory=list)


def _walk(part: Message, acc: _Walk, path: str, max_attachments: int, raw_ref: str) -> None:
    """Collect body text and attachment metadata; bounded in parts, never raising."""
    acc.parts += 1
    if acc.parts > MAX_PARTS:
        if acc.parts == MAX_PARTS + 1:
            acc.defects.append(f"more than {MAX_PARTS} MIME parts; the rest is ignored")
        return
    ctype = part.get_content_type()
    if part.is_multipart() and ctype != "message/rfc822":
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if ctype == "multipart/alternative":
            texts = [c for c in children if c.get_content_type() == "text/plain"]
            chosen = texts[:1] or children[-1:]
            rest = [c for c in children if c not in chosen and not c.get_content_type().startswith("text/")]
            for child in chosen + rest:
                _walk(child, acc, f"{path}.{children.index(child) + 1}", max_attachments, raw_ref)
            return
        for index, child in enumerate(children, start=1):
            _walk(child, acc, f"{path}.{index}" if path else str(index), max_attachments, raw_ref)
        return
    if ctype in ("text/plain", "text/html") and not _is_attachment(part):
        charset = part.get_param("charset") if isinstance(part.get_param("charset"), str) else None
        text = decode_text(_decoded_payload(part), charset)
        (acc.plain if ctype == "text/plain" else acc.html).append(text[: MAX_TEXT_CHARS * 2])
        return
    _add_attachment(part, acc, path or "1", max_attachments, raw_ref)


def _add_attachment(part: Message, acc: _Walk, path: str, limit: int, raw_ref: str) -> None:
    if len(acc.attachments) >= limit:
        acc.omitted += 1
        return
    ctype = part.get_content_type()
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if ctype == "message/rfc822":
        kind = "message"
        inner = part.get_payload()
        if isinstance(inner, list) and inner and not name:
            name = f"{_header(inner[0], 'Subject') or 'message'}.eml"
        size = len(inner[0].as_bytes()) if isinstance(inner, list) and inner else 0
    else:
        kind = "image" if ctype.startswith("image/") else "file"
        size = _encoded_size(part)
    ref = f"{raw_ref}#{path}" if raw_ref else f"#{path}"
    acc.attachments.append(Attachment(kind=kind, name=name[:255], mime=ctype, size=size, ref=ref))


def parse_email(
    raw: bytes,
    *,
    own_addresses: Iterable[str] = (),
    max_attachments: int = 100,
    raw_ref: str = "",
    headers_only: bool = False,
) -> ParsedEmail:
    """Parse one raw message. Never raises on malformed input.

    :param own_addresses: our addresses (loop guard, reply-token check), lower case
    :param raw_ref: where the adapter stored the raw bytes; attachment refs point into it
    :param headers_only: the body was not fetched (message over the size limit)
    """
    own = [a.lower() for a in own_addresses]
    defects: list[str] = []
    try:
        view = raw if headers_only else _shrink(raw)
        msg: Message = BytesParser(policy=policy.default).parsebytes(view, headersonly=headers_only)
        del view
    except Exception as exc:  # pragma: no cover - the feed parser is very tolerant
        defects.append(f"unparseable: {exc!r}")
        msg = EmailMessage()
    acc = _Walk()
    if not headers_only:
        try:
            _walk(msg, acc, "", max_attachments, raw_ref)
        except RecursionError:
            defects.append("MIME tree nested too deeply; body partly read")
        except Exception as exc:
            defects.append(f"body unreadable: {exc!r}")
    defects.extend(str(type(d).__name__) for d in getattr(msg, "defects", [])[:20])
    return _assemble(msg, raw, acc, own, defects, headers_only)


def _assemble(
    msg: Message, raw: bytes, acc: _Walk, own: list[str], defects: list[str], headers_only: bool
) -> ParsedEmail:
    html_only = not acc.plain and bool(acc.html)
    text = "\n\n".join(t.strip("\n") for t in acc.plain) if acc.plain else ""
    if html_only:
        text = "\n\n".join(html_to_text(h) for h in acc.html)
    text = text.replace("\r\n", "\n")[:MAX_TEXT_CHARS]
    split = split_reply(text)
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    sender_name, sender = senders[0] if senders else ("", "")
    recipients = tuple(
        dict.fromkeys(a for _, a in _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To"))
    )
    subject = " ".join(_header(msg, "Subject").split())
    mid = normalise_message_id(_header(msg, "Message-ID"))
    synthetic = not mid
    if synthetic:  # stable across re-fetches, so dedupe still works
        mid = f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid"
    references = tuple(message_ids(_header(msg, "References")))
    in_reply_to = tuple(message_ids(_header(msg, "In-Reply-To")))
    keys = thread_keys(
        message_id=mid, references=references, in_reply_to=in_reply_to, subject=subject,
        sender=sender, recipients=recipients, own_addresses=own, body=text,
    )  # fmt: skip
    reasons = automatic_reasons(
        lambda name: _header(msg, name), sender=sender,
        content_type=msg.get_content_type(), own_addresses=own,
    )  # fmt: skip
    headers = {name: _header(msg, name)[:1000] for name in KEPT_HEADERS if _header(msg, name)}
    return ParsedEmail(
        message_id=mid, subject=subject, sender=sender, sender_name=sender_name,
        recipients=recipients, date=_date(msg), references=references, in_reply_to=in_reply_to,
        text=text, visible_text=split.visible, quoted_text=split.quoted,
        signature=split.signature, html_only=html_only, attachments=tuple(acc.attachments),
        attachments_omitted=acc.omitted, automatic=reasons, threading=keys, headers=headers,
        defects=tuple(defects + acc.defects), size=len(raw), synthetic_id=synthetic,
        truncated=headers_only,
    )  # fmt: skip


def to_inbound(
    parsed: ParsedEmail,
    *,
    raw_ref: str = "",
    received_at: datetime | None = None,
    mailbox: str = "",
) -> InboundMessage:
    """The domain message for the pipeline; `metadata` feeds our threaded reply later."""
    text = parsed.visible_text
    if parsed.truncated:
        text = (
            f"[message of {parsed.size} bytes is over the size limit; only its headers were "
            "imported, the original is kept on the mail server]"
        )
    metadata = {
        "subject": parsed.subject,
        "message_id": parsed.message_id,
        "references": list(parsed.references),
        "in_reply_to": list(parsed.in_reply_to),
        "automatic": list(parsed.automatic),
        "attachments_omitted": parsed.attachments_omitted,
        "mailbox": mailbox,
        "forwarded": parsed.threading.forwarded,
        "date": parsed.date.isoformat() if parsed.date else "",
    }
    raw = {"headers": dict(parsed.headers), "ref": raw_ref, "size": parsed.size,
           "full_text": parsed.text[:MAX_RAW_TEXT_CHARS], "signature": parsed.signature[:2000],
           "defects": list(parsed.defects[:20])}  # fmt: skip
    return InboundMessage(
        channel=CHANNEL,
        external_id=parsed.message_id,
        thread_key=parsed.threading.thread_key,
        sender=Sender(external_id=parsed.sender, display_name=parsed.sender_name, email=parsed.sender),
        text=text,
        received_at=received_at or datetime.now(UTC),
        attachments=parsed.attachments,
        is_automatic=parsed.is_automatic,
        reply_to=parsed.in_reply_to[0] if parsed.in_reply_to else "",
        thread_aliases=parsed.threading.aliases,
        metadata=metadata,
        raw=raw,
    )
