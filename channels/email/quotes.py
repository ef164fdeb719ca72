"""Separate the customer's new text from quoted history and signatures.

Why our own line scanner rather than mail-parser-reply alone: that library covers English,
German, Swedish, Danish and a few more, but not Finnish, Norwegian or Ukrainian quote
headers, misses attribution lines that Gmail wraps over two lines, and its large
backtracking regexes run over the whole body. This module walks the lines once with small
anchored patterns (linear time), and knows the clients' markers in the languages our
customers write: attribution lines ("On ... wrote:", "Den ... skrev", "... kirjoitti:",
"Am ... schrieb", "... написав(ла):"), Outlook header blocks ("From:/Sent:", "Från:/Skickat:",
"Lähettäjä:/Lähetetty:", "Fra:/Sendt:", "Von:/Gesendet:", "Від:/Надіслано:"),
"-----Original Message-----" style separators, `>` quoting (top, bottom and inline posting),
RFC 3676 "-- " signatures, mobile "Sent from my iPhone" lines and valedictions with a short
signature block after them. The accuracy on tests/channels/email/samples is in docs/email.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERB = (
    r"wrote|skrev|kirjoitti|schrieb|написав\(ла\)|написав|написала|пише|писав|"
    r"написал\(а\)|написал|написала|a écrit|escribió|ha scritto|schreef|napisał\(a\)|napisał"
)
# an attribution line, possibly wrapped: "... <verb>[ name <addr>]:" at the end
_ATTRIBUTION = re.compile(
    rf"^(?!>)(?P<h>.{{0,300}}?\b(?:{_VERB})(?:\s+[^:\n]{{0,120}})?\s*:)\s*$", re.IGNORECASE
)
_WRAPPED_START = re.compile(r"^(?:on|den|am|le|el|il|op|em|w dniu|dnia|\d|\w{1,4}[.,]?\s+\d)", re.IGNORECASE)
_HEADER_FROM = re.compile(
    r"^\s*\*?(?:from|från|lähettäjä|fra|von|від|от|de|van|od)\s*:\*?\s*\S", re.IGNORECASE
)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|to|cc|subject|skickat|datum|till|kopia|ämne|lähetetty|päivämäärä|"
    r"vastaanottaja|kopio|aihe|sendt|dato|til|emne|gesendet|an|betreff|надіслано|дата|кому|"
    r"копія|тема|отправлено|envoyé|objet|à)\s*:\*?(?:\s|$)",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|original message follows|ursprüngliche nachricht|"
    r"originalnachricht|ursprungligt meddelande|originalmeddelande|alkuperäinen viesti|"
    r"opprinnelig melding|oprindelig meddelelse|originalmelding|вихідне повідомлення|"
    r"оригінальне повідомлення|исходное сообщение|forwarded message|vidarebefordrat meddelande|"
    r"välitetty viesti|videresendt melding|videresendt meddelelse|weitergeleitete nachricht|"
    r"пересланий лист|переслане повідомлення|пересланное сообщение|message d'origine)\s*-{2,}|"
    r"_{20,}|"
    r"begin forwarded message:|vidarebefordrat brev:|välitetty viesti alkaa:|"
    r"videresendt meldingen?:|videresendt besked:|anfang der weitergeleiteten nachricht:|"
    r"початок пересланого повідомлення:)\s*$",
    re.IGNORECASE,
)
_SIG_DELIMITER = re.compile(r"^(?:-- ?|—|__)$")
_MOBILE = re.compile(
    r"^(?:sent from|sent with|get outlook|skickat från|hämta outlook|lähetetty|hanki outlook|"
    r"sendt fra|hent outlook|få outlook|von meinem|gesendet von|outlook für|надіслано з|"
    r"отримайте outlook|отправлено с|envoyé de)\b.{0,80}$",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"^(?i:best regards|kind regards|warm regards|regards|best wishes|best|cheers|thanks|"
    r"thank you|many thanks|br|med vänliga hälsningar|vänliga hälsningar|vänligen|hälsningar|"
    r"mvh|ystävällisin terveisin|ystävällisesti|terveisin|parhain terveisin|kiitos|"
    r"med venlig hilsen|venlig hilsen|vennlig hilsen|med vennlig hilsen|hilsen|"
    r"mit freundlichen grüßen|freundliche grüße|viele grüße|beste grüße|liebe grüße|lg|mfg|"
    r"з повагою|з найкращими побажаннями|дякую|щиро|с уважением)"
    r"[,.!]?(?:\s+[A-ZÅÄÖÆØÜÉА-ЯІЇЄҐ][\w.'-]*(?:\s+[A-ZÅÄÖÆØÜÉА-ЯІЇЄҐ][\w.'-]*){0,2})?\s*[,.!]?$"
)
_MAX_SIG_LINES = 8


@dataclass(frozen=True, slots=True)
class ReplySplit:
    """The visible new text and what was cut off (kept so agents can see everything)."""

    visible: str
    quoted: str
    signature: str
    found_quote: bool


def _attribution_span(lines: list[str], i: int) -> int:
    """Number of lines (1-3) forming an attribution header starting at line i, else 0."""
    if not lines[i].strip() or lines[i].lstrip().startswith(">"):
        return 0
    for k in (1, 2, 3):
        if i + k > len(lines) or not lines[i + k - 1].strip():
            break  # an attribution never spans a blank line
        if k > 1 and not _WRAPPED_START.match(lines[i].strip()):
            break  # a wrapped attribution starts like one ("On ...", "Am ...", a date)
        chunk = " ".join(line.strip() for line in lines[i : i + k])
        if len(chunk) > 400:
            break
        m = _ATTRIBUTION.match(chunk)
        if not m:
            continue
        header = m.group("h")
        nxt = _next_nonblank(lines, i + k)
        followed_by_quote = nxt is not None and lines[nxt].lstrip().startswith(">")
        if followed_by_quote or re.search(r"\d|@", header):
            return k
    return 0


def _next_nonblank(lines: list[str], start: int) -> int | None:
    for j in range(start, min(len(lines), start + 4)):
        if lines[j].strip():
            return j
    return None


def _is_header_block(lines: list[str], i: int) -> bool:
    """Outlook-style "From: ...\\nSent: ...\\nTo: ..." block starting at line i."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    others = sum(1 for line in lines[i + 1 : i + 7] if _HEADER_OTHER.match(line))
    return others >= 2 or (others >= 1 and i + 1 < len(lines) and bool(_HEADER_OTHER.match(lines[i + 1])))


