"""A help-centre export (a folder, one file, or a .zip of either) to articles.

Markdown (`.md`, `.markdown`, `.mdx`) and HTML (`.html`, `.htm`) files are articles, in
folder order; fragments that articles include, and the folders an export keeps its
assets in (`include/`, `attachments/`, `images/`, `styles/`...), are not. Each article's
language is, in this order: its own (front matter `lang`, `<html lang>`), a folder or
file-name part naming one (`sv/reset.md`, `reset.fi.md`), the `--language` given, what
the rules' language detector reads in it, else unknown. Its address is its own (front
matter `url`, `<link rel="canonical">`) or `base_url` + its path (Markdown without the
extension: `delete-a-message.md` -> `https://example.com/help/delete-a-message`).
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from router.domain.errors import RouterError
from router.engine.kb.html import read_html
from router.engine.kb.markdown import read_markdown
from router.engine.kb.model import Article

MARKDOWN: Final = frozenset({".md", ".markdown", ".mdx"})
HTML: Final = frozenset({".html", ".htm"})
SKIP_DIRS: Final = frozenset({"include", "includes", "_include", "_includes", "attachments",
                              "images", "img", "static", "_static", "assets", "styles", "css",
                              "js", "node_modules", ".git", "__macosx"})
MAX_ZIP_BYTES: Final = 512 * 1024 * 1024  # uncompressed: a zip bomb stops here
MAX_ZIP_FILES: Final = 50_000
DETECT_CHARS: Final = 600  # of an article's text read by the language detector
LANGUAGE_PART: Final = re.compile(r"^([a-z]{2})(?:[-_][A-Za-z]{2,4})?$")

Detect = Callable[[str], str]  # text -> language code, "" when unsure


class KbImportError(RouterError):
    """The export cannot be read (missing, empty, an unsafe archive)."""


@dataclass
class Export:
    articles: list[Article]
    skipped: list[str] = field(default_factory=list)  # "path: reason"
    files: int = 0


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The folder to read: `path` itself, or a .zip unpacked to a temporary folder."""
    if not path.exists():
        raise KbImportError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="kb-") as tmp:
            _unzip(path, Path(tmp))
            yield Path(tmp)
        return
    yield path


def _unzip(path: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_FILES or sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
                raise KbImportError(f"{path}: the archive is larger than an export can be "
                                    f"({MAX_ZIP_FILES} files, {MAX_ZIP_BYTES >> 20} MB)")
            for info in infos:
                name = Path(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise KbImportError(f"{path}: unsafe path in the archive: {info.filename}")
            archive.extractall(target)
    except zipfile.BadZipFile as exc:
        raise KbImportError(f"{path}: not a zip archive ({exc})") from exc


def article_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root] if root.suffix.lower() in MARKDOWN | HTML else []
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if (p.is_file() and p.suffix.lower() in MARKDOWN | HTML
                and not any(part.lower() in SKIP_DIRS or part.startswith(".") for part in rel[:-1])):
            out.append(p)
    return out


def read_export(path: Path, *, base_url: str = "", language: str = "",
                languages: frozenset[str] = frozenset(), detect: Detect | None = None) -> Export:
    """Every article of the export at `path` (a folder, a file or a .zip)."""
    with opened(path) as root:
        files = article_files(root)
        if not files:
            raise KbImportError(f"{path}: no Markdown or HTML files found")
        base = root if root.is_dir() else root.parent
        used: set[Path] = set()
        read: list[tuple[Path, Article]] = []
        for f in files:
            rel = f.relative_to(base).as_posix()
            if f.suffix.lower() in MARKDOWN:
                read.append((f, read_markdown(f, base, rel, used)))
            else:
                read.append((f, read_html(f, rel)))
    export = Export([], files=len(files))
    for f, article in read:
        if f.resolve() in used:
            continue  # a fragment other articles include
        if not article.sections:
            export.skipped.append(f"{article.path}: no text")
            continue
        lang = (article.language or _path_language(article.path, languages) or language
                or (detect(_sample(article)) if detect else ""))
        export.articles.append(replace(article, language=lang,
                                       url=article.url or _url(base_url, article.path)))
    return export


def _path_language(path: str, languages: frozenset[str]) -> str:
    parts = path.split("/")
    names = [*parts[:-1], *parts[-1].split(".")[1:-1]]  # folders, and "reset.sv.md"
    for name in names:
        m = LANGUAGE_PART.match(name)
        if m and m.group(1).lower() in languages:
            return m.group(1).lower()
    return ""


def _sample(article: Article) -> str:
    return " ".join([article.title, *(s.text for s in article.sections)])[:DETECT_CHARS]


def _url(base_url: str, path: str) -> str:
    if not base_url:
        return ""
    if Path(path).suffix.lower() in MARKDOWN:
        path = path.rsplit(".", 1)[0]
        if path.split("/")[-1].lower() in ("index", "readme", "_index"):
            path = path.rsplit("/", 1)[0] if "/" in path else ""
    return base_url.rstrip("/") + "/" + path if path else base_url
