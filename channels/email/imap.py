"""IMAP import: IDLE where supported, polling otherwise; nothing skipped, nothing twice.

Order per message: fetch (BODY.PEEK, so the server does not set \\Seen) -> ingest (returns
after the inbox commit) -> \\Seen or move -> save the position. A crash before the commit
re-imports the message; a crash after it re-reads it, and the inbox recognises the
Message-ID as a duplicate. Positions are UIDs under a UIDVALIDITY: when the server
changes UIDVALIDITY (mailbox rebuilt) old UIDs mean nothing, so we fall back to the
UNSEEN messages and rely on Message-ID dedupe. On a first run only UNSEEN mail is taken
(mail already read by people is presumed handled). A dropped connection reconnects with
exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aioimaplib

from channels.email.oauth import TokenSource
from channels.email.settings import ImapSettings
from channels.email.state import ImapPosition, ImapState
from channels.email.tls import client_context
from channels.email.xoauth2 import imap_login

log = logging.getLogger(__name__)

# (raw bytes, headers_only) -> returns after the durable commit, raises if not stored
IngestRaw = Callable[[bytes, bool], Awaitable[Any]]

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_EXISTS = re.compile(rb"^\d+ EXISTS")  # untagged "* N EXISTS" (aioimaplib drops the "* ")
# How long one instance holds a folder it reads (released when done); after a crash
# mid-read another instance takes over once this has passed.
READ_LEASE = 120.0


class ImapError(Exception):
    """The server refused a command we need (login, select, fetch, store)."""


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        lines = b" ".join(bytes(x) for x in response.lines[-2:]).decode(errors="replace")
        raise ImapError(f"IMAP {what} failed: {response.result} {lines}")
    return response


class ImapImporter:
    """Imports one mailbox folder until cancelled."""

    def __init__(
        self,
        *,
        name: str,
        settings: ImapSettings,
        state: ImapState,
        ingest: IngestRaw,
        max_message_bytes: int,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        oauth: TokenSource | None = None,
        owner: str = "",
    ) -> None:
        self.name = name
        # who holds the folder while reading it (instances sharing a database take turns)
        self.owner = owner or uuid.uuid4().hex
        self.oauth = oauth  # SASL XOAUTH2 with its tokens instead of LOGIN
        self.settings = settings
        self.state = state
        self.ingest = ingest
        self.max_message_bytes = max_message_bytes
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.imported = 0  # messages ingested by this process (status and tests)
        self.connects = 0
        self.last_error = ""
        self.synced = asyncio.Event()  # set after every completed sync pass
        self.failed = asyncio.Event()  # set after every failed attempt (see last_error)
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()
        # The server announced new mail ("* N EXISTS") inside the answer to one of our own
        # commands during a pass: that mail may have come after the pass's SEARCH, and the
        # server will not announce it again in IDLE, so the pass is run once more.
        self._news = False

    def poke(self) -> None:
        """Sync now instead of waiting for IDLE or the poll interval."""
        self._wake.set()

    # -- connection ----------------------------------------------------------------------
    async def _connect(self) -> aioimaplib.IMAP4:
        s = self.settings
        self._lost.clear()

        def lost(_exc: Exception | None) -> None:
            self._lost.set()

        if s.tls == "tls":
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                host=s.host, port=s.port, timeout=s.timeout, ssl_context=self._tls_context())
            client.protocol.conn_lost_cb = lost
        else:
            client = aioimaplib.IMAP4(host=s.host, port=s.port, timeout=s.timeout, conn_lost_cb=lost)
        await client.wait_hello_from_server()
        if s.tls == "starttls":
            await self._starttls(client)
        if self.oauth is not None:
            await imap_login(client, s.username, self.oauth)  # OAuthError: retried like the rest
        else:
            _ok(await client.login(s.username, s.password), "LOGIN")
        self.connects += 1
        return client

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        """aioimaplib has no STARTTLS helper: send it, then upgrade the transport in place.

        (Its `simple_command` refuses STARTTLS, so the command is built directly.)"""
        protocol = client.protocol
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _ok(await protocol.execute(command), "STARTTLS")
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(
            protocol.transport, protocol, self._tls_context(), server_hostname=self.settings.host
        )
        await protocol.capability()

    def _tls_context(self) -> ssl.SSLContext:
        s = self.settings
        return client_context(verify=s.verify, ca_file=s.ca_file, what=f"IMAP {self.name}")

    # -- one pass ------------------------------------------------------------------------
    async def sync_once(self, client: aioimaplib.IMAP4) -> int:
        """Select the folder and import every new message; returns how many. Another
        instance reading the folder right now does that for both (nothing to do here)."""
        folder = self.settings.folder
        selected = _ok(await client.select(folder), f"SELECT {folder}")
        blob = b"\n".join(bytes(x) for x in selected.lines)
        m = _UIDVALIDITY.search(blob)
        if not m:
            raise ImapError(f"server sent no UIDVALIDITY for {folder}")
        validity = int(m.group(1))
        uidnext = int(n.group(1)) if (n := _UIDNEXT.search(blob)) else 0
        self._news = False  # SELECT's own EXISTS is the mailbox's size, not news
        if not await self.state.claim(self.name, folder, self.owner, READ_LEASE):
            return 0
        try:
            return await self._import_new(client, folder, validity, uidnext)
        finally:
            await self.state.release(self.name, folder, self.owner)

    async def _import_new(self, client: aioimaplib.IMAP4, folder: str, validity: int,
                          uidnext: int) -> int:
        pos = await self.state.get(self.name, folder)
        if pos is None or pos.uidvalidity != validity:
            if pos is not None:
                log.warning("%s/%s: UIDVALIDITY changed %s -> %s; re-reading unseen mail",
                            self.name, folder, pos.uidvalidity, validity)  # fmt: skip
            uids = await self._search(client, "UNSEEN")
            last = 0
        else:
            last = pos.last_uid
            uids = [u for u in await self._search(client, f"UID {last + 1}:*") if u > last]
        count = 0
        for uid in sorted(uids):
            await self._import(client, uid)
            last = max(last, uid)
            await self.state.save(self.name, folder, ImapPosition(validity, last))
            count += 1
        if pos is None or pos.uidvalidity != validity:
            # nothing older than UIDNEXT is new from here on
            await self.state.save(self.name, folder, ImapPosition(validity, max(last, uidnext - 1)))
        return count

    async def _search(self, client: aioimaplib.IMAP4, criteria: str) -> list[int]:
        resp = self._noting_news(
            _ok(await client.uid_search(criteria, charset=None), f"SEARCH {criteria}"))
        uids: list[int] = []
        for line in resp.lines[:-1]:
            words = bytes(line).split()
            if words[:1] == [b"SEARCH"]:  # aioimaplib usually strips it; some paths keep it
                words = words[1:]
            if words and all(w.isdigit() for w in words):  # not "7 EXISTS" sent alongside
                uids.extend(int(w) for w in words)
        return uids

    def _noting_news(self, response: Any) -> Any:
        """`response`, after noting any "* N EXISTS" the server sent along with it."""
        if any(isinstance(line, bytes) and _EXISTS.match(line) for line in response.lines[:-1]):
            self._news = True
        return response

    async def _import(self, client: aioimaplib.IMAP4, uid: int) -> None:
        size_resp = self._noting_news(
            _ok(await client.uid("fetch", str(uid), "(RFC822.SIZE)"), "FETCH SIZE"))
        sizes = [int(m.group(1)) for line in size_resp.lines if (m := _SIZE.search(bytes(line)))]
        if not sizes:
            return  # expunged meanwhile
        headers_only = sizes[0] > self.max_message_bytes
        part = "BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]"
        resp = self._noting_news(_ok(await client.uid("fetch", str(uid), f"({part})"), "FETCH"))
        literals = [x for x in resp.lines if isinstance(x, bytearray)]
        if not literals:
            return  # expunged meanwhile
        raw = bytes(literals[0])
        del literals, resp
        await self.ingest(raw, headers_only)  # returns after the inbox commit
        self.imported += 1
        await self._mark_processed(client, uid)

    async def _mark_processed(self, client: aioimaplib.IMAP4, uid: int) -> None:
        target = self.settings.processed_folder
        if not target:
            self._noting_news(_ok(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"),
                                   "STORE \\Seen"))
            return
        self._noting_news(_ok(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"),
                                   "STORE \\Seen"))
        resp = await (client.uid("move", str(uid), target) if client.has_capability("MOVE")
                      else client.uid("copy", str(uid), target))  # fmt: skip
        if resp.result != "OK" and b"TRYCREATE" in b" ".join(bytes(x) for x in resp.lines):
            await client.create(target)
            resp = await (client.uid("move", str(uid), target) if client.has_capability("MOVE")
                          else client.uid("copy", str(uid), target))  # fmt: skip
        _ok(resp, f"MOVE to {target}")
        if not client.has_capability("MOVE"):
            _ok(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Deleted)"), "STORE \\Deleted")
            if client.has_capability("UIDPLUS"):
                await client.uid("expunge", str(uid))

    # -- waiting -------------------------------------------------------------------------
    async def _wait_for_news(self, client: aioimaplib.IMAP4) -> None:
        if self._wake.is_set():
            self._wake.clear()
            return
        if not client.has_capability("IDLE"):
            await self._wait_events(self.settings.poll_interval)
            return
        timeout = self.settings.idle_timeout
        idle = await client.idle_start(timeout=timeout)
        push = asyncio.ensure_future(client.wait_server_push(timeout=timeout + 5))
        lost = asyncio.ensure_future(self._lost.wait())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({push, lost, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, lost, wake):
                task.cancel()
        self._wake.clear()
        if self._lost.is_set():
            raise ConnectionError("IMAP connection lost during IDLE")
        client.idle_done()
        await asyncio.wait_for(idle, self.settings.timeout)

    async def _wait_events(self, seconds: float) -> None:
        lost = asyncio.ensure_future(self._lost.wait())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({lost, wake}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            wake.cancel()
        self._wake.clear()
        if self._lost.is_set():
            raise ConnectionError("IMAP connection lost")

    # -- main loop -----------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, import, wait, repeat; reconnect with backoff on any failure."""
        backoff = self.min_backoff
        while True:
            client: aioimaplib.IMAP4 | None = None
            try:
                client = await self._connect()
                backoff = self.min_backoff
                while True:
                    await self.sync_once(client)
                    self.synced.set()
                    if self._news:  # announced during the pass: look again, not IDLE
                        continue
                    await self._wait_for_news(client)
            except asyncio.CancelledError:
                if client is not None:
                    await _logout(client)
                raise
            except Exception as exc:  # network, server or ingest failure: retry later
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.failed.set()
                log.warning("IMAP %s: %s; reconnecting in %.1fs", self.name, self.last_error, backoff)
                if client is not None:
                    await _logout(client)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self.max_backoff)


async def _logout(client: aioimaplib.IMAP4) -> None:
    """Leave politely if the server lets us within a second, else just close."""
    try:
        if client.has_pending_idle():
            client.idle_done()
        await asyncio.wait_for(client.logout(), 1)
    except Exception:
        pass
    finally:
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