def _history_start(lines: list[str]) -> tuple[int, list[int]]:
    """Where quoted history starts (len(lines) if nowhere) and the lines kept before it.

    Lines quoted with ">" and attribution lines are skipped wherever they are, so inline
    and bottom-posted answers keep the customer's own lines.
    """
    kept: list[int] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SEPARATOR.match(line) or _is_header_block(lines, i):
            return i, kept
        span = _attribution_span(lines, i)
        if span:
            nxt = _next_nonblank(lines, i + span)
            if nxt is None or not lines[nxt].lstrip().startswith(">"):
                return i, kept  # unquoted history under the attribution: all of it is old
            i += span
            continue
        if not line.lstrip().startswith(">"):
            kept.append(i)
        i += 1
    return len(lines), kept


def _cut_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split off an RFC 3676 signature, a mobile footer or a valediction block."""
    for idx, line in enumerate(lines):
        if _SIG_DELIMITER.match(line.rstrip()) and idx > 0:
            return lines[:idx], lines[idx:]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for idx in nonblank[-3:]:
        if _MOBILE.match(lines[idx].strip()) and idx > 0:
            return lines[:idx], lines[idx:]
    for idx in nonblank:
        stripped = lines[idx].strip()
        if not _VALEDICTION.match(stripped):
            continue
        tail = [line for line in lines[idx + 1 :] if line.strip()]
        before = [line for line in lines[:idx] if line.strip()]
        if before and len(tail) <= _MAX_SIG_LINES and all(len(t) <= 80 for t in tail):
            return lines[:idx], lines[idx:]
    return lines, []


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip()


def split_reply(text: str) -> ReplySplit:
    """Split a plain-text body into the visible new text, quoted history and signature.

    Never returns empty `visible` for a non-empty body: if everything looks quoted (a pure
    forward, or a reply typed inside the quote), the whole text is returned instead so
    nothing the customer wrote disappears.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line.rstrip().replace("\u00a0", " ") for line in lines]
    start, kept = _history_start(lines)
    body = [lines[i] for i in kept]
    # drop trailing blanks and a dangling Outlook/Gmail separator line
    body, signature = _cut_signature(body)
    visible = _tidy(body)
    kept_set = set(kept)
    quoted = _tidy([line for i, line in enumerate(lines) if i not in kept_set])
    found = start < len(lines) or len(kept) < len(lines)
    if not visible:
        visible = _tidy([line.lstrip("> ").rstrip() for line in lines])
    return ReplySplit(visible=visible, quoted=quoted, signature=_tidy(signature), found_quote=found)


def visible_text(text: str) -> str:
    """Just the customer's new text (see `split_reply`)."""
    return split_reply(text).visible
