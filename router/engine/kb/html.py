"""An HTML help article to blocks: a help-centre page or a Confluence space export.

The standard library's tolerant parser builds a small tree; the article is the page's
main content: Confluence's `#main-content` (its breadcrumbs, "Created by ..." line and
footer lie outside it), else `<main>`, else `<article>`, else `<body>`. The title is
Confluence's `#title-text` without the space name ("Support : Reset a password"), else
`<title>`, else the first heading. `<html lang>` gives the language and
`<link rel="canonical">` the address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

from router.engine.kb.model import Article, Block, article_from_blocks

VOID: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                         "meta", "param", "source", "track", "wbr"})
SKIP: Final = frozenset({"script", "style", "noscript", "template", "nav", "header", "footer",
                         "aside", "form", "button", "svg", "select", "iframe", "head"})
HEADINGS: Final = {f"h{n}": n for n in range(1, 7)}
BLOCKS: Final = frozenset({"p", "div", "section", "blockquote", "dd", "dt", "figcaption",
                           "caption", "td", "th", "summary", "details", "main", "article",
                           "body", "table", "tbody", "thead", "tr", "ul", "ol", "li", "pre",
                           "dl", "center", "html"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def find(self, test: object) -> Node | None:
        for child in self.children:
            if isinstance(child, Node):
                if test(child):  # type: ignore[operator]
                    return child
                found = child.find(test)
                if found is not None:
                    return found
        return None

    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(
            c if isinstance(c, str) else c.text() for c in self.children
            if isinstance(c, str) or c.tag not in SKIP - {"head"})).strip()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):  # tolerate unclosed elements
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


class _Run:
    """The inline text gathered since the last block, and how much of it is links."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.outside: list[str] = []  # text not inside a link
        self.links = 0

    def add(self, text: str, *, link: bool = False) -> None:
        self.parts.append(text)
        if link:
            self.links += 1
        else:
            self.outside.append(text)

    def take(self) -> tuple[str, bool]:
        text = re.sub(r"\s+", " ", "".join(self.parts)).strip()
        only_links = bool(self.links) and not re.sub(r"[\W_]+", "", "".join(self.outside))
        self.parts, self.outside, self.links = [], [], 0
        return text, only_links


def _blocks(node: Node, out: list[Block], lists: list[list[int]]) -> None:
    """Walk `node`, emitting a block for each heading, paragraph, list item and code."""
    run = _Run()

    def flush() -> None:
        text, only = run.take()
        if text:
            out.append(_item(text, only, lists) if node.tag == "li" else
                       Block("text", text, links_only=only))

    for child in node.children:
        if isinstance(child, str):
            run.add(child)
        elif child.tag in SKIP or child.tag == "img":
            continue
        elif child.tag in HEADINGS:
            flush()
            out.append(Block("heading", child.text(), HEADINGS[child.tag],
                             anchor=child.attrs.get("id", "")))
        elif child.tag == "pre":
            flush()
            out.append(Block("code", "".join(_raw(child)).strip()))
        elif child.tag in ("ul", "ol"):
            flush()
            lists.append([1 if child.tag == "ol" else 0])
            _blocks(child, out, lists)
            lists.pop()
        elif child.tag == "br":
            run.add(" ")
        elif child.tag in BLOCKS:
            flush()
            _blocks(child, out, lists)
        else:  # inline markup: a, span, strong, code, kbd...
            run.add(child.text(), link=child.tag == "a")
    flush()


def _raw(node: Node) -> list[str]:
    return [c if isinstance(c, str) else "".join(_raw(c)) for c in node.children]


def _item(text: str, only_links: bool, lists: list[list[int]]) -> Block:
    number = 0
    if lists and lists[-1][0]:
        number = lists[-1][0]
        lists[-1][0] += 1
    return Block("item", text, level=max(1, len(lists)), links_only=only_links, number=number)


def _by_id(name: str) -> object:
    return lambda n: n.attrs.get("id") == name


def read_html(path: Path, rel: str) -> Article:
    tree = parse(path.read_text(encoding="utf-8", errors="replace"))
    html = tree.find(lambda n: n.tag == "html")
    language = (html.attrs.get("lang", "") if html else "").replace("_", "-").split("-")[0].lower()
    canonical = tree.find(lambda n: n.tag == "link" and n.attrs.get("rel") == "canonical")
    url = canonical.attrs.get("href", "") if canonical else ""
    title = ""
    confluence = tree.find(_by_id("title-text"))
    if confluence is not None:
        title = confluence.text().split(" : ", 1)[-1]
    else:
        head_title = tree.find(lambda n: n.tag == "title")
        title = head_title.text() if head_title else ""
    main = (tree.find(_by_id("main-content")) or tree.find(lambda n: n.tag == "main")
            or tree.find(lambda n: n.tag == "article") or tree.find(lambda n: n.tag == "body")
            or tree)
    out: list[Block] = []
    _blocks(main, out, [])
    h1 = next((b.text for b in out if b.kind == "heading" and b.level == 1), "")
    if confluence is None and h1:
        title = h1  # a page's own heading beats its <title> ("Reset | Help Center")
    return article_from_blocks(rel, out, title=title, language=language, url=url)
