"""Parsing: charsets, encodings, HTML-only mail, attachments, broken MIME, size, loop guards."""

from __future__ import annotations

import base64
import json
import tracemalloc
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from channels.email.parse import decode_text, parse_email, to_inbound
from channels.email.threads import ReplyTokens, normalise_subject, reply_tokens

AUTO = Path(__file__).parent / "auto"
OWN = ["support@example.com"]


def _mail(body: str = "Hello", **headers: str) -> EmailMessage:
    m = EmailMessage(policy=SMTP)
    m["From"] = headers.pop("From", "Anna <anna@example.org>")
    m["To"] = headers.pop("To", "support@example.com")
    m["Subject"] = headers.pop("Subject", "Question")
    m["Message-ID"] = headers.pop("Message_ID", "<q1@example.org>")
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body)
    return m


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("utf-8", "Hej åäö, привіт"),
        ("iso-8859-1", "Hej åäö ÅÄÖ"),
        ("windows-1252", "Smart “quotes” – and € sign"),
        ("koi8-u", "Привіт, ґанок і їжак"),
        ("iso-8859-15", "Grüße €"),
    ],
)
@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
def test_charsets_and_transfer_encodings(charset: str, text: str, cte: str) -> None:
    m = EmailMessage(policy=SMTP)
    m["From"] = "a@example.org"
    m["Subject"] = "x"
    m.set_content(text, charset=charset, cte=cte)
    assert parse_email(m.as_bytes()).visible_text == text


def test_mislabelled_charsets_never_crash() -> None:
    assert decode_text("åäö".encode(), "us-ascii") == "åäö"  # utf-8 labelled ascii
    assert decode_text("åäö".encode("cp1252"), "utf-8") == "åäö"  # cp1252 labelled utf-8
    assert decode_text(b"abc", "x-no-such-charset") == "abc"
    assert decode_text("ü".encode("latin-1"), "unknown-8bit") == "ü"


def test_encoded_words_in_headers() -> None:
    m = _mail(From="=?koi8-u?b?78zFzsE=?= <olena@example.ua>", Subject="=?iso-8859-1?q?V=E4lkommen?=")
    parsed = parse_email(m.as_bytes())
    assert parsed.sender_name == "Олена"
    assert parsed.subject == "Välkommen"


def test_encoded_words_split_characters_and_commas() -> None:
    """Adjacent words join without their whitespace, a character split over two words
    survives, and a comma inside an encoded display name does not split the address."""
    raw = (b'From: "=?utf-8?q?Str=C3=B6m=2C_=C3?= =?utf-8?q?=85ke?=" <ake@example.se>, x@y.z\r\n'
           b"Subject: =?utf-8?b?SGVq?=\r\n =?utf-8?b?IGTDpHI=?= och =?koi8-u?b?78zFzsE=?=\r\n\r\nhi\r\n")
    parsed = parse_email(raw)
    assert (parsed.sender_name, parsed.sender) == ("Ström, Åke", "ake@example.se")
    assert parsed.subject == "Hej där och Олена"


def test_html_only_mail_becomes_readable_text() -> None:
    m = EmailMessage(policy=SMTP)
    m["From"] = "a@example.org"
    m.set_content(
        "<html><head><style>.x{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Hello&nbsp;there,</p><ul><li>one</li><li>two</li></ul><p>Bye</p></body></html>",
        subtype="html",
    )
    parsed = parse_email(m.as_bytes())
    assert parsed.html_only
    assert parsed.visible_text == "Hello there,\n\n- one\n- two\n\nBye"


def test_attachments_and_inline_images_are_metadata_only() -> None:
    m = _mail("See attached")
    m.add_attachment(b"%PDF-1.4 " * 1000, maintype="application", subtype="pdf", filename="faktura åäö.pdf")
    m.add_attachment(b"\x89PNG" * 100, maintype="image", subtype="png", filename="shot.png")
    parsed = parse_email(m.as_bytes(), raw_ref="email-raw:abc")
    assert parsed.visible_text == "See attached"
    names = [(a.name, a.mime, a.kind) for a in parsed.attachments]
    assert names == [("faktura åäö.pdf", "application/pdf", "file"), ("shot.png", "image/png", "image")]
    assert abs(parsed.attachments[0].size - 9000) < 10
    assert parsed.attachments[0].ref.startswith("email-raw:abc#")


def test_500_attachments_are_capped() -> None:
    m = _mail("many files")
    for i in range(500):
        m.add_attachment(f"file {i}".encode(), maintype="text", subtype="csv", filename=f"f{i}.csv")
    parsed = parse_email(m.as_bytes(), max_attachments=100)
    assert len(parsed.attachments) == 100
    assert parsed.attachments_omitted == 400
    assert parsed.visible_text == "many files"


