"""The email channel adapter: IMAP importers + SMTP listener in, aiosmtplib out.

Wiring: `EmailAdapter(settings=EmailSettings(...), state_dir=<data dir>/email)`; the service
calls `start(inbox)`, `send(OutboundMessage)` from the outbox dispatcher and `stop()`. A
mail is parsed here (MIME, threading, our reply tokens) and handed to the inbox as a
message (`receive_message`): email is not deferrable, so it is processed before the IMAP
read or the SMTP answer is acknowledged either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiosmtplib

from channels.email.automatic import AutoReplyLimiter
from channels.email.compose import compose_reply, split_metadata
from channels.email.imap import ImapImporter
from channels.email.oauth import OAuthAccounts, OAuthError, OAuthMetrics, TokenSource
from channels.email.parse import CHANNEL, parse_email, to_inbound
from channels.email.settings import EmailSettings, SmtpOutSettings
from channels.email.smtp_in import SmtpListener
from channels.email.state import ImapState, RawStore, ThreadMemory, import_legacy
from channels.email.threads import ReplyTokens, participant_key, token_key
from channels.email.tls import client_context
from channels.email.tokens import SECRET_NAME, EncryptedTokenStore
from channels.email.xoauth2 import smtp_send
from router.configuration.local_secret import lazy_secret
from router.domain.errors import ChannelError
from router.domain.model import AuthorKind, OutboundMessage
from router.ports.channel import ChannelAdapter, ChannelInbox, IngestResult, SendResult
from router.ports.channel_state import ChannelState
from router.ports.channel_state_local import LocalChannelState

log = logging.getLogger(__name__)


class EmailAdapter(ChannelAdapter):
    """Email in (IMAP and/or SMTP) and out (SMTP), with loop guards on automatic replies."""

    name = CHANNEL

    def __init__(self, *, settings: EmailSettings, state_dir: Path, imap_min_backoff: float = 1.0,
                 secret: Callable[[], str] | None = None, oauth: OAuthAccounts | None = None,
                 oauth_metrics: OAuthMetrics | None = None,
                 state: ChannelState | None = None) -> None:
        """`state`: the channel's state (thread memory, IMAP positions, auto-reply
        counts), shared by the instances on one database; the service hands it over, and
        by default (a channel run on its own) it is a SQLite file in `state_dir`.
        `secret` signs reply tokens (the service passes `EMAIL_SECRET`, else
        `<data_dir>/email.secret`; by default `email.secret` in `state_dir`, made on first
        use; see router.configuration.local_secret). `oauth`: the OAuth2 token sources (by default made
        from `settings.oauth2`, refresh tokens kept encrypted under `state_dir/oauth`)."""
        self.settings = settings
        self.state_dir = Path(state_dir)
        self.tokens = ReplyTokens(secret or lazy_secret(self.state_dir, "email"))
        self.own = settings.all_own_addresses()
        self.raw_store = RawStore(self.state_dir / "raw")
        self._local: LocalChannelState | None = None
        if state is None:
            state = self._local = LocalChannelState(self.state_dir / "channel-state.db", CHANNEL)
        self.state = state
        self.imap_state = ImapState(self.state)
        self.memory = ThreadMemory(self.state)
        self.limiter = AutoReplyLimiter(self.state, settings.max_auto_replies_per_sender_per_day)
        self.importers: list[ImapImporter] = []
        self.listener: SmtpListener | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inbox: ChannelInbox | None = None
        self._imap_min_backoff = imap_min_backoff
        self.oauth = oauth or OAuthAccounts(
            settings.oauth2, metrics=oauth_metrics,
            store=EncryptedTokenStore(self.state_dir / "oauth", lazy_secret(self.state_dir, SECRET_NAME)))

    def instance_id(self) -> str:
        """This instance's name in the state's leases, kept in `state_dir`: a restart (even
        after kill -9 mid-read) takes its own folder lease back at once, while another
        instance on the same database waits for it to expire."""
        path = self.state_dir / "instance.id"
        with contextlib.suppress(FileNotFoundError):
            if found := path.read_text(encoding="ascii").strip():
                return found
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(uuid.uuid4().hex, encoding="ascii")
        return path.read_text(encoding="ascii").strip()

    def token_source(self, account: str, user: str) -> TokenSource | None:
        """The OAuth2 tokens an IMAP/SMTP block with `oauth2: account` logs in with."""
        return self.oauth.source(account, user) if account else None

    # -- inbound -------------------------------------------------------------------------
    async def ingest_raw(self, raw: bytes, headers_only: bool = False, mailbox: str = "",
                         use_reply_to: bool = True) -> IngestResult:
        """Store the raw bytes, parse, hand to the pipeline; returns after its commit."""
        if self._inbox is None:
            raise RuntimeError("EmailAdapter.start() was not called")
        ref = self.raw_store.put(raw) if self.settings.keep_raw else ""
        parsed = parse_email(
            raw,
            own_addresses=self.own,
            max_attachments=self.settings.max_attachments,
            raw_ref=ref,
            headers_only=headers_only,
            tokens=self.tokens,
            use_reply_to=use_reply_to,
        )
        message = to_inbound(parsed, raw_ref=ref, mailbox=mailbox)
        result = await self._inbox.receive_message(message)
        if result.conversation_id is not None and not result.duplicate and not parsed.is_automatic:
            await self.memory.remember(result.conversation_id, parsed.subject, parsed.message_id,
                                 list(parsed.references))  # fmt: skip
        # no sender address at INFO: personal data stays out of the logs (issue 13)
        log.info("email stored: %s", "duplicate" if result.duplicate
                 else f"conversation {result.conversation_id}")  # fmt: skip
        return result

    async def start(self, inbox: ChannelInbox) -> None:
        self._inbox = inbox
        await import_legacy(self.state_dir, self.state, today=self.limiter.today())
        for box in self.settings.mailboxes:

            async def ingest(raw: bytes, headers_only: bool, _box: str = box.name,
                             _reply_to: bool = box.use_reply_to) -> IngestResult:
                return await self.ingest_raw(raw, headers_only, mailbox=_box, use_reply_to=_reply_to)

            importer = ImapImporter(
                name=box.name,
                settings=box.imap,
                state=self.imap_state,
                ingest=ingest,
                max_message_bytes=self.settings.max_message_bytes,
                min_backoff=self._imap_min_backoff,
                oauth=self.token_source(box.imap.oauth2, box.imap.username),
                owner=self.instance_id(),
            )
            self.importers.append(importer)
            self._tasks.append(asyncio.create_task(importer.run(), name=f"imap:{box.name}"))
        if self.settings.smtp_in is not None:
            s = self.settings.smtp_in
            async def ingest_smtp(raw: bytes, headers_only: bool = False,
                                  _reply_to: bool = s.use_reply_to) -> IngestResult:
                return await self.ingest_raw(raw, headers_only, use_reply_to=_reply_to)

            self.listener = SmtpListener(
                host=s.host, port=s.port, addresses=s.addresses, max_bytes=s.max_bytes, ingest=ingest_smtp
            )
            await self.listener.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.listener is not None:
            await self.listener.stop()
        if self._local is not None:
            await self._local.close()

    # -- outbound ------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> SendResult:
        out = self.settings.smtp_out
        if out is None:
            raise ChannelError("email: no smtp_out configured; add channels.email.smtp_out", permanent=True)
        automatic = message.author_kind != AuthorKind.AGENT
        slot: str | None = None
        recipient = message.recipient.strip().lower()
        if automatic:
            self._guard_automatic(message, recipient)
            slot = await self.limiter.try_acquire(recipient, conversation_id=message.conversation_id)
            if slot is None:
                raise ChannelError(
                    f"email: daily limit of {self.limiter.limit} automatic replies to {recipient} reached",
                    permanent=True,
                )
        parent, _ = split_metadata(message.metadata or {})
        if not parent.get("message_id") and message.conversation_id is not None:
            remembered = await self.memory.get(message.conversation_id)
            if remembered:
                message = replace(message, metadata={**message.metadata, "in_reply_to_meta": remembered})
        conversation = message.conversation_id
        mark = self.tokens.mark(conversation) if conversation is not None else ""
        mail, mid = compose_reply(message, from_address=out.from_address, from_name=out.from_name,
                                  mark=mark)
        try:
            await _deliver(out, mail, recipient, self.token_source(out.oauth2, out.username))
        except ChannelError:
            if slot is not None:
                await self.limiter.release(slot)
            raise
        if conversation is None:
            return SendResult(external_id=mid, thread_keys=(mid,))
        # the tokens this mail hands out find this conversation, and only it (pinned keys):
        # the signed one from anyone holding it, a plain one from this recipient
        return SendResult(external_id=mid, thread_keys=(
            mid, token_key(conversation), participant_key(conversation, recipient)))

    def _guard_automatic(self, message: OutboundMessage, recipient: str) -> None:
        """Refuse automatic replies the pipeline should not have asked for (defence in depth)."""
        parent, _ = split_metadata(message.metadata or {})
        if parent.get("automatic"):
            raise ChannelError(f"email: not answering automatic mail ({parent['automatic']})", permanent=True)
        if recipient in self.own:
            raise ChannelError(f"email: not auto-replying to our own address {recipient}", permanent=True)


async def _deliver(out: SmtpOutSettings, mail: Any, recipient: str,
                   oauth: TokenSource | None = None) -> None:
    """Send through aiosmtplib; classify failures as retryable (4xx, network) or not (5xx).
    With `oauth`, authenticate with SASL XOAUTH2 (a refused token is retried once fresh)."""

    async def attempt(token: str | None) -> None:
        async def current_token() -> str:
            return token or ""

        await aiosmtplib.send(
            mail,
            sender=out.from_address,
            recipients=[recipient],
            hostname=out.host,
            port=out.port,
            username=out.username or None,
            password=(out.password or None) if token is None else None,
            oauth_token_generator=current_token if token is not None else None,
            use_tls=out.tls == "tls",
            start_tls=out.tls == "starttls",
            tls_context=(client_context(verify=out.verify, ca_file=out.ca_file, what="SMTP")
                         if out.tls != "none" else None),
            timeout=out.timeout,
        )

    try:
        await (attempt(None) if oauth is None else smtp_send(attempt, oauth))
    except OAuthError as exc:  # no token now, consent revoked, or refused: retry later
        raise ChannelError(f"email: {exc}", permanent=False) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [e.code for e in exc.recipients]
        raise ChannelError(
            f"email: recipient refused: {exc}", permanent=all(c >= 500 for c in codes)
        ) from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        # a credentials problem, not this message's fault: retry (the admin fixes the password)
        raise ChannelError(f"email: SMTP authentication failed: {exc}", permanent=False) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise ChannelError(f"email: SMTP {exc.code} {exc.message}", permanent=exc.code >= 500) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise ChannelError(f"email: SMTP connection failed: {exc}", permanent=False) from exc
