"""What a file is, from its first bytes; which files we take (issue 24).

A name or a claimed type says nothing: `invoice.png` that starts with `MZ` is a Windows
program. The first `HEAD` bytes decide the type; only the types in `ALLOWED` are taken
(raster images, PDF, plain text and Office documents), everything else is refused with a
message that names what the file really is and what may be sent instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

HEAD: Final = 4096  # bytes read to decide a type
MB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sniffed:
    mime: str
    label: str  # for people: "PNG image", "Windows program"
    kind: str = "file"  # image (shown as a preview) or file
    extension: str = ""


PNG = Sniffed("image/png", "PNG image", "image", ".png")
JPEG = Sniffed("image/jpeg", "JPEG image", "image", ".jpg")
GIF = Sniffed("image/gif", "GIF image", "image", ".gif")
WEBP = Sniffed("image/webp", "WebP image", "image", ".webp")
PDF = Sniffed("application/pdf", "PDF document", "file", ".pdf")
TEXT = Sniffed("text/plain", "text file", "file", ".txt")
DOCX = Sniffed("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "Word document", "file", ".docx")
XLSX = Sniffed("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "Excel workbook", "file", ".xlsx")
PPTX = Sniffed("application/vnd.openxmlformats-officedocument.presentationml.presentation",
               "PowerPoint presentation", "file", ".pptx")
ODT = Sniffed("application/vnd.oasis.opendocument.text", "OpenDocument text", "file", ".odt")
ODS = Sniffed("application/vnd.oasis.opendocument.spreadsheet", "OpenDocument spreadsheet",
              "file", ".ods")
ODP = Sniffed("application/vnd.oasis.opendocument.presentation", "OpenDocument presentation",
              "file", ".odp")

#: what is taken; every other type (and anything unrecognised) is refused
ALLOWED: Final = frozenset({PNG.mime, JPEG.mime, GIF.mime, WEBP.mime, PDF.mime, TEXT.mime,
                            DOCX.mime, XLSX.mime, PPTX.mime, ODT.mime, ODS.mime, ODP.mime})
#: shown inline (a preview); anything else is only downloaded
IMAGES: Final = frozenset({PNG.mime, JPEG.mime, GIF.mime, WEBP.mime})
WHAT_MAY_BE_SENT: Final = "images (PNG, JPEG, GIF, WebP), PDF, text and Office documents"

_ZIP = b"PK\x03\x04"
_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<script|<iframe)", re.I)
_SVG = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!doctype\s+svg|<svg)", re.I | re.S)


def sniff(head: bytes) -> Sniffed:
    """The type of a file whose first bytes are `head` (at least `HEAD` of them, or the
    whole file). Never fails: unknown content is `application/octet-stream`."""
    for magic, found in _MAGIC:
        if head.startswith(magic):
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(_ZIP):
        return _zip(head)
    if _HTML.match(head):
        return Sniffed("text/html", "web page")
    if _SVG.match(head):
        return Sniffed("image/svg+xml", "SVG image (it can carry scripts)")
    if head[:3] == b"\xef\xbb\xbf" or _is_text(head):
        return TEXT
    return Sniffed("application/octet-stream", "file of an unknown type")


_MAGIC: Final[tuple[tuple[bytes, Sniffed], ...]] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"%PDF-", PDF),
    (b"MZ", Sniffed("application/x-msdownload", "Windows program")),
    (b"\x7fELF", Sniffed("application/x-executable", "Linux program")),
    (b"\xcf\xfa\xed\xfe", Sniffed("application/x-mach-binary", "macOS program")),
    (b"\xce\xfa\xed\xfe", Sniffed("application/x-mach-binary", "macOS program")),
    (b"\xca\xfe\xba\xbe", Sniffed("application/x-mach-binary", "macOS or Java program")),
    (b"#!", Sniffed("text/x-script", "script")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", Sniffed("application/x-ole-storage",
                                                  "old Office file (it can carry macros)")),
    (b"Rar!\x1a\x07", Sniffed("application/vnd.rar", "RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", Sniffed("application/x-7z-compressed", "7-Zip archive")),
    (b"\x1f\x8b", Sniffed("application/gzip", "gzip archive")),
    (b"{\\rtf", Sniffed("application/rtf", "RTF document")),
)


def _zip(head: bytes) -> Sniffed:
    """Office Open XML and OpenDocument files are zip archives: tell them by the names of
    their first entries (an OOXML file starts with `[Content_Types].xml` or one of its
    parts; an OpenDocument file with an uncompressed `mimetype` entry)."""
    if head[30:38] == b"mimetype":
        start = 38 + int.from_bytes(head[28:30], "little")  # after the extra field
        declared = head[start:start + 80]
        for odf in (ODT, ODS, ODP):  # the entry holds the type alone; the next entry follows
            if declared.startswith(odf.mime.encode() + _ZIP):
                return odf
    if b"[Content_Types].xml" in head or b"_rels/.rels" in head:
        if b"word/" in head:
            return DOCX
        if b"xl/" in head:
            return XLSX
        if b"ppt/" in head:
            return PPTX
    return Sniffed("application/zip", "zip archive (it may hold anything)")


def _is_text(head: bytes) -> bool:
    """UTF-8 without NUL or other control bytes (tabs and line ends allowed); a character
    cut at the end of `head` does not count against it."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a file is not taken; `code` for programs, `message` for people (English)."""

    code: str  # too_large, type, empty
    message: str
    status: int  # HTTP: 413 too large, 415 type, 400 empty


def size_text(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{max(1, round(size / 1024))} kB"


def too_large(name: str, size: int, limit: int) -> Refusal:
    what = f"“{name}”" if name else "The file"
    return Refusal("too_large", f"{what} is {size_text(size)}; files may be at most "
                   f"{size_text(limit)}.", 413)


def check(name: str, found: Sniffed, allowed: frozenset[str] = ALLOWED) -> Refusal | None:
    """None when a file of type `found` is taken, else why not."""
    if found.mime in allowed:
        return None
    what = f"“{name}”" if name else "The file"
    claimed = _claimed(name)
    looks = f", not {claimed}," if claimed and claimed != found.label else ""
    return Refusal("type", f"{what} is {_a(found.label)}{looks} and was not accepted. "
                   f"You can send {WHAT_MAY_BE_SENT}.", 415)


def _a(label: str) -> str:
    vowel = label[:1].lower() in "aeiou" or label.startswith(("SVG", "RTF"))
    return ("an " if vowel else "a ") + label


_BY_EXTENSION: Final = {".png": "a PNG image", ".jpg": "a JPEG image", ".jpeg": "a JPEG image",
                        ".gif": "a GIF image", ".webp": "a WebP image", ".pdf": "a PDF",
                        ".txt": "a text file", ".docx": "a Word document",
                        ".xlsx": "an Excel workbook"}


def _claimed(name: str) -> str:
    dot = name.rfind(".")
    return _BY_EXTENSION.get(name[dot:].lower(), "") if dot > 0 else ""


def safe_name(name: str, found: Sniffed | None = None, fallback: str = "file") -> str:
    """A file name to show and to put in Content-Disposition: no path, no control
    characters, at most 120 characters; the sniffed extension when it has none."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?').strip(" .")
    base = base[-120:] or fallback
    if found is not None and found.extension and "." not in base:
        base += found.extension
    return base
