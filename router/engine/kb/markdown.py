"""A Markdown help article to blocks: CommonMark (markdown-it-py) plus what exports add.

Help centres write more than CommonMark, and an export keeps it: YAML front matter
(`title`, `lang`, `url`), Python-Markdown admonitions (`!!! tip ""` with an indented body,
which CommonMark would read as code), includes (`{!fragment.md!}`, resolved from the
article's folder or an `include/` folder beside it, else dropped), lines that are nothing
but a site generator's macro (`{start_tabs}`, `{tab|mobile}`, `{% hint %}`, `:::note`),
MDX `import` lines and `{{ variables }}`. Those are undone here, before parsing, so that
what reaches the matcher and the customer is the article's prose.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from router.engine.kb.model import Article, Block, article_from_blocks

INCLUDE: Final = re.compile(r"^(\s*)\{!\s*([^{}!]+?)\s*!\}\s*$")
MACRO_LINE: Final = re.compile(r"^\s*(\{[^{}]*\}|\{%.*%\}|:::.*|import\s+\S.*\sfrom\s+['\"].*)\s*$")
TEMPLATE_VALUE: Final = re.compile(r"\{\{.*?\}\}")
ADMONITION: Final = re.compile(r"^(\s*)(?:!!!|\?\?\?\+?)\s*\w+(?:\s+\"([^\"]*)\")?\s*$")
EMPTY_PARENS: Final = re.compile(r"\s?\(\s*\)")
INCLUDE_DIRS: Final = ("", "include", "includes", "_include", "_includes")
MAX_INCLUDE_DEPTH: Final = 3

_parser = MarkdownIt("commonmark").enable("table")


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """(front matter values as strings, the rest of the text)."""
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^---\s*$", text[3:], re.MULTILINE)
    if end is None:
        return {}, text
    raw, rest = text[3:3 + end.start()], text[3 + end.end():]
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError:
        return {}, rest
    if not isinstance(data, dict):
        return {}, rest
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | float)}, rest


def _include(name: str, folder: Path, root: Path, used: set[Path]) -> Path | None:
    for sub in INCLUDE_DIRS:
        for base in (folder, root):
            candidate = (base / sub / name).resolve()
            if candidate.is_file() and candidate.is_relative_to(root.resolve()):
                used.add(candidate)
                return candidate
    return None


def expand(text: str, folder: Path, root: Path, used: set[Path], depth: int = 0) -> str:
    """Includes resolved (or dropped), macro lines and template values removed,
    admonition bodies dedented so that they read as paragraphs."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        inc = INCLUDE.match(line)
        if inc:
            found = _include(inc.group(2), folder, root, used) if depth < MAX_INCLUDE_DEPTH else None
            if found is not None:
                body = expand(found.read_text(encoding="utf-8", errors="replace"),
                              found.parent, root, used, depth + 1)
                out.extend(inc.group(1) + b if b else b for b in body.splitlines())
            i += 1
            continue
        adm = ADMONITION.match(line)
        if adm:  # its body, dedented, takes its place and is read like any other lines
            indent, end = len(adm.group(1)), i + 1
            while end < len(lines) and (not lines[end].strip()
                                        or len(lines[end]) - len(lines[end].lstrip()) > indent):
                end += 1
            body = [b[:indent] + b[indent + min(4, len(b) - len(b.lstrip()) - indent):]
                    if b.strip() else "" for b in lines[i + 1:end]]
            lines[i:end] = ([adm.group(1) + adm.group(2)] if adm.group(2) else []) + body
            continue
        if not MACRO_LINE.match(line):
            out.append(TEMPLATE_VALUE.sub("", line))
        i += 1
    return "\n".join(out)


def _inline(token: Token) -> tuple[str, bool]:
    """(plain text, whether everything outside links is punctuation)."""
    parts: list[str] = []
    outside: list[str] = []
    links = depth = 0
    for child in token.children or []:
        if child.type == "link_open":
            depth += 1
            links += 1
        elif child.type == "link_close":
            depth = max(0, depth - 1)
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
            if not depth:
                outside.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    # an icon's markup leaves "()" behind: "click the pencil (<i ...></i>) icon"
    text = re.sub(r"\s+", " ", EMPTY_PARENS.sub("", "".join(parts))).strip()
    only_links = links > 0 and not re.sub(r"[\W_]+", "", "".join(outside))
    return text, only_links


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    tokens = _parser.parse(text)
    lists: list[_List] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type in ("bullet_list_open", "ordered_list_open"):
            ordered = t.type == "ordered_list_open"
            lists.append(_List(ordered, int(t.attrGet("start") or 1) if ordered else 0))
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t.type == "list_item_open" and lists:
            lists[-1].fresh = True
        elif t.type == "heading_open":
            text_, _ = _inline(tokens[i + 1])
            out.append(Block("heading", text_, int(t.tag[1])))
            i += 2
        elif t.type == "inline" and tokens[i - 1].type == "paragraph_open":
            text_, only_links = _inline(t)
            out.append(_paragraph(text_, only_links, lists))
        elif t.type in ("fence", "code_block"):
            out.append(Block("code", t.content.strip()))
        elif t.type == "tr_open":
            i = _row(tokens, i, out)
        elif t.type == "html_block":
            plain = re.sub(r"<[^>]*>", " ", t.content)
            if plain.strip():
                out.append(Block("text", re.sub(r"\s+", " ", plain).strip()))
        i += 1
    return out


class _List:
    __slots__ = ("fresh", "next", "ordered")

    def __init__(self, ordered: bool, start: int) -> None:
        self.ordered, self.next, self.fresh = ordered, start, False


def _paragraph(text: str, only_links: bool, lists: list[_List]) -> Block:
    """A paragraph, or a list item's (its first paragraph carries the bullet)."""
    if not lists:
        return Block("text", text, links_only=only_links)
    current = lists[-1]
    if not current.fresh:  # a further paragraph of the same item
        return Block("text", text, links_only=only_links)
    current.fresh = False
    number = 0
    if current.ordered:
        number, current.next = current.next, current.next + 1
    return Block("item", text, level=len(lists), links_only=only_links, number=number)


def _row(tokens: list[Token], i: int, out: list[Block]) -> int:
    cells: list[str] = []
    while i < len(tokens) and tokens[i].type != "tr_close":
        if tokens[i].type == "inline":
            cells.append(_inline(tokens[i])[0])
        i += 1
    if any(cells):
        out.append(Block("text", " | ".join(cells)))
    return i


def read_markdown(path: Path, root: Path, rel: str, used: set[Path]) -> Article:
    """One Markdown file as an article; `used` collects the includes it pulled in."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    meta, body = front_matter(raw)
    text = expand(body, path.parent, root, used)
    return article_from_blocks(rel, blocks(text), title=meta.get("title", ""),
                               language=_meta_language(meta),
                               url=meta.get("url") or meta.get("permalink") or "", meta=meta)


def _meta_language(meta: dict[str, Any]) -> str:
    for key in ("lang", "language", "locale"):
        value = str(meta.get(key) or "").strip()
        if value:
            return value.replace("_", "-").split("-")[0].lower()
    return ""
