"""An agent's files in an email reply (issue 24): MIME parts with the sniffed type and the
file's name, and a file gone from disk is a permanent error."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from channels.email.compose import compose_reply
from router.domain.errors import ChannelError
from router.domain.model import AuthorKind, OutboundMessage

PDF = b"%PDF-1.7\n" + b"0" * 2000


def _out(*files: dict[str, object]) -> OutboundMessage:
    return OutboundMessage(
        outbox_id=1, idempotency_key="k1", channel="email", thread_key="t@example.net",
        recipient="asa.oberg@example.net", text="Här är fakturan.", author_kind=AuthorKind.AGENT,
        author_name="Anna Berg", conversation_id=42, metadata={"attachments": list(files)})


def test_files_become_parts_beside_the_text(tmp_path: Path) -> None:
    pdf = tmp_path / "upload"
    pdf.write_bytes(PDF)
    mail, _ = compose_reply(_out({"kind": "file", "name": "faktura maj – Åsa.pdf",
                                  "mime": "application/pdf", "path": str(pdf)}),
                            from_address="support@example.com", from_name="Kundtjänst")
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "Här är fakturan."
    files = list(parsed.iter_attachments())
    assert [(f.get_content_type(), f.get_filename()) for f in files] == [
        ("application/pdf", "faktura maj – Åsa.pdf")]
    assert files[0].get_payload(decode=True) == PDF


def test_a_file_gone_from_disk_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(ChannelError) as caught:
        compose_reply(_out({"kind": "file", "name": "gone.pdf", "mime": "application/pdf",
                            "path": str(tmp_path / "missing")}),
                      from_address="support@example.com", from_name="S")
    assert caught.value.permanent and "gone.pdf" in str(caught.value)
