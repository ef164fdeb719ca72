"""One charset mapping for everything we decode: bodies, encoded-words and raw headers.

Mail labels charsets the way its authors' software did, not always truthfully; browsers
settled on reading some labels as their supersets (`iso-8859-1` as cp1252, `us-ascii` as
utf-8), and so do we, for a body part and for an `=?iso-8859-1?q?...?=` header word alike.

Whatever decodes here comes out without NUL characters (each becomes U+FFFD): a NUL is
never text in mail, and a PostgreSQL text column refuses it, so one in a subject or body
would fail the mail's commit again at every retry.
"""

from __future__ import annotations

# labels that real mail uses for something else (browsers do the same)
CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
}
_NO_CHARSET = ("", "unknown-8bit", "x-unknown", "8bit", "default")


def codec_for(charset: str | None) -> str:
    """The codec we decode a declared charset label with ("" when it names none)."""
    label = (charset or "").strip().strip('"').lower()
    return CHARSET_ALIASES.get(label, label)


def without_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset -> str, never raising (utf-8, then cp1252 fallbacks)."""
    codec = codec_for(charset)
    for candidate in (codec, "utf-8"):
        if candidate in _NO_CHARSET:
            continue
        try:
            return without_nul(data.decode(candidate))
        except (LookupError, UnicodeError, ValueError):  # idna/punycode raise UnicodeError
            continue
    return decode_unlabelled(data)


def decode_unlabelled(data: bytes) -> str:
    """Bytes with no (usable) label, such as raw 8-bit header values: utf-8, else cp1252
    (latin-1 for the five bytes cp1252 leaves undefined)."""
    try:
        return without_nul(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        return without_nul(data.decode("cp1252"))
    except UnicodeDecodeError:
        return without_nul(data.decode("latin-1"))
