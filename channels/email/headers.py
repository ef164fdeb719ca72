"""The header block of a raw message, read on its own, before and apart from the body.

Whatever the body holds (MIME nested 1,500 deep, a boundary that never comes, binary
junk), the headers are a few lines at the top: read them alone and a mail always keeps its
From, Message-ID and Subject. Values are decoded here, once, the same way for every
header: raw 8-bit bytes (which RFC 5322 forbids and many mailers send) as UTF-8, else
cp1252; RFC 2047 encoded-words through the charset mapping the body uses
(`channels.email.charsets`), so `=?iso-8859-1?q?...?=` gets cp1252 like a body part would.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.utils import getaddresses, parseaddr

from channels.email.charsets import decode_text, decode_unlabelled, without_nul

MAX_HEADER_BYTES = 1024 * 1024  # a header block larger than this is cut (with a defect)
MAX_VALUE_CHARS = 64 * 1024  # one header value, as parsed for addresses or ids
_FIELD = re.compile(rb"^([!-9;-~]{1,200})[ \t]*:(.*)$", re.DOTALL)
_LINE_END = re.compile(rb"\r?\n")
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def head_and_body(raw: bytes) -> tuple[bytes, int]:
    """(the header block, the offset where the body starts; len(raw) without a body)."""
    m = re.search(rb"\r?\n\r?\n", raw[: MAX_HEADER_BYTES + 4])
    if m is None:
        return raw[:MAX_HEADER_BYTES], len(raw)
    if raw.startswith((b"\r\n", b"\n")):  # an empty header block
        return b"", len(b"\r\n" if raw.startswith(b"\r\n") else b"\n")
    return raw[: m.start()], m.end()


def decode_words(value: str) -> str:
    """RFC 2047 encoded-words decoded; adjacent words (only whitespace between them) are
    joined without it, and their bytes decoded together, so a character split over two
    words survives. A malformed word is left as it is."""
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # (charset, bytes) of adjacent words
    pos = 0

    def flush() -> None:
        while pending:
            charset = pending[0][0]
            data = b""
            while pending and pending[0][0] == charset:
                data += pending.pop(0)[1]
            out.append(decode_text(data, charset))

    for m in _WORD.finditer(value):
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:
            continue  # not a valid word: stays as text (the next gap includes it)
        between = value[pos : m.start()]
        if not pending or between.strip():  # whitespace between two words is dropped
            flush()
            out.append(between)
        pending.append((m.group(1).lower(), data))
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "bB":
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
        return binascii.a2b_qp(text.encode("ascii"), header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


class Headers:
    """The header fields of one message, in order; names compare case-insensitively."""

    def __init__(self, block: bytes) -> None:
        self.defects: list[str] = []
        if len(block) >= MAX_HEADER_BYTES:
            self.defects.append(f"header block over {MAX_HEADER_BYTES} bytes; the rest is ignored")
        self._fields: list[tuple[str, str]] = []  # (lower-case name, unfolded raw value)
        lines = _LINE_END.split(block)
        if lines and lines[0].startswith(b"From "):  # an mbox separator line
            lines = lines[1:]
        name: bytes | None = None
        value: list[bytes] = []
        for line in lines:
            if line[:1] in (b" ", b"\t") and name is not None:
                value.append(line)
                continue
            if name is not None:
                self._add(name, value)
                name = None
            m = _FIELD.match(line)
            if m is None:
                if line.strip():
                    self.defects.append("header line without a field name skipped")
                continue
            name, value = m.group(1), [m.group(2)]
        if name is not None:
            self._add(name, value)

    def _add(self, name: bytes, value: list[bytes]) -> None:
        data = b"\r\n".join(value)
        text = without_nul(data.decode("ascii")) if data.isascii() else decode_unlabelled(data)
        self._fields.append((name.decode("ascii").lower(), _FOLD.sub("", text).strip()))

    def raw(self, name: str) -> str:
        """The first value of `name`, unfolded, 8-bit bytes decoded, encoded-words not."""
        key = name.lower()
        return next((v for n, v in self._fields if n == key), "")

    def raw_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for n, v in self._fields if n == key]

    def get(self, name: str) -> str:
        """The first value of `name`, decoded for display; "" when absent."""
        return decode_words(self.raw(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n == name.lower() for n, _ in self._fields)

    def addresses(self, *names: str) -> list[tuple[str, str]]:
        """(display name, address in lower case) of every address in the `names` fields.

        Parsed before encoded-words are decoded, so a comma or bracket inside an encoded
        display name cannot split or invent an address."""
        values = [v[:MAX_VALUE_CHARS] for n in names for v in self.raw_all(n) if v]
        try:
            pairs = getaddresses(values)
        except Exception:
            pairs = [parseaddr(v) for v in values]
        found = []
        for display, addr in pairs:
            addr = addr.strip().lower()
            if "@" in addr and " " not in addr:
                found.append((" ".join(decode_words(display).split()), addr))
        return found

    def content_type(self) -> str:
        """The top-level content type, lower case (`text/plain` when absent)."""
        value = self.raw("Content-Type").split(";", 1)[0].strip().lower()
        return value if "/" in value else "text/plain"