BROKEN = [
    # boundary declared but never used, and no end boundary
    b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=XYZ\r\n\r\nno parts here\r\n",
    # missing boundary parameter
    b"From: a@example.org\r\nContent-Type: multipart/alternative\r\n\r\n--foo\r\nhello\r\n",
    # broken base64, unknown charset, bad address header and garbage date
    b"From: <<<@@@>>>\r\nDate: yesterday-ish\r\nContent-Type: text/plain; charset=x-martian\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64@@@\r\n",
    # nested multiparts without end markers and a part without headers
    b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
    b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nbody text\r\n--a\r\n",
    # binary junk
    bytes(range(256)) * 20,
    b"",
    # invalid encoded words and a header line with no colon
    b"Subject: =?utf-8?q?broken=ZZ?= =?bogus?x?abc?=\r\nthis is not a header\r\nFrom: a@b\r\n\r\nhi\r\n",
]


@pytest.mark.parametrize("raw", BROKEN)
def test_broken_mime_is_tolerated(raw: bytes) -> None:
    parsed = parse_email(raw)
    inbound = to_inbound(parsed)
    assert inbound.external_id  # synthesised from the hash when there is no Message-ID
    assert isinstance(inbound.text, str)


def test_deeply_nested_mime_does_not_crash() -> None:
    depth = 2000
    head = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth))
    raw = b"From: a@example.org\r\n" + head.encode() + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    parsed = parse_email(raw)
    assert isinstance(parsed.visible_text, str)


def test_synthetic_message_id_is_stable() -> None:
    raw = b"From: a@example.org\r\nSubject: no id\r\n\r\nhi\r\n"
    assert parse_email(raw).message_id == parse_email(raw).message_id
    assert parse_email(raw).synthetic_id


def test_30_mb_message_is_parsed_within_bounded_memory() -> None:
    m = _mail("Big attachment below")
    m.add_attachment(
        b"\0" * (30 * 1024 * 1024 // 4 * 3),
        maintype="application",
        subtype="octet-stream",
        filename="big.bin",
    )
    raw = m.as_bytes()
    assert len(raw) > 30 * 1024 * 1024
    tracemalloc.start()
    try:
        parsed = parse_email(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed.visible_text == "Big attachment below"
    assert parsed.attachments[0].size > 20 * 1024 * 1024
    # the attachment is never decoded: peak stays a small multiple of the raw size
    assert peak < 4 * len(raw), f"peak {peak / 1e6:.0f} MB for {len(raw) / 1e6:.0f} MB"


def test_headers_only_import_for_oversized_mail() -> None:
    raw = _mail("x").as_bytes().split(b"\n\n", 1)[0] + b"\n\n"
    inbound = to_inbound(parse_email(raw, headers_only=True))
    assert "over the size limit" in inbound.text
    assert inbound.external_id == "q1@example.org"


# ---- loop guards --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("gmail_vacation.eml", "auto-submitted:auto-replied"),
        ("outlook_oof.eml", "x-auto-response-suppress"),
        ("bounce_dsn.eml", "empty-return-path"),
        ("mailing_list.eml", "list-id"),
    ],
)
def test_automatic_mail_is_flagged(name: str, reason: str) -> None:
    parsed = parse_email((AUTO / name).read_bytes(), own_addresses=OWN)
    assert parsed.is_automatic
    assert reason in parsed.automatic
    assert to_inbound(parsed).is_automatic


def test_bounce_has_every_reason() -> None:
    parsed = parse_email((AUTO / "bounce_dsn.eml").read_bytes())
    assert {"delivery-report", "robot-sender:mailer-daemon", "empty-return-path"} <= set(parsed.automatic)


def test_human_reply_with_auto_submitted_no_is_not_automatic() -> None:
    parsed = parse_email((AUTO / "human_reply.eml").read_bytes(), own_addresses=OWN)
    assert parsed.automatic == ()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Precedence": "junk"}, "precedence:junk"),
        ({"From": "no-reply@shop.example"}, "robot-sender:no-reply"),
        ({"From": "postmaster@example.net"}, "robot-sender:postmaster"),
        ({"From": "Support <SUPPORT@example.com>"}, "own-address"),
        ({"Auto_Submitted": "auto-generated"}, "auto-submitted:auto-generated"),
        ({"Subject": "Automaattinen vastaus: Lasku"}, "auto-subject"),
    ],
)
def test_loop_guard_headers(headers: dict[str, str], reason: str) -> None:
    parsed = parse_email(_mail(**headers).as_bytes(), own_addresses=OWN)
    assert reason in parsed.automatic


# ---- thread keys --------------------------------------------------------------------------
def test_thread_keys_from_references_token_and_subject() -> None:
    parsed = parse_email((AUTO / "human_reply.eml").read_bytes(), own_addresses=OWN)
    keys = parsed.threading
    assert keys.thread_key == "c42.0@mail.example.net"
    assert keys.aliases[0] == "ir.0123456789abcdef0123456789abcdef@example.com"
    assert "human.4@mail.gmail.com" in keys.aliases
    # a plain token (no mac) counts only from a participant: bound to the sender
    assert "pin:token:c42|anna.andersson@gmail.com" in keys.aliases
    assert keys.aliases[-1] == "subject:invoice missing|anna.andersson@gmail.com"


def test_new_mail_threads_on_its_own_id() -> None:
    parsed = parse_email(_mail(Subject="Help").as_bytes())
    assert parsed.threading.thread_key == "q1@example.org"
    assert parsed.threading.aliases == ("subject:help|anna@example.org",)


