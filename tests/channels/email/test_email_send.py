"""Outbound composing and sending (aiosmtplib -> aiosmtpd sink), error classes, limits."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from channels.email.adapter import EmailAdapter
from channels.email.compose import compose_reply, reply_subject
from channels.email.parse import parse_email, to_inbound
from channels.email.settings import EmailSettings
from channels.email.threads import ReplyTokens
from router.domain.errors import ChannelError
from router.domain.model import AuthorKind, OutboundMessage

from .conftest import SmtpSink

PARENT = {
    "subject": "SV: Fråga om fakturan",
    "message_id": "cust.2@mail.example.net",
    "references": ["cust.1@mail.example.net", "ir.aaaa@example.com"],
}


def _out(
    text: str = "Hej Åsa!",
    *,
    kind: AuthorKind = AuthorKind.BOT,
    name: str = "",
    key: str = "k1",
    recipient: str = "asa.oberg@example.net",
    **meta: object,
) -> OutboundMessage:
    return OutboundMessage(
        outbox_id=1,
        idempotency_key=key,
        channel="email",
        thread_key="cust.1@mail.example.net",
        recipient=recipient,
        text=text,
        author_kind=kind,
        author_name=name,
        conversation_id=42,
        metadata={"in_reply_to_meta": PARENT, **meta},
    )


def test_reply_headers_threading_and_encoding() -> None:
    mail, mid = compose_reply(_out(), from_address="support@example.com", from_name="Kundtjänst Åäö")
    raw = mail.as_bytes()
    assert all(b < 128 for b in raw), "headers and bodies must be 7-bit clean on the wire"
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Message-ID"] == f"<{mid}>"
    assert parsed["In-Reply-To"] == "<cust.2@mail.example.net>"
    assert (
        parsed["References"].strip()
        == "<cust.1@mail.example.net> <ir.aaaa@example.com> <cust.2@mail.example.net>"
    )
    assert parsed["Subject"] == "Re: Fråga om fakturan [#42]"
    assert parsed["From"].addresses[0].display_name == "Kundtjänst Åäö"
    assert parsed["Reply-To"].addresses[0].addr_spec == "support+c42@example.com"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hej Åsa!"
    assert "Hej Åsa!" in parsed.get_body(("html",)).get_content()


def test_agent_reply_uses_the_agents_name_and_is_not_automatic() -> None:
    mail, _ = compose_reply(
        _out(kind=AuthorKind.AGENT, name="Олена Петренко"),
        from_address="support@example.com",
        from_name="Support",
    )
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert parsed["From"].addresses[0].display_name == "Олена Петренко"
    assert parsed["Auto-Submitted"] is None


def test_message_id_is_stable_per_idempotency_key() -> None:
    a = compose_reply(_out(key="x"), from_address="s@example.com", from_name="")[1]
    b = compose_reply(_out(key="x"), from_address="s@example.com", from_name="")[1]
    c = compose_reply(_out(key="y"), from_address="s@example.com", from_name="")[1]
    assert a == b != c


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("SV: Fråga", "Re: Fråga [#42]"),
        ("Re: Re: AW: Frage [#42]", "Re: Frage [#42]"),
        ("", "Re: your message [#42]"),
        ("Відп: Рахунок", "Re: Рахунок [#42]"),
    ],
)
def test_reply_subject(original: str, expected: str) -> None:
    assert reply_subject(original, 42) == expected


def test_customer_reply_to_our_reply_finds_the_conversation() -> None:
    tokens = ReplyTokens("x" * 32)
    mail, mid = compose_reply(_out(), from_address="support@example.com", from_name="S",
                              mark=tokens.mark(42))
    reply_to = mail["Reply-To"].addresses[0].addr_spec
    assert reply_to == f"support+c{tokens.mark(42)}@example.com"
    assert mail["Subject"] == f"Re: Fråga om fakturan [#{tokens.mark(42)}]"
    reply = (
        f"From: Åsa <asa.oberg@example.net>\r\nTo: {reply_to}\r\n"
        f"Subject: Re: {mail['Subject']}\r\nMessage-ID: <cust.3@mail.example.net>\r\n"
        f"In-Reply-To: <{mid}>\r\nReferences: {mail['References']} <{mid}>\r\n\r\nTack!\r\n"
    ).encode()
    keys = parse_email(reply, own_addresses=["support@example.com"], tokens=tokens).threading
    assert keys.thread_key == "cust.1@mail.example.net"
    assert keys.aliases[0] == mid
    assert "pin:token:c42" in keys.aliases  # the signed token: valid from anyone holding it


def test_message_ids_are_written_byte_for_byte() -> None:
    """The local part of a Message-ID is case sensitive: In-Reply-To and References carry
    the customer's ids exactly (Gmail's are mixed case), never lower-cased."""
    raw = (b"From: Anna <anna@example.org>\r\nTo: support@example.com\r\nSubject: Hej\r\n"
           b"Message-ID: <CAJx9Q+AbC-dEf=@Mail.Gmail.COM>\r\n"
           b"References: <Root.ID@Example.ORG> <ir.abc@example.com>\r\n\r\nHej!\r\n")
    inbound = to_inbound(parse_email(raw))
    assert inbound.external_id == "cajx9q+abc-def=@mail.gmail.com"  # the dedupe key
    assert inbound.metadata["message_id"] == "CAJx9Q+AbC-dEf=@Mail.Gmail.COM"
    out = OutboundMessage(outbox_id=1, idempotency_key="k", channel="email", thread_key="t",
                          recipient="anna@example.org", text="Svar", author_kind=AuthorKind.BOT,
                          conversation_id=7, metadata=dict(inbound.metadata))
    mail, _ = compose_reply(out, from_address="support@example.com", from_name="S")
    assert mail["In-Reply-To"] == "<CAJx9Q+AbC-dEf=@Mail.Gmail.COM>"
    assert mail["References"] == ("<Root.ID@Example.ORG> <ir.abc@example.com> "
                                  "<CAJx9Q+AbC-dEf=@Mail.Gmail.COM>")


def _adapter(tmp_path: Path, sink: SmtpSink, **extra: object) -> EmailAdapter:
    settings = EmailSettings.model_validate(
        {
            "smtp_out": {
                "host": "127.0.0.1",
                "port": sink.port,
                "tls": "none",
                "from_address": "support@example.com",
                "from_name": "Support",
            },
            "own_addresses": ["support@example.com"],
            **extra,
        }
    )
    return EmailAdapter(settings=settings, state_dir=tmp_path)


async def test_send_reaches_the_sink(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    adapter = _adapter(tmp_path, smtp_sink)
    result = await adapter.send(_out())
    (envelope,) = await smtp_sink.wait_for(1)
    assert envelope.rcpt_tos == ["asa.oberg@example.net"]
    assert envelope.mail_from == "support@example.com"
    received = message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["Message-ID"] == f"<{result.external_id}>"
    # our Message-ID, and the tokens this mail hands out (pinned to conversation 42): the
    # signed one, and the plain one in this recipient's hands
    assert result.thread_keys == (result.external_id, "pin:token:c42",
                                  "pin:token:c42|asa.oberg@example.net")
    mark = adapter.tokens.mark(42)
    assert (tmp_path / "email.secret").stat().st_mode & 0o777 == 0o600
    assert received["Subject"].endswith(f"[#{mark}]") and len(mark) == len("42-") + 10
    assert received["Reply-To"].addresses[0].addr_spec == f"support+c{mark}@example.com"


async def test_temporary_smtp_error_is_retryable(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    adapter = _adapter(tmp_path, smtp_sink)
    smtp_sink.reject.append("451 4.3.0 try later")
    with pytest.raises(ChannelError) as err:
        await adapter.send(_out())
    assert not err.value.permanent


async def test_permanent_smtp_error_fails_the_delivery(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    adapter = _adapter(tmp_path, smtp_sink)
    smtp_sink.reject.append("554 5.7.1 rejected")
    with pytest.raises(ChannelError) as err:
        await adapter.send(_out())
    assert err.value.permanent


async def test_connection_refused_is_retryable(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    from .conftest import free_port

    smtp_sink.port = free_port()  # nobody listens there
    with pytest.raises(ChannelError) as err:
        await _adapter(tmp_path, smtp_sink).send(_out())
    assert not err.value.permanent


async def test_daily_auto_reply_limit_per_sender(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    adapter = _adapter(tmp_path, smtp_sink, max_auto_replies_per_sender_per_day=2)
    await adapter.send(_out(key="1"))
    await adapter.send(_out(key="2"))
    with pytest.raises(ChannelError) as err:
        await adapter.send(_out(key="3"))
    assert err.value.permanent and "daily limit" in err.value.reason
    await adapter.send(_out(key="4", kind=AuthorKind.AGENT, name="Agent"))  # people are not limited
    await adapter.send(_out(key="5", recipient="other@example.net"))
    assert len(await smtp_sink.wait_for(4)) == 4
    # the budget survives a restart
    again = _adapter(tmp_path, smtp_sink, max_auto_replies_per_sender_per_day=2)
    with pytest.raises(ChannelError):
        await again.send(_out(key="6"))


async def test_failed_send_does_not_use_up_the_budget(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    adapter = _adapter(tmp_path, smtp_sink, max_auto_replies_per_sender_per_day=1)
    smtp_sink.reject.append("451 4.3.0 later")
    with pytest.raises(ChannelError):
        await adapter.send(_out(key="1"))
    await adapter.send(_out(key="1"))
    assert len(await smtp_sink.wait_for(1)) == 1


async def test_no_automatic_reply_to_automatic_mail_or_ourselves(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    adapter = _adapter(tmp_path, smtp_sink)
    auto_parent = {**PARENT, "automatic": ["auto-submitted:auto-replied"]}
    with pytest.raises(ChannelError) as err:
        await adapter.send(_out(in_reply_to_meta=auto_parent))
    assert err.value.permanent
    with pytest.raises(ChannelError):
        await adapter.send(_out(recipient="support@example.com"))
    assert smtp_sink.messages == []


def test_inbound_metadata_passed_as_is_threads_the_reply() -> None:
    inbound_meta = {
        "subject": "SV: Faktura",
        "message_id": "cust.9@x",
        "references": ["cust.1@x"],
        "in_reply_to": ["cust.1@x"],
        "automatic": [],
    }
    out = OutboundMessage(
        outbox_id=2,
        idempotency_key="z",
        channel="email",
        thread_key="cust.1@x",
        recipient="a@x",
        text="Hej",
        conversation_id=7,
        metadata=inbound_meta,
    )
    mail, _ = compose_reply(out, from_address="support@example.com", from_name="S")
    assert mail["In-Reply-To"] == "<cust.9@x>"
    assert mail["Subject"] == "Re: Faktura [#7]"
    assert str(mail["References"]).split() == ["<cust.1@x>", "<cust.9@x>"]
