"""SMTP intake (aiosmtpd) for running behind an MTA: our addresses only, size-limited.

We answer 250 only after the inbox commit, so the MTA keeps and retries mail we could not
store (451), and never hears "accepted" for something we then lose. RCPT for addresses
that are not ours is refused with 550 (we are not a relay); plus-addressed variants of our
addresses (support+c42@...) are ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

IngestRaw = Callable[[bytes, bool], Awaitable[Any]]


def _base_address(address: str) -> str:
    local, _, domain = address.strip().strip("<>").lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


class IntakeHandler:
    """aiosmtpd handler: RCPT filtering and DATA -> ingest."""

    def __init__(self, addresses: Iterable[str], ingest: IngestRaw) -> None:
        self.addresses = frozenset(_base_address(a) for a in addresses)
        self.ingest = ingest
        self.accepted = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if _base_address(address) not in self.addresses:
            return "550 5.7.1 Relaying denied: not a local address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        # what an MDA records: the envelope recipients (the plus-address reply token lives
        # there when the To: header names someone else) and the envelope sender
        trace = b"".join(b"Delivered-To: %s\r\n" % r.encode("utf-8", "replace") for r in envelope.rcpt_tos)
        sender = (envelope.mail_from or "").strip()
        trace = b"Return-Path: <%s>\r\n" % sender.strip("<>").encode("utf-8", "replace") + trace
        raw = trace + raw
        try:
            await self.ingest(raw, False)
        except Exception:
            log.exception("SMTP intake could not store a message; asking the MTA to retry")
            return "451 4.3.0 Temporary failure, please retry"
        self.accepted += 1
        return "250 2.0.0 OK: queued"


class SmtpListener:
    """An aiosmtpd server on the running loop (not aiosmtpd's thread-based Controller)."""

    def __init__(self, *, host: str, port: int, addresses: Iterable[str], max_bytes: int,
                 ingest: IngestRaw) -> None:  # fmt: skip
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self.handler = IntakeHandler(addresses, ingest)
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(
                self.handler,
                data_size_limit=self.max_bytes,
                hostname="inquiry-router",
                ident="inquiry-router",
                loop=loop,
            ),
            self.host,
            self.port,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("SMTP intake listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