def test_forward_from_new_sender_starts_a_new_conversation() -> None:
    m = _mail(
        "FYI\n\n---------- Forwarded message ---------\nFrom: x",
        Subject="Fwd: Re: Invoice [#42]",
        In_Reply_To="<c42.1@example.com>",
        References="<c42.0@example.com> <c42.1@example.com>",
    )
    parsed = parse_email(m.as_bytes(), own_addresses=OWN)
    assert parsed.threading.forwarded
    assert parsed.threading.thread_key == "q1@example.org"
    assert not any(a.startswith("pin:") or "c42" in a for a in parsed.threading.aliases)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Faktura",
        "SV: Faktura",
        "VS: Re: Faktura",
        "AW: Faktura",
        "Відп: Faktura",
        "RE: [#42] Faktura",
        "Re[2]: Faktura",
        "Faktura [#42]",
        "Re: Faktura [#42-k3x9f2ab4c]",
        "SV: [#7-aaaaaaaaaa] Faktura",
    ],
)
def test_subject_normalisation(subject: str) -> None:
    assert normalise_subject(subject) == "faktura"


def test_reply_tokens_only_on_our_addresses() -> None:
    tokens = ReplyTokens("s" * 32)
    mark = tokens.mark(42)
    assert reply_tokens("x", [f"support+c{mark}@example.com"], OWN, tokens=tokens) == ["pin:token:c42"]
    assert reply_tokens("x", [f"someone+c{mark}@other.example"], OWN, tokens=tokens) == []
    assert reply_tokens(f"Re: x [#{mark}]", [], OWN, tokens=tokens) == ["pin:token:c42"]
    # plain, guessed or foreign tokens count only for a participant (bound to the sender)
    assert reply_tokens("Re: x [#7]", [], OWN, sender="a@b.c", tokens=tokens) == ["pin:token:c7|a@b.c"]
    guessed = "Re: x [#42-aaaaaaaaaa]"
    assert reply_tokens(guessed, [], OWN, sender="m@x.y", tokens=tokens) == ["pin:token:c42|m@x.y"]
    other = ReplyTokens("another installation's secret").mark(42)
    assert reply_tokens(f"[#{other}]", [], OWN, sender="m@x.y", tokens=tokens) == ["pin:token:c42|m@x.y"]
    assert reply_tokens(f"[#{mark}]", [], OWN, sender="m@x.y", tokens=None) == ["pin:token:c42|m@x.y"]


def test_inbound_metadata_feeds_the_reply() -> None:
    inbound = to_inbound(parse_email((AUTO / "human_reply.eml").read_bytes()), raw_ref="email-raw:x")
    assert inbound.channel == "email"
    assert inbound.external_id == "human.4@mail.gmail.com"
    assert inbound.metadata["subject"] == "Re: Invoice missing [#42]"
    assert inbound.metadata["message_id"] == "human.4@mail.gmail.com"
    assert inbound.metadata["references"][-1] == "ir.0123456789abcdef0123456789abcdef@example.com"
    assert inbound.raw is not None and inbound.raw["ref"] == "email-raw:x"
    assert inbound.sender.email == "anna.andersson@gmail.com"


def test_base64_body_with_line_noise() -> None:
    body = base64.encodebytes("Hej på dig".encode()).decode()
    raw = (
        "From: a@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n\r\n"
    ).encode()
    assert parse_email(raw).visible_text == "Hej på dig"


NUL_MAILS = [  # a NUL decoded from an encoded-word, quoted-printable, base64, raw bytes,
    # an HTML character reference, an RFC 2231 file name
    b"Subject: =?utf-8?q?Hej=00d=C3=A5?=\r\n\r\nHej\r\n",
    b"Subject: hej\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nHej=00d=C3=A5!\r\n",
    b"Subject: hej\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nSGVqAGTDpQ==\r\n",
    b"From: U\x00lla <ulla@x.example>\r\nSubject: x\x00y\r\nMessage-ID: <n\x00ul@x>\r\n\r\nHej\x00d\xe5!\r\n",
    b"From: a@b.example\r\nContent-Type: text/html\r\n\r\n<p>a&#0;b\x00c</p>\r\n",
    b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nx\r\n--q\r\n"
    b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''a%00b.pdf"
    b"\r\n\r\nAAAA\r\n--q--\r\n",
]


@pytest.mark.parametrize("raw", NUL_MAILS)
def test_nothing_decodes_to_a_nul(raw: bytes) -> None:
    """PostgreSQL text refuses NUL: one in a subject or body would fail the commit at every
    retry and hold up the mailbox. Each becomes U+FFFD."""
    inbound = to_inbound(parse_email(raw))
    stored = json.dumps([inbound.external_id, inbound.thread_key, inbound.thread_aliases, inbound.text,
                         inbound.sender.display_name, dict(inbound.metadata), dict(inbound.raw or {}),
                         [a.as_dict() for a in inbound.attachments]], ensure_ascii=False)
    assert "\x00" not in stored and "\\u0000" not in stored
    assert "\ufffd" in stored
