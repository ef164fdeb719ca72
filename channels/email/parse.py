"""Raw RFC 5322 bytes -> `ParsedEmail` -> `InboundMessage`. Pure: no I/O.

The header block is read first and on its own (`channels.email.headers`: raw 8-bit values
as UTF-8 else cp1252, encoded-words through the body's charset mapping), so a body never
costs a mail its From or Message-ID. The body is read with the standard library's `email`
package (`policy.default`). Real mail is often broken (wrong charset labels, bad base64,
a boundary the body does not use, absurd nesting, malformed addresses), so every step
degrades to a best-effort value and records a defect instead of raising: a multipart
whose declared boundary never occurs is read again with the boundary its body does use;
a tree nested deeper than MAX_DEPTH gives up its structure but not its first text part. A
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
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from channels.email.automatic import automatic_reasons
from channels.email.charsets import decode_text, without_nul
from channels.email.headers import Headers, head_and_body
from channels.email.htmltext import html_to_text
from channels.email.quotes import split_reply
from channels.email.threads import ReplyTokens, ThreadKeys, exact_message_id, message_ids, thread_keys
from router.domain.model import Attachment, InboundMessage, Sender

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
# Nesting: the standard library's parser checks every line against the boundary of each
# open level (0.8 s at 900 levels, RecursionError past ~1,000). Real mail nests a handful
# of levels; past MAX_DEPTH only the first text part is read, by a plain scan.
MAX_DEPTH = 100
MAX_RECOVERIES = 10  # multipart parts re-read with their body's own boundary, per message
_DEPTH_SCAN = re.compile(
    rb'(?im)boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))|^--([!-~][^\r\n]{0,201})\r?$')
_DELIMITER = re.compile(rb"(?m)^--([!-~][ -~]{0,69}?)(--)?[ \t]*\r?$")
_TEXT_PLAIN = re.compile(rb"(?im)^content-type:[ \t]*text/plain")
_CHARSET_PARAM = re.compile(r'(?i)charset[ \t]*=[ \t]*"?([^";\s]+)')
KEPT_HEADERS = (
    "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Auto-Submitted", "Precedence", "List-Id", "List-Unsubscribe", "Feedback-ID",
    "X-Auto-Response-Suppress", "Return-Path", "Content-Type", "X-Mailer", "User-Agent",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """What the service takes from one raw message."""

    message_id: str  # byte for byte, without brackets; synthesised from a hash when absent
    subject: str
    sender: str  # the From address, lower case
    sender_name: str
    recipients: tuple[str, ...]  # To + Cc + Delivered-To + X-Original-To, lower case
    date: datetime | None
    references: tuple[str, ...]  # byte for byte, as the mail has them
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
    reply_to: str = ""  # the Reply-To address (lower case) when it is someone else's
    reply_to_name: str = ""
    use_reply_to: bool = True  # replies go to `reply_to` when there is one

    @property
    def is_automatic(self) -> bool:
        return bool(self.automatic)

    @property
    def contact(self) -> str:
        """The address replies go to: the Reply-To when used, else the From address."""
        return self.reply_to if self.use_reply_to and self.reply_to else self.sender

    @property
    def contact_name(self) -> str:
        """The display name of `contact` (a form's From name is not the person's)."""
        return self.reply_to_name if self.use_reply_to and self.reply_to else self.sender_name

    @property
    def key(self) -> str:
        """The Message-ID as the inbox dedupe key: lower case (as earlier versions)."""
        return self.message_id.lower()


def _date(heads: Headers) -> datetime | None:
    raw = heads.get("Date")
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
    recoveries: int = 0


def _walk(part: Message, acc: _Walk, path: str, max_attachments: int, raw_ref: str) -> None:
    """Collect body text and attachment metadata; bounded in parts, never raising."""
    acc.parts += 1
    if acc.parts > MAX_PARTS:
        if acc.parts == MAX_PARTS + 1:
            acc.defects.append(f"more than {MAX_PARTS} MIME parts; the rest is ignored")
        return
    ctype = part.get_content_type()
    if ctype.startswith("multipart/") and not part.is_multipart():
        recovered = _recover_parts(part, acc)
        if recovered is not None:
            _walk(recovered, acc, path, max_attachments, raw_ref)
            return
        ctype = "text/plain"  # no boundary anywhere: the body is its text
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
        param = part.get_param("charset")
        charset = param if isinstance(param, str) else None
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
            name = f"{_part_header(inner[0], 'Subject') or 'message'}.eml"
        size = len(inner[0].as_bytes()) if isinstance(inner, list) and inner else 0
    else:
        kind = "image" if ctype.startswith("image/") else "file"
        size = _encoded_size(part)
    ref = f"{raw_ref}#{path}" if raw_ref else f"#{path}"
    acc.attachments.append(Attachment(kind=kind, name=without_nul(name[:255]), mime=without_nul(ctype),
                                      size=size, ref=ref))


def _part_header(part: Message, name: str) -> str:
    try:
        value = part.get(name)
        return "" if value is None else " ".join(str(value).split())
    except Exception:
        return ""


def _recover_parts(part: Message, acc: _Walk) -> Message | None:
    """A multipart whose declared boundary never occurs (or is missing), parsed again with
    the boundary its body does use; None when the body has none."""
    payload = part.get_payload()
    if not isinstance(payload, str) or acc.recoveries >= MAX_RECOVERIES:
        return None
    data = payload.encode("utf-8", "surrogateescape")
    boundary = _body_boundary(data)
    if not boundary:
        return None
    acc.recoveries += 1
    acc.defects.append("declared MIME boundary not in the body; parts read with the body's own")
    head = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    return BytesParser(policy=policy.default).parsebytes(head.encode("ascii") + data)


def _body_boundary(data: bytes) -> str:
    """The first delimiter line `--X` whose X opens a part twice, or opens one and closes
    with `--X--`: the boundary the body really uses ("" when there is none)."""
    opened: dict[bytes, int] = {}
    closed: set[bytes] = set()
    for count, m in enumerate(_DELIMITER.finditer(data)):
        if count > 10_000:
            break
        name = m.group(1)
        if m.group(2):
            closed.add(name)
        else:
            opened[name] = opened.get(name, 0) + 1
    for name, times in opened.items():  # in order of first appearance
        if (times > 1 or name in closed) and b'"' not in name and b"\\" not in name:
            return name.decode("ascii", "replace")
    return ""


def _mime_depth(data: bytes) -> int:
    """How deep the multipart levels of a message nest, as the parser would open them
    (cheap: 0 unless the message declares more than MAX_DEPTH boundaries at all)."""
    if data.count(b"oundary") + data.count(b"OUNDARY") <= MAX_DEPTH:
        return 0
    declared: set[bytes] = set()
    stack: list[bytes] = []
    deepest = 0
    for m in _DEPTH_SCAN.finditer(data):
        if m.group(3) is None:
            declared.add(m.group(1) or m.group(2))
            continue
        line = m.group(3).rstrip(b" \t")
        closing = line.endswith(b"--") and line[:-2] in stack
        name = line[:-2] if closing else line
        if name in stack:  # a sibling part ends deeper levels; the close, its own too
            del stack[stack.index(name) + (0 if closing else 1) :]
        elif name in declared:
            stack.append(name)
            deepest = max(deepest, len(stack))
    return deepest


def _salvage_text(data: bytes, acc: _Walk) -> None:
    """The first text/plain part of a body too broken or deep to parse, by a plain scan."""
    m = _TEXT_PLAIN.search(data)
    if m is None:
        return
    head: list[bytes] = []
    for line in reversed(data[: m.start()].splitlines()[-50:]):  # the part's earlier fields
        if not line.strip() or line.startswith(b"--"):
            break
        head.insert(0, line)
    rest = data[m.start() :]
    end = re.search(rb"\r?\n\r?\n", rest)
    if end is None:
        return
    fields = Headers(b"\r\n".join([*head, rest[: end.start()]]))
    body = rest[end.end() :]
    stop = re.search(rb"(?m)^--[!-~]", body)
    body = body[: stop.start()] if stop else body
    cte = fields.raw("Content-Transfer-Encoding").strip().lower()
    try:
        if cte == "base64":
            body = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/]", b"", body) + b"==", validate=False)
        elif cte == "quoted-printable":
            body = binascii.a2b_qp(body)
    except (binascii.Error, ValueError):
        pass
    charset = _CHARSET_PARAM.search(fields.raw("Content-Type"))
    text = decode_text(body, charset.group(1) if charset else None).rstrip("\r\n")
    acc.plain.append(text[: MAX_TEXT_CHARS * 2])


def _read_body(raw: bytes, acc: _Walk, max_attachments: int, raw_ref: str) -> list[str]:
    """Walk the body's MIME tree into `acc`; the parser's defects. Never raises."""
    view = _shrink(raw)
    depth = _mime_depth(view)
    if depth > MAX_DEPTH:
        acc.defects.append(f"MIME nested {depth} levels deep (over {MAX_DEPTH}); only the "
                           "first text part was read")  # fmt: skip
        _salvage_text(view, acc)
        return []
    try:
        msg: Message = BytesParser(policy=policy.default).parsebytes(view)
    except Exception as exc:  # the feed parser is very tolerant; RecursionError, memory
        acc.defects.append(f"body unparseable: {exc!r}")
        _salvage_text(view, acc)
        return []
    try:
        _walk(msg, acc, "", max_attachments, raw_ref)
    except RecursionError:
        acc.defects.append("MIME tree nested too deeply; body partly read")
    except Exception as exc:
        acc.defects.append(f"body unreadable: {exc!r}")
    if not acc.plain and not acc.html and acc.defects:
        _salvage_text(view, acc)
    return [str(type(d).__name__) for d in getattr(msg, "defects", [])[:20]]


def parse_email(
    raw: bytes,
    *,
    own_addresses: Iterable[str] = (),
    max_attachments: int = 100,
    raw_ref: str = "",
    headers_only: bool = False,
    tokens: ReplyTokens | None = None,
    use_reply_to: bool = True,
) -> ParsedEmail:
    """Parse one raw message. Never raises on malformed input.

    The header block is read first and on its own (`channels.email.headers`), so no body
    can take a mail's From, Message-ID or Subject away; then the body's MIME tree.

    :param own_addresses: our addresses (loop guard, reply-token check), lower case
    :param raw_ref: where the adapter stored the raw bytes; attachment refs point into it
    :param headers_only: the body was not fetched (message over the size limit)
    :param tokens: checks our reply tokens (None: no token counts as valid)
    :param use_reply_to: replies go to the Reply-To address when the mail has one
    """
    own = [a.lower() for a in own_addresses]
    block, _ = head_and_body(raw)
    heads = Headers(block)
    defects = list(heads.defects)
    acc = _Walk()
    if not headers_only:
        defects.extend(_read_body(raw, acc, max_attachments, raw_ref))
    return _assemble(heads, raw, acc, own, defects, headers_only, tokens, use_reply_to)


def _assemble(
    heads: Headers, raw: bytes, acc: _Walk, own: list[str], defects: list[str],
    headers_only: bool, tokens: ReplyTokens | None, use_reply_to: bool,
) -> ParsedEmail:  # fmt: skip
    html_only = not acc.plain and bool(acc.html)
    text = "\n\n".join(t.strip("\n") for t in acc.plain) if acc.plain else ""
    if html_only:
        text = "\n\n".join(html_to_text(h) for h in acc.html)
    text = text.replace("\r\n", "\n")[:MAX_TEXT_CHARS]
    split = split_reply(text)
    senders = heads.addresses("From") or heads.addresses("Sender")
    sender_name, sender = senders[0] if senders else ("", "")
    reply_name, reply_to = next(
        ((n, a) for n, a in heads.addresses("Reply-To") if a != sender and a not in own), ("", ""))
    contact = reply_to if use_reply_to and reply_to else sender
    recipients = tuple(
        dict.fromkeys(a for _, a in heads.addresses("To", "Cc", "Delivered-To", "X-Original-To"))
    )
    subject = " ".join(heads.get("Subject").split())
    mid = exact_message_id(heads.raw("Message-ID"))
    synthetic = not mid
    if synthetic:  # stable across re-fetches, so dedupe still works
        mid = f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid"
    references = tuple(message_ids(heads.raw("References"), exact=True))
    in_reply_to = tuple(message_ids(heads.raw("In-Reply-To"), exact=True))
    keys = thread_keys(
        message_id=mid, references=references, in_reply_to=in_reply_to, subject=subject,
        sender=contact, recipients=recipients, own_addresses=own, body=text, tokens=tokens,
    )  # fmt: skip
    reasons = automatic_reasons(
        heads.get, sender=sender, content_type=heads.content_type(), own_addresses=own,
        answer_to=contact if contact != sender else "",
    )  # fmt: skip
    headers = {name: heads.get(name)[:1000] for name in KEPT_HEADERS if name in heads}
    return ParsedEmail(
        message_id=mid, subject=subject, sender=sender, sender_name=sender_name,
        recipients=recipients, date=_date(heads), references=references, in_reply_to=in_reply_to,
        text=text, visible_text=split.visible, quoted_text=split.quoted,
        signature=split.signature, html_only=html_only, attachments=tuple(acc.attachments),
        attachments_omitted=acc.omitted, automatic=reasons, threading=keys, headers=headers,
        defects=tuple(defects + acc.defects), size=len(raw), synthetic_id=synthetic,
        truncated=headers_only, reply_to=reply_to, reply_to_name=reply_name,
        use_reply_to=use_reply_to,
    )  # fmt: skip


def to_inbound(
    parsed: ParsedEmail,
    *,
    raw_ref: str = "",
    received_at: datetime | None = None,
    mailbox: str = "",
) -> InboundMessage:
    """The domain message for the pipeline; `metadata` feeds our threaded reply later.

    The sender is the address replies go to (`parsed.contact`: the Reply-To when used);
    when that is not the From address, the identity's username records the From address,
    and the metadata both."""
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
        "from": parsed.sender,
        "reply_to": parsed.reply_to,
        "automatic": list(parsed.automatic),
        "attachments_omitted": parsed.attachments_omitted,
        "mailbox": mailbox,
        "forwarded": parsed.threading.forwarded,
        "date": parsed.date.isoformat() if parsed.date else "",
    }
    raw = {"headers": dict(parsed.headers), "ref": raw_ref, "size": parsed.size,
           "full_text": parsed.text[:MAX_RAW_TEXT_CHARS], "signature": parsed.signature[:2000],
           "defects": list(parsed.defects[:20])}  # fmt: skip
    contact = parsed.contact
    return InboundMessage(
        channel=CHANNEL,
        external_id=parsed.key,
        thread_key=parsed.threading.thread_key,
        sender=Sender(external_id=contact, display_name=parsed.contact_name, email=contact,
                      username=parsed.sender if contact != parsed.sender else ""),
        text=text,
        received_at=received_at or datetime.now(UTC),
        attachments=parsed.attachments,
        is_automatic=parsed.is_automatic,
        reply_to=parsed.in_reply_to[0].lower() if parsed.in_reply_to else "",
        thread_aliases=parsed.threading.aliases,
        metadata=metadata,
        raw=raw,
    )
