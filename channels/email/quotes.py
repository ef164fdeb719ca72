"""Separate the customer's new text from quoted history and signatures.

Why our own line scanner rather than a library: mail-parser-reply covers a handful of
languages and runs large backtracking regexes over the whole body; quotequail knows five
languages; talon is unmaintained and needs scikit-learn. This module walks the lines once
with small anchored patterns (linear time) built from the per-language table in
`channels.email.quote_locales` (23 languages). It knows:

- attribution lines, wrapped over up to 3 lines (Polymail's over up to 7): "On ... wrote:",
  "Am ... schrieb ...:", "... 写道：", and the verbless ones Gmail (ru, ja), Yandex and Mail.ru
  write ("03.03.2026, 10:15, "Name" <addr>:");
- header blocks in any of the languages ("From:/Sent:", "Gesendet:/Von:", "差出人:/送信日時:"),
  separator lines ("-----Original Message-----", "---- Name wrote ----", Outlook's underscore
  or dashed rule) and forward intros ("Begin forwarded message:");
- ">" quoting (top, bottom and inline posting); ">>>" used as an arrow or a prompt without
  any quote header is kept as text;
- signatures: RFC 3676 "-- ", "sent from my phone / get the app" footers, and a valediction
  with a short signature block under it.

Accuracy on tests/channels/email/samples and quote_corpus/ is in docs/email.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels.email.quote_locales import FOOTER_DEVICES, LOCALES, words


def _alt(items: list[str]) -> str:
    return "|".join(re.escape(w) for w in items)


def _cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"


def _bounded(items: list[str], at_start: bool) -> str:
    """Alternation with a word boundary where one can be (none next to CJK characters)."""
    edge = (lambda w: w[0]) if at_start else (lambda w: w[-1])
    plain = _alt([w for w in items if not _cjk(edge(w))])
    glued = _alt([w for w in items if _cjk(edge(w))]) or "(?!)"
    return rf"(?:\b(?:{plain})|(?:{glued}))" if at_start else rf"(?:(?:{plain})\b|(?:{glued}))"


_VERB = _bounded(words("verbs"), at_start=True)
_ADDRESS = r"(?:<\s*[^<>\s]+@[^<>\s]+\s*>|\(\s*[^()\s]+@[^()\s]+\s*\))"
# after the verb: a name, an address, a parenthesised date, times ("schrieb am Di., 10:15:")
_AFTER_VERB = r"(?:[^:：\n()]|(?<=\d)[:：.](?=\d)|\([^()\n]{0,80}\)){0,160}?"
_ATTRIBUTION = re.compile(rf"^.{{0,300}}?{_VERB}{_AFTER_VERB}[:：]\s*$", re.IGNORECASE)
# Yahoo's apps put the quoted text on the attribution line: "... <addr> wrote:   Hello"
_ATTRIBUTION_TAIL = re.compile(rf"^.{{0,300}}?@\S*\s*{_VERB}\s*[:：]\s+\S", re.IGNORECASE)
# "вт, 3 мар. 2026 г. в 10:15, Name <addr>:", '03.03.2026, 10:15, "Name" <addr>:'
_VERBLESS = re.compile(rf"^.{{0,200}}?\d{{1,2}}[:.]\d{{2}}.{{0,200}}?{_ADDRESS}\s*[:：]\s*$")
_STARTS = _alt(words("starts"))
# how an attribution begins: "On", "Am", ..., a date ("03.03.2026", "3 mars", "ti 3.3.")
_STRONG_START = rf"(?:{_STARTS})\b|\d{{1,4}}[./\-年]\s?\d|\d{{1,2}}\.?\s+\w|\w{{1,4}}[.,]?\s+\d"
_STRONG = re.compile(rf"^(?:{_STRONG_START})", re.IGNORECASE)
# ... or a name and address that Gmail wrapped ("Name <addr> ezt írta (...", "Name <")
_WRAPPED_START = re.compile(rf"^(?:{_STRONG_START}|\d|.*@|.*<$)", re.IGNORECASE)
_TIME_OR_ADDRESS = re.compile(r"\d{1,2}[:.]\d{2}|@")
_QUOTED_VERB = re.compile(rf"^>\s*{_VERB}\s*[:：]\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(
    rf"^\s*(?:-{{2,}}\s*(?:{_alt(words('separators'))})\s*-{{2,}}|(?:{_alt(words('separators'))})\s*[:：]"
    rf"|_{{20,}}|-{{2,}}\s*\S.{{0,200}}?{_VERB}\s*-{{2,}})\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:-{20,}|[—–]{10,}|={20,})\s*$")  # a separator only above headers
_HEADER_KIND = {w: kind for kind in ("from_", "date", "other") for w in words(kind)}
_HEADER = re.compile(
    rf"^\s*\*{{0,2}}(?P<name>{_alt(list(_HEADER_KIND))})\*{{0,2}}\s*[:：]\*{{0,2}}(?:\s|$)", re.IGNORECASE
)
_SIG_DELIMITER = re.compile(r"^(?:-- ?|—|__)$")
_TRAILING_RULE = re.compile(r"^\s*[-_=—–~*]{3,}\s*$")
_FOOTER = re.compile(
    rf"^(?:{_bounded(words('footers'), at_start=False)}.{{0,100}}"
    rf"|.{{0,80}}(?:{_alt(words('footer_ends'))})[.!]?)$",
    re.IGNORECASE,
)
_DEVICE = re.compile(_alt(list(FOOTER_DEVICES)), re.IGNORECASE)
_VALEDICTION = re.compile(
    rf"^(?P<v>{_alt(words('valedictions') + words('thanks'))})[\s,.!:]*(?P<name>.*?)\s*[,.]?$", re.IGNORECASE
)
_THANKS = {w for row in LOCALES.values() for w in row.get("thanks", ())}
_MAX_SIG_LINES = 8


@dataclass(frozen=True, slots=True)
class ReplySplit:
    """The visible new text and what was cut off (kept so agents can see everything)."""

    visible: str
    quoted: str
    signature: str
    found_quote: bool


def _is_attribution(chunk: str, *, single_line: bool) -> bool:
    chunk = chunk.lstrip("-–— ")
    if _VERBLESS.match(chunk):
        return True
    m = _ATTRIBUTION.match(chunk) or (single_line and _ATTRIBUTION_TAIL.match(chunk))
    return bool(m)


def _span_at(lines: list[str], i: int) -> int:
    """Number of lines forming an attribution starting at line i (blank lines only inside
    Polymail's "<" / "mailto:" / "> wrote:" split), else 0."""
    parts: list[str] = []
    j = i
    while j < min(len(lines), i + 7) and len(parts) < 5:
        line = lines[j].strip()
        if not line:
            nxt = _next_nonblank(lines, j)
            if not parts or nxt is None or not re.match(r"<|mailto:|>\s*\w", lines[nxt].strip()):
                return 0
            j += 1
            continue
        if line.startswith(">") and not (parts and _QUOTED_VERB.match(line)):
            return 0
        if len(parts) == 1 and not _WRAPPED_START.match(parts[0].lstrip("-–— ")):
            return 0  # a wrapped attribution starts like one ("On ...", a date, a name <addr>)
        parts.append(line)
        chunk = " ".join(parts)
        if len(chunk) > 500:
            return 0
        if _is_attribution(chunk, single_line=len(parts) == 1) and re.search(r"\d|@", chunk):
            return j - i + 1
        j += 1
    return 0


def _attribution_span(lines: list[str], i: int) -> int:
    span = _span_at(lines, i)
    nxt = lines[i + 1].strip().lstrip("-–— ") if i + 1 < len(lines) else ""
    if span > 1 and _STRONG.match(nxt) and _span_at(lines, i + 1):
        return 0  # the header starts on the next line; this one is the customer's
    return span


def _next_nonblank(lines: list[str], start: int) -> int | None:
    for j in range(start, min(len(lines), start + 4)):
        if lines[j].strip():
            return j
    return None


def _header_kind(line: str) -> str | None:
    m = _HEADER.match(line)
    return _HEADER_KIND[m.group("name").lower()] if m else None


def _is_header_block(lines: list[str], i: int) -> bool:
    """A "From: ...\\nSent: ...\\nTo: ..." block (any language, any order) starting at line i."""
    first = _header_kind(lines[i])
    if first is None:
        return False
    kinds = [first] + [k for k in map(_header_kind, lines[i + 1 : i + 7]) if k]
    if "from_" not in kinds or "date" not in kinds:
        return False
    second = _header_kind(lines[i + 1]) if i + 1 < len(lines) else None
    return len(kinds) >= 3 or {first, second} == {"from_", "date"}


def _is_separator(lines: list[str], i: int) -> bool:
    if _SEPARATOR.match(lines[i]):
        return True
    if not _RULE.match(lines[i]):
        return False
    nxt = _next_nonblank(lines, i + 1)
    return nxt is not None and _header_kind(lines[nxt]) is not None


def _quote_run(lines: list[str], i: int) -> int:
    """End (exclusive) of the run of ">" lines starting at line i."""
    end = i
    while end < len(lines) and lines[end].lstrip().startswith(">"):
        end += 1
    return end


def _is_decoration(run: list[str]) -> bool:
    """A ">" run that is no quote: ">>>" arrows or prompts with no quote header above them."""
    first = run[0].strip()
    return len(first) - len(first.lstrip(">")) >= 2 or any("<<<" in line for line in run)


def _history_start(lines: list[str]) -> tuple[int, list[int]]:
    """Where quoted history starts (len(lines) if nowhere) and the lines kept before it.

    Lines quoted with ">" and attribution lines are skipped wherever they are, so inline
    and bottom-posted answers keep the customer's own lines.
    """
    kept: list[int] = []
    seen_header = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_separator(lines, i) or _is_header_block(lines, i):
            return i, kept
        span = _attribution_span(lines, i)
        if span:
            nxt = _next_nonblank(lines, i + span)
            if nxt is None or not lines[nxt].lstrip().startswith(">"):
                if _TIME_OR_ADDRESS.search(" ".join(lines[i : i + span])):
                    return i, kept  # unquoted history under the attribution: all of it is old
                kept.append(i)  # "Den 3 mars skrev jag till er:" is the customer's own sentence
                i += 1
                continue
            seen_header = True
            i += span
            continue
        if line.lstrip().startswith(">"):
            end = _quote_run(lines, i)
            if not seen_header and _is_decoration(lines[i:end]):
                kept.extend(range(i, end))
            i = end
            continue
        kept.append(i)
        i += 1
    return len(lines), kept


def _is_name(text: str) -> bool:
    """A short name after a valediction ("Regards, Anna Berg"), not a sentence."""
    tokens = text.split()
    return len(tokens) <= 4 and len(text) <= 40 and all(not t[0].islower() for t in tokens)


def _valediction_at(lines: list[str]) -> int | None:
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for n, idx in enumerate(nonblank):
        m = _VALEDICTION.match(lines[idx].strip())
        if not m or n == 0 or not _is_name(m.group("name")):
            continue
        tail = [lines[j] for j in nonblank[n + 1 :]]
        if len(tail) > _MAX_SIG_LINES or any(len(t) > 80 for t in tail):
            continue
        if m.group("v").lower() in _THANKS and not (tail or m.group("name")):
            continue  # a closing "Thanks!" is part of the message
        return idx
    return None


def _cut_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split off an RFC 3676 signature, a mobile footer and a valediction block."""
    for idx, line in enumerate(lines):
        if idx > 0 and _SIG_DELIMITER.match(line.rstrip()):
            lines, cut = lines[:idx], lines[idx:]
            break
    else:
        cut = []
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for idx in nonblank[-3:]:
        stripped = lines[idx].strip()
        if idx > 0 and _FOOTER.match(stripped) and _DEVICE.search(stripped):
            lines, cut = lines[:idx], lines[idx:] + cut
            break
    idx = _valediction_at(lines)
    if idx is not None:
        lines, cut = lines[:idx], lines[idx:] + cut
    while lines and (not lines[-1].strip() or _TRAILING_RULE.match(lines[-1])):
        lines = lines[:-1]  # a dangling Outlook/Gmail separator line
    return lines, cut


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
    body, signature = _cut_signature([lines[i] for i in kept])
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
