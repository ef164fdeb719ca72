"""HTML mail to readable plain text, on the standard library's `html.parser`.

Many clients (Outlook, mobile apps, marketing tools) send HTML-only mail. Agents and the
rules engine need plain text, and the quote stripper needs quoted history marked the way
plain-text clients mark it. So `<blockquote>` content becomes `> ` lines: one stripping
algorithm then handles both kinds of mail. The parser is linear and never raises on broken
markup (html.parser is tolerant), which matters because HTML mail is often invalid.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "div",
        "dl",
        "dt",
        "dd",
        "fieldset",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "center",
    ]
)
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
_WS = re.compile(r"[ \t\r\n\f\u200b]+")
# gmail_quote, Thunderbird moz-cite-prefix and Apple's type=cite are all followed by a
# blockquote; Outlook's reply header div is handled by the text stripper ("From: ... Sent:").
MAX_HTML_CHARS = 2_000_000  # beyond this, the tail is cut: nobody types 2 MB of new text


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skip_depth = 0
        self.pre_depth = 0
        self.list_stack: list[int] = []  # 0 for <ul>, the next number for <ol>
        self.href: str = ""

    # -- helpers -----------------------------------------------------------------------
    def _flush(self, force_blank: bool = False) -> None:
        """End the current block: emit its lines (a <br> is kept as "\x00" until here)."""
        text = "".join(self.current)
        self.current = []
        prefix = "> " * self.quote_depth
        if self.pre_depth:
            segments = text.replace("\x00", "\n").split("\n")
        else:
            segments = [_WS.sub(" ", seg).strip() for seg in text.split("\x00")]
            if segments and not segments[-1]:
                segments.pop()  # "text<br></div>" ends the line once, not twice
        if any(segments):
            for line in segments:
                self.lines.append((prefix + line).rstrip())
        elif "\x00" in text or (force_blank and self.lines and self.lines[-1].strip("> ") != ""):
            self.lines.append(prefix.rstrip())

    # -- HTMLParser hooks --------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
            return
        if tag == "br":
            self.current.append("\x00")
            return
        if tag == "blockquote":
            self._flush()
            self.quote_depth += 1
            return
        if tag in ("ul", "ol"):
            self._flush(force_blank=not self.list_stack)
            self.list_stack.append(0 if tag == "ul" else 1)
            return
        if tag in _BLOCK:
            self._flush(force_blank=tag in ("p", "table", "hr", "h1", "h2", "h3"))
        if tag == "pre":
            self.pre_depth += 1
        if tag == "li":
            if self.list_stack and self.list_stack[-1]:
                self.current.append(f"{self.list_stack[-1]}. ")
                self.list_stack[-1] += 1
            else:
                self.current.append("- ")
        if tag in ("td", "th"):
            self.current.append(" ")
        if tag == "img":
            alt = dict(attrs).get("alt") or ""
            if alt.strip():
                self.current.append(f"[{alt.strip()}]")
        if tag == "a":
            self.href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag == "blockquote":
            self._flush()
            self.quote_depth = max(0, self.quote_depth - 1)
            return
        if tag in ("ul", "ol"):
            self._flush()
            if self.list_stack:
                self.list_stack.pop()
            return
        if tag == "a":
            self.href = ""
        if tag in _BLOCK:
            self._flush(force_blank=tag in ("p", "table", "h1", "h2", "h3"))
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.current.append(data)

    def text(self) -> str:
        self._flush()
        out: list[str] = []
        for line in self.lines:
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # collapse runs of blank lines
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(markup: str) -> str:
    """Readable text from an HTML body; quoted parts become `> ` lines.

    Never raises: broken markup yields best-effort text (worst case: tags stripped).
    """
    markup = markup[:MAX_HTML_CHARS]
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
        return parser.text()
    except Exception:  # html.parser is tolerant, but never let markup crash intake
        stripped = re.sub(r"<[^>]{0,2000}>", " ", markup)
        return _WS.sub(" ", html.unescape(stripped)).strip()


def text_to_html(text: str) -> str:
    """Minimal safe HTML for the multipart/alternative part of an outbound reply."""
    paragraphs = re.split(r"\n{2,}", text.strip())
    body = "".join("<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs if p)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif">\n{body}</body></html>\n'
    )
