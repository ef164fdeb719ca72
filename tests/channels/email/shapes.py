"""Mail shapes of issue 23, built as raw bytes, shared by the parse, CLI and channel tests.

Each is what a real sender produces: a web form answering through Reply-To, Gmail's mixed
case Message-IDs, no-reply and bulk senders, a boundary the body never uses, MIME nested
1,500 deep, and headers in raw 8-bit latin-1 or UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass


def mail(body: str = "Hej!\r\n", *, frm: str = "Anna Andersson <anna@kund.example>",
         to: str = "support@example.com", subject: str = "Fråga om order",
         mid: str = "<a1@kund.example>", extra: str = "", charset: str = "utf-8",
         content_type: str = "") -> bytes:
    """A raw message; header text with non-ASCII goes out as raw bytes in `charset`."""
    ctype = content_type or f"text/plain; charset={charset}"
    head = (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
            f"Date: Tue, 03 Mar 2026 11:20:00 +0100\r\nMIME-Version: 1.0\r\n{extra}"
            f"Content-Type: {ctype}\r\n\r\n")
    return head.encode(charset) + body.encode(charset)


# a web form: From the site's robot, Reply-To the customer
REPLY_TO = mail("Namn: Kalle Kund\r\nFråga: Var är min order 1234?\r\n",
                frm="Webbformulär <noreply@site.example>", mid="<form.77@site.example>",
                subject="Kontaktformulär", extra="Reply-To: Kalle Kund <Kalle@Kund.example>\r\n")

# Gmail's Message-IDs are mixed case; the local part is case sensitive
GMAIL_ID = "CAH+x9Q_AbC-dEf=GhI@Mail.Gmail.COM"
MESSAGE_ID_CASE = mail("Hej, fakturan saknas.\r\n", mid=f"<{GMAIL_ID}>",
                       extra="References: <Root.X1@Kund.Example>\r\n")


@dataclass(frozen=True)
class Noise:
    name: str
    raw: bytes
    reason: str  # expected in ParsedEmail.automatic


def _noise(name: str, reason: str, *, frm: str = "Shop <orders@shop.example>",
           extra: str = "") -> Noise:
    return Noise(name, mail("Your order has shipped.\r\n", frm=frm, mid=f"<{name}@shop.example>",
                            subject="Order update", extra=extra), reason)


NOISE = [
    _noise("no_reply", "robot-sender:no_reply", frm="Shop <no_reply@shop.example>"),
    _noise("noreply_plus_tag", "robot-sender:noreply+orders", frm="noreply+orders@shop.example"),
    _noise("notifications_noreply", "robot-sender:notifications-noreply",
           frm="LinkedIn <notifications-noreply@linkedin.example>"),
    _noise("do_not_reply", "robot-sender:do-not-reply", frm="Bank <do-not-reply@bank.example>"),
    _noise("do_not_reply_underscore", "robot-sender:do_not_reply", frm="do_not_reply@bank.example"),
    _noise("no_dot_reply", "robot-sender:no.reply", frm="no.reply@city.example"),
    _noise("mailer_daemon", "robot-sender:mailer-daemon", frm="MAILER-DAEMON@mx.example"),
    _noise("list_unsubscribe", "list-unsubscribe",
           extra="List-Unsubscribe: <mailto:unsub@news.example>, <https://news.example/u/1>\r\n"),
    _noise("feedback_id", "feedback-id", extra="Feedback-ID: 4711:campaign:esp:shop\r\n"),
    _noise("suppress_all", "x-auto-response-suppress", extra="X-Auto-Response-Suppress: All\r\n"),
    _noise("suppress_oof", "x-auto-response-suppress",
           extra="X-Auto-Response-Suppress: DR, RN, NRN, OOF\r\n"),
    _noise("suppress_autoreply", "x-auto-response-suppress",
           extra="X-Auto-Response-Suppress: AutoReply\r\n"),
    _noise("precedence_bulk", "precedence:bulk", extra="Precedence: Bulk\r\n"),
    _noise("precedence_list", "precedence:list", extra="Precedence: list\r\n"),
    _noise("precedence_junk", "precedence:junk", extra="Precedence: junk\r\n"),
    _noise("precedence_auto_reply", "precedence:auto_reply", extra="Precedence: auto_reply\r\n"),
    _noise("precedence_auto_dash_reply", "precedence:auto-reply",
           extra='Precedence: "auto-reply"\r\n'),
]
# shapes that look like noise and are not: a person answers these
HUMAN = [
    mail("Hej!\r\n", frm="Nora Reply <nora.reply@kund.example>", mid="<h1@kund.example>"),
    mail("Hej!\r\n", mid="<h2@kund.example>", extra="X-Auto-Response-Suppress: DR, RN, NRN\r\n"),
    mail("Hej!\r\n", mid="<h3@kund.example>", extra="Precedence: first-class\r\n"),
]

# the declared boundary is not the one the body uses
BOUNDARY_MISMATCH = mail(
    "--=_real_7f3a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Min faktura har fel belopp.\r\n"
    "--=_real_7f3a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>Min faktura har fel belopp.</p>\r\n--=_real_7f3a--\r\n",
    mid="<mismatch.1@kund.example>",
    content_type='multipart/alternative; boundary="=_declared_0000"')


def deep(depth: int = 1500) -> bytes:
    """multipart/mixed nested `depth` levels deep around one text part."""
    levels = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
                     for i in range(1, depth))
    body = f"--b0\r\n{levels}Content-Type: text/plain; charset=utf-8\r\n\r\nDjupt nere.\r\n"
    return mail(body, frm="Deep Diver <diver@kund.example>", mid="<Deep.1500@Kund.Example>",
                content_type="multipart/mixed; boundary=b0")


# raw 8-bit headers (no encoded-words): latin-1 from an old mailer, UTF-8 from a new one,
# and an ISO-8859-1 encoded-word holding a cp1252 character (0x80, the euro sign)
LATIN1_HEADERS = mail("Hej!\r\n", frm="Åke Ström <ake@kund.example>", subject="Hälsning från Åke",
                      mid="<latin1.1@kund.example>", charset="latin-1")
UTF8_HEADERS = mail("Привіт!\r\n", frm="Олена Петренко <olena@kund.example>",
                    subject="Питання щодо рахунку", mid="<utf8.1@kund.example>")
CP1252_WORD = mail("Hej!\r\n", frm="=?iso-8859-1?q?=C5ke_Str=F6m?= <ake@kund.example>",
                   subject="=?iso-8859-1?q?Pris_=80_100?=", mid="<word.1@kund.example>")
