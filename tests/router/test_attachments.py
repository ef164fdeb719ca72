"""What a file is and whether it is taken (by content, not name), keeping it under a limit,
and cutting an email attachment out of the raw mail by the part the parser named
(issue 24: router/web/attachments)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from channels.email.parse import parse_email
from channels.email.state import RawStore
from router.web.attachments.keep import FileKeeper, Kept
from router.web.attachments.serve import disposition, email_part
from router.web.attachments.sniff import check, safe_name, sniff

ZIP_HEAD = b"PK\x03\x04" + b"\x00" * 22


@pytest.mark.parametrize(("head", "mime", "taken"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", True),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", True),
    (b"GIF89a\x01\x00", "image/gif", True),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp", True),
    (b"%PDF-1.7\n", "application/pdf", True),
    ("Hej! Här är min fråga.\nRad två\tmed tabb.".encode(), "text/plain", True),
    ("Привіт".encode()[:-1], "text/plain", True),  # a character cut at the end of the head
    (ZIP_HEAD + b"[Content_Types].xml...word/document.xml", "application/vnd."
     "openxmlformats-officedocument.wordprocessingml.document", True),
    (b"PK\x03\x04" + b"\x00" * 22 + b"\x08\x00\x00\x00mimetype"
     b"application/vnd.oasis.opendocument.textPK\x03\x04", "application/vnd.oasis."
     "opendocument.text", True),
    (b"MZ\x90\x00\x03", "application/x-msdownload", False),
    (b"\x7fELF\x02\x01", "application/x-executable", False),
    (b"#!/bin/sh\nrm -rf /", "text/x-script", False),
    (ZIP_HEAD + b"payload.exe", "application/zip", False),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", False),
    (b"  <!DOCTYPE html><html>", "text/html", False),
    (b'<?xml version="1.0"?>\n<!-- x -->\n<svg xmlns="http://www.w3.org/2000/svg">',
     "image/svg+xml", False),
    (bytes(range(256)), "application/octet-stream", False),
    (b"text\x00with a NUL", "application/octet-stream", False),
])
def test_the_type_comes_from_the_first_bytes(head: bytes, mime: str, taken: bool) -> None:
    found = sniff(head)
    assert found.mime == mime
    assert (check("x", found) is None) is taken


def test_refusals_name_the_file_and_what_it_really_is() -> None:
    refused = check("faktura.png", sniff(b"MZ\x90\x00"))
    assert refused is not None and refused.status == 415
    assert refused.message.startswith("“faktura.png” is a Windows program, not a PNG image, "
                                      "and was not accepted.")
    assert "an SVG image" in check("a.svg", sniff(b"<svg>")).message  # type: ignore[union-attr]
    assert safe_name("../../etc/pass\x00wd", sniff(b"%PDF-")) == "passwd.pdf"
    assert safe_name('C:\\Users\\a\\"x".png') == "x.png"
    assert disposition("attachment", "faktura maj – Åsa.pdf") == (
        "attachment; filename=\"faktura maj _ _sa.pdf\"; "
        "filename*=UTF-8''faktura%20maj%20%E2%80%93%20%C3%85sa.pdf")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_keeping_is_content_addressed_and_cut_at_the_limit(tmp_path: Path) -> None:
    keeper = FileKeeper(tmp_path, "webchat", max_bytes=10_000)
    body = b"%PDF-1.7\n" + b"x" * 5000
    kept = await keeper.keep("a.pdf", _chunks(body[:100], body[100:]))
    assert isinstance(kept, Kept) and kept.stored == f"attachments/webchat/{kept.sha256}"
    assert (tmp_path / kept.stored).read_bytes() == body
    again = await keeper.keep("b.pdf", _chunks(body))
    assert isinstance(again, Kept) and again.stored == kept.stored  # one file
    over = await keeper.keep("big.pdf", _chunks(b"%PDF-" + b"x" * 6000, b"y" * 6000))
    assert not isinstance(over, Kept) and over.code == "too_large"
    declared = await keeper.keep("big.pdf", _chunks(b""), declared=30 * 1024 * 1024)
    assert not isinstance(declared, Kept) and "is 30.0 MB" in declared.message
    refused = await keeper.keep("x.png", _chunks(b"MZ" + b"\x00" * 5000, b"\x00" * 100))
    assert not isinstance(refused, Kept) and refused.code == "type"
    assert sorted(p.name for p in (tmp_path / "attachments" / "webchat").iterdir()) == [
        kept.sha256]  # nothing half-written or refused is left behind
    assert keeper.describe(kept.sha256, "c.pdf").name == "c.pdf"  # type: ignore[union-attr]
    assert keeper.describe("0" * 64) is None and keeper.describe("../x") is None


def test_email_attachments_are_cut_from_the_raw_mail(tmp_path: Path) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "asa@example.net", "s@example.com", "Kvitto"
    mail["Message-ID"] = "<m1@example.net>"
    mail.set_content("Hej, kvittot bifogas.")
    mail.add_alternative("<p>Hej, kvittot bifogas.</p>", subtype="html")
    mail.add_attachment(b"%PDF-1.4 kvitto", maintype="application", subtype="pdf",
                        filename="kvitto.pdf")
    mail.add_attachment(b"\x89PNG\r\n\x1a\nbild", maintype="image", subtype="png",
                        filename="bild.png")
    raw = mail.as_bytes()
    ref = RawStore(tmp_path / "email" / "raw").put(raw)
    parsed = parse_email(raw, raw_ref=ref)
    assert [a.name for a in parsed.attachments] == ["kvitto.pdf", "bild.png"]
    assert [email_part(tmp_path, a.ref) for a in parsed.attachments] == [
        b"%PDF-1.4 kvitto", b"\x89PNG\r\n\x1a\nbild"]
    assert email_part(tmp_path, ref + "#9") is None
    assert email_part(tmp_path, "email-raw:" + "0" * 64 + "#1") is None
