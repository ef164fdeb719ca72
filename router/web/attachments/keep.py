"""Content-addressed storage of received and uploaded files (issue 24).

A file is written to `<data_dir>/attachments/<source>/.part-<random>` while it arrives,
counting bytes and hashing; its first bytes decide its type (`sniff`) before the rest is
read, so a refused file stops the upload early and is never kept, and a file over the
limit is cut off at the limit. A taken file is fsynced and renamed to its SHA-256: the
same file sent twice is one file, as Telegram downloads already are
(`attachments/telegram/<sha256>`). Messages refer to it by that relative path (`stored`),
which is also what data export and erasure follow (router/engine/privacy/files.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from router.web.attachments.sniff import ALLOWED, HEAD, Refusal, Sniffed, check, safe_name, sniff
from router.web.attachments.sniff import too_large as too_large_refusal

ROOT: Final = "attachments"
#: the agents' uploads (replies with files) are kept apart from what customers sent
UPLOADS: Final = "console"
DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Kept:
    stored: str  # relative to the data dir: attachments/<source>/<sha256>
    sha256: str
    size: int
    name: str
    found: Sniffed

    def attachment(self, caption: str = "") -> dict[str, Any]:
        """The attachment as a message keeps it (the keys of `model.Attachment` plus where
        the file is)."""
        return {"kind": self.found.kind, "name": self.name, "mime": self.found.mime,
                "size": self.size, "ref": "", "caption": caption, "stored": self.stored,
                "sha256": self.sha256, "stored_size": self.size}


class FileKeeper:
    """Takes files for one source (`webchat`, `console`) under one data dir."""

    def __init__(self, data_dir: Path, source: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 allowed: frozenset[str] = ALLOWED) -> None:
        self.data_dir = data_dir
        self.relative = Path(ROOT) / source
        self.root = data_dir / self.relative
        self.max_bytes = max_bytes
        self.allowed = allowed

    def too_large(self, name: str, size: int) -> Refusal:
        return too_large_refusal(safe_name(name), size, self.max_bytes)

    async def keep(self, name: str, chunks: AsyncIterable[bytes],
                   declared: int | None = None) -> Kept | Refusal:
        """Store the file the chunks make up, or say why not. `declared` (a
        Content-Length) larger than the limit is refused before a byte is read."""
        if declared is not None and declared > self.max_bytes:
            return self.too_large(name, declared)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".part-{uuid.uuid4().hex}"
        digest, size, head, found = hashlib.sha256(), 0, b"", None
        try:
            with tmp.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        return self.too_large(name, declared if declared else size)
                    if found is None:
                        head += chunk
                        if len(head) >= HEAD:
                            found = sniff(head[:HEAD])
                            if (refused := check(safe_name(name), found, self.allowed)):
                                return refused
                    digest.update(chunk)
                    out.write(chunk)
                if size == 0:
                    return Refusal("empty", "The file is empty.", 400)
                if found is None:
                    found = sniff(head)
                    if (refused := check(safe_name(name), found, self.allowed)):
                        return refused
                await asyncio.to_thread(_sync, out)
            sha = digest.hexdigest()
            os.replace(tmp, self.root / sha)
        finally:
            tmp.unlink(missing_ok=True)
        return Kept(str(self.relative / sha), sha, size, safe_name(name, found), found)

    def uploaded(self, sha: str) -> Path | None:
        """The kept file with this SHA-256, or None (not a digest, or not here)."""
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            return None
        path = self.root / sha
        return path if path.is_file() else None

    def describe(self, sha: str, name: str = "") -> Kept | None:
        """A file kept earlier, as `keep` returned it (type sniffed again)."""
        path = self.uploaded(sha)
        if path is None:
            return None
        with path.open("rb") as fh:
            found = sniff(fh.read(HEAD))
        if check("", found, self.allowed) is not None:
            return None
        return Kept(str(self.relative / sha), sha, path.stat().st_size,
                    safe_name(name, found), found)


def _sync(out: Any) -> None:
    out.flush()
    os.fsync(out.fileno())


def inside(data_dir: Path, relative: str) -> Path | None:
    """`relative` under the data dir, or None when it would leave it."""
    root = data_dir.resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path != root else None
