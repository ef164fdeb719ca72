"""The imported knowledge base on disk: `<data_dir>/kb/articles.json`.

One JSON file holds every imported source (a help centre's export, named by `--source`,
by default its folder's or file's name). Importing a source again replaces that source's
articles as a whole: articles keep their ids (made from the source and the article's
path), changed ones are updated, vanished ones removed, so a re-import never duplicates.
A section's id is made from its article and its heading's anchor, so "Did you mean"
buttons sent before a re-import still find their section after it.

The file is written whole to a temporary file and renamed over the old one (a reader
never sees half of it; a crash leaves the old file), under an exclusive lock so that
two imports at once do not lose each other's sources. The service watches it and
reloads the bots when it changes (router/service.py), as it does for config files.
The bots never read it: router/wiring.py loads the sections and hands them over.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from router.domain.errors import RouterError
from router.engine.kb.model import Article
from router.engine.kb.reader import Export

FORMAT: Final = 1
FILE_NAME: Final = "articles.json"


class KbFileError(RouterError):
    """The knowledge-base file exists but cannot be read."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    source: str
    articles: int
    sections: int
    added: int
    updated: int
    unchanged: int
    removed: int
    skipped: list[str]


def kb_file(data_dir: Path) -> Path:
    return data_dir / "kb" / FILE_NAME


def _digest(*parts: str, size: int = 12) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:size]


def _article_record(source: str, article: Article) -> dict[str, Any]:
    article_id = _digest(source, article.path)
    sections, anchors = [], set()
    for section in article.sections:
        anchor = section.anchor
        n = 2
        while anchor in anchors:  # two "Examples" headings in one article
            anchor, n = f"{section.anchor}-{n}", n + 1
        anchors.add(anchor)
        url = f"{article.url}#{section.anchor}" if article.url and section.anchor else article.url
        sections.append({"id": _digest(article_id, anchor, size=10), "anchor": anchor,
                         "heading": section.heading, "text": section.text, "url": url})
    record = {"id": article_id, "path": article.path, "title": article.title,
              "language": article.language, "url": article.url, "sections": sections}
    record["digest"] = _digest(json.dumps(record, sort_keys=True, ensure_ascii=False), size=16)
    return record


def read(path: Path) -> dict[str, Any]:
    """The file's content ({"format", "sources"}), empty when there is none yet."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"format": FORMAT, "sources": {}}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise KbFileError(f"{path}: not readable JSON ({exc}); import the knowledge base "
                          "again, or delete the file") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise KbFileError(f"{path}: not a knowledge-base file; import the knowledge base "
                          "again, or delete the file")
    return data


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".articles-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: Path, source: str, export: Export, *, origin: str, now: datetime) -> ImportReport:
    """Replace `source`'s articles with `export`'s; what changed, counted."""
    records = [_article_record(source, a) for a in export.articles]
    with _locked(path):
        data = read(path)
        old = {a["id"]: a for a in data["sources"].get(source, {}).get("articles", [])}
        new_ids = {r["id"] for r in records}
        added = sum(r["id"] not in old for r in records)
        unchanged = sum(r["id"] in old and old[r["id"]].get("digest") == r["digest"]
                        for r in records)
        data["format"] = FORMAT
        data["sources"][source] = {"origin": origin, "imported_at": now.isoformat(
            timespec="seconds"), "articles": records}
        _write(path, data)
    return ImportReport(source, len(records), sum(len(r["sections"]) for r in records),
                        added, len(records) - added - unchanged, unchanged,
                        len(old.keys() - new_ids), list(export.skipped))


def remove(path: Path, source: str) -> int:
    """Forget a source; the number of articles it had (0: there was no such source)."""
    with _locked(path):
        data = read(path)
        gone = data["sources"].pop(source, None)
        if gone is None:
            return 0
        _write(path, data)
    return len(gone.get("articles", []))


def sources(path: Path) -> list[dict[str, Any]]:
    out = []
    for name, src in sorted(read(path)["sources"].items()):
        articles = src.get("articles", [])
        out.append({"source": name, "origin": src.get("origin", ""),
                    "imported_at": src.get("imported_at", ""), "articles": len(articles),
                    "sections": sum(len(a.get("sections", [])) for a in articles),
                    "languages": sorted({a.get("language") or "?" for a in articles})})
    return out


def load_sections(path: Path) -> list[dict[str, Any]]:
    """Every section, flat, as the bots take them; a section whose title, heading and
    text another one already has (the same export imported twice under two names) once."""
    out, seen = [], set()
    for _, src in sorted(read(path)["sources"].items()):
        for a in src.get("articles", []):
            for s in a.get("sections", []):
                key = (a.get("title", ""), s.get("heading", ""), s.get("text", ""))
                if key in seen:
                    continue
                seen.add(key)
                out.append({"id": s["id"], "article": a["id"], "title": a.get("title", ""),
                            "heading": s.get("heading", ""), "text": s.get("text", ""),
                            "language": a.get("language", ""), "url": s.get("url", "")})
    return out


def report_dict(report: ImportReport) -> dict[str, Any]:
    return asdict(report)
