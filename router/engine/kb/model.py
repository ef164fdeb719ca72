"""Articles and their sections, and how a document's blocks become sections.

Both readers (Markdown, HTML) turn a file into a flat list of `Block`s: headings,
paragraphs, list items, code. `article_from_blocks` then makes the first top heading the
title and starts a section at each level-2 and level-3 heading, so that an answer is one
section ("Delete a message completely"), not a whole page. Navigation is left out: a
section whose every block is a bare link ("Related articles", a Confluence page tree, an
attachment list) helps nobody who asked a question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

SECTION_LEVELS: Final = (2, 3)  # headings that start a section; deeper ones stay inside
MAX_SECTION_CHARS: Final = 4000  # of one section's text (an answer shows the start)


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # "heading", "text", "item" (a list item), "code"
    text: str
    level: int = 0  # heading level; list depth for items
    links_only: bool = False  # nothing but links (navigation)
    number: int = 0  # position in an ordered list (0: bulleted)
    anchor: str = ""  # a heading's own id (HTML), else its slug is used


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str  # the heading's slug, "" for the text before the first heading
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Article:
    path: str  # relative to the imported folder, with "/"
    title: str
    language: str = ""
    url: str = ""
    sections: tuple[Section, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)  # front matter / <meta> values


def slugify(heading: str) -> str:
    """GitHub-style anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]+", "", text)
    return re.sub(r" ", "-", text)


def _render(blocks: list[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "item":
            bullet = f"{b.number}." if b.number else "-"
            lines.append(f"{'  ' * max(0, b.level - 1)}{bullet} {b.text}")
        elif b.kind == "heading":
            lines.append(f"{b.text}:")
        else:
            lines.append(b.text)
    text = "\n".join(line for line in lines if line.strip())
    return text[:MAX_SECTION_CHARS]


def article_from_blocks(path: str, blocks: list[Block], *, title: str = "", language: str = "",
                        url: str = "", meta: dict[str, str] | None = None) -> Article:
    """Title from `title`, else the first level-1 heading, else the first heading, else
    the file name; then one section per level-2/3 heading (and one for any text above)."""
    blocks = [b for b in blocks if b.text.strip()]
    if not title:
        first = next((b for b in blocks if b.kind == "heading" and b.level == 1), None)
        first = first or next((b for b in blocks if b.kind == "heading"), None)
        if first is not None:
            title = first.text
            blocks = [b for b in blocks if b is not first]
    else:
        blocks = [b for b in blocks
                  if not (b.kind == "heading" and b.level == 1 and b.text.strip() == title)]
    title = title or _title_from_path(path)
    sections: list[Section] = []
    heading, anchor, body = "", "", []
    for block in blocks:
        if block.kind == "heading" and (block.level in SECTION_LEVELS or block.level == 1):
            _close(sections, heading, anchor, body)
            heading, anchor, body = block.text, block.anchor or slugify(block.text), []
        else:
            body.append(block)
    _close(sections, heading, anchor, body)
    return Article(path, title.strip(), language, url, tuple(sections), dict(meta or {}))


def _close(sections: list[Section], heading: str, anchor: str, body: list[Block]) -> None:
    content = [b for b in body if b.kind != "heading"]
    if not content or all(b.links_only for b in content):
        return  # a heading without text, or navigation only
    text = _render(body)
    if text:
        sections.append(Section(anchor, heading, text))


def _title_from_path(path: str) -> str:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"_\d+$", "", stem)  # Confluence: Page-Title_123456.html
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or path
