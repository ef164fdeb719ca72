"""Optional download of received files (`download.enabled`) after the inbox commit.

The job is part of the message: an attachment that should be fetched is stored with
`"download": "pending"` in the same commit as the message, so a crash, a restart or a
Bot API outage never loses it (on start the adapter looks for pending jobs again). Only
then, never before the acknowledgement, `getFile` is called and the file is streamed from
`{api_base}/file/bot<token>/<file_path>` into `<data_dir>/<dir>/telegram/<sha256>`,
counting bytes as they arrive, so a file over `max_bytes` is cut off and not kept. The
outcome is written back onto the attachment: `download` becomes `done` (with `stored`,
`sha256`, `stored_size`), `too_large` or `failed` (with `download_error`).

Several instances (one PostgreSQL store) all look for pending jobs at start, so a job is
leased before its download: `download` becomes `running:<until>` in a unit of work that
first locks the message's conversation row (PostgreSQL; SQLite has one writer) and then
re-reads the attachment, so only one instance turns a `pending` (or an expired
`running:`) job into its lease. A job given up on goes back to `pending`; the lease of an
instance that died expires (`lease`, default 10 minutes) and is taken over by a rescan.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter

from channels.telegram.settings import DownloadSettings
from router.model import InboundMessage
from router.store.base import Store, Tx
from router.tasks import cancel_and_wait
from router.timestamps import parse_ts, ts, utcnow

log = logging.getLogger(__name__)

PENDING_MARK = '"download":"pending"'  # as the attachment appears in the stored JSON
RUNNING = "running:"  # + lease expiry (stored timestamp): one instance is downloading it
RUNNING_MARK = f'"download":"{RUNNING}'
LEASE = 600.0  # seconds a download lease holds before another instance may take the job
DOWNLOADABLE = frozenset({"photo", "document", "audio", "video", "animation", "voice",
                          "video_note", "sticker"})
MAX_ATTEMPTS = 5  # then the job stays pending until the next start
RECOVER_LIMIT = 10_000
CHUNK = 64 * 1024


class _TooLarge(Exception):
    pass


class _Permanent(Exception):
    pass


def mark_pending(message: InboundMessage) -> InboundMessage:
    """The message with a download job on each file attachment (stored with it)."""
    if not any(a.kind in DOWNLOADABLE and a.ref for a in message.attachments):
        return message
    return replace(message, attachments=tuple(
        replace(a, extra={**a.extra, "download": "pending"})
        if a.kind in DOWNLOADABLE and a.ref else a for a in message.attachments))


def has_pending(message: InboundMessage) -> bool:
    return any(a.extra.get("download") == "pending" for a in message.attachments)


class Downloader:
    def __init__(self, *, settings: DownloadSettings, channel: str, bot: Bot, store: Store,
                 data_dir: Path, backoff: float = 1.0, lease: float = LEASE) -> None:
        self.settings = settings
        self.channel = channel
        self.bot = bot
        self.store = store
        self.relative = Path(settings.dir) / "telegram"
        self.root = data_dir / self.relative
        self.backoff = backoff
        self.lease = lease
        self._rescan_in: float | None = None  # seconds until a live lease may have expired
        #: (message id, attachment index, outcome) per finished job, for logs and tests
        self.finished: list[tuple[int, int, str]] = []
        self._queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._queued: set[int] = set()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name=f"{self.channel}-download")

    async def stop(self) -> None:
        self._stopping.set()
        await cancel_and_wait(self._task)

    def enqueue(self, message_id: int, external_id: str) -> None:
        if message_id not in self._queued:
            self._queued.add(message_id)
            self._queue.put_nowait((message_id, external_id))

    async def wait_for(self, predicate: Callable[[Downloader], bool], within: float = 10.0) -> None:
        """Wait (at most `within` seconds) until `predicate` holds; for tests and tools."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    # --- worker ----------------------------------------------------------------------
    async def _run(self) -> None:
        await self._scan()
        while True:
            try:
                async with asyncio.timeout(self._rescan_in):
                    message_id, external_id = await self._queue.get()
            except TimeoutError:  # another instance's lease may have expired: look again
                await self._scan()
                continue
            self._queued.discard(message_id)
            try:
                await self._message(message_id, external_id)
            except Exception:  # the job stays pending; the next start tries again
                log.exception("%s: downloads of message %s failed", self.channel, message_id)

    async def _scan(self) -> None:
        """Queue the jobs left pending, and those whose lease has expired."""
        def find(tx: Tx, mark: str) -> Any:
            return tx.messages_with_attachment_mark(self.channel, mark, RECOVER_LIMIT)

        pending = await self.store.read(lambda tx: find(tx, PENDING_MARK))
        running = await self.store.read(lambda tx: find(tx, RUNNING_MARK))
        if pending:
            log.info("%s: %d message(s) with pending downloads", self.channel, len(pending))
        for message in pending:
            self.enqueue(message.id, message.external_id)
        now, self._rescan_in = utcnow(), None
        for message in running:
            expiries = [u for a in message.attachments if (u := _lease_end(a)) is not None]
            if any(u <= now for u in expiries):
                self.enqueue(message.id, message.external_id)
            for u in expiries:
                if u > now:
                    left = (u - now).total_seconds() + 0.01
                    self._rescan_in = min(self._rescan_in or left, left)

    async def _message(self, message_id: int, external_id: str) -> None:
        message = await self.store.read(lambda tx: tx.find_message(self.channel, external_id))
        if message is None or message.id != message_id:
            return
        for index in range(len(message.attachments)):
            if self._stopping.is_set():
                return
            until = utcnow() + timedelta(seconds=self.lease)
            leased = await self.store.write(
                lambda tx, i=index, u=until: self._lease(tx, message_id, external_id, i, u))
            if leased is None:
                continue  # done, not a job, or another instance holds it
            try:
                result = await self._attempts(str(leased.get("ref", "")))
            except asyncio.CancelledError:  # stopping: hand the job back, not after the lease
                with contextlib.suppress(Exception):
                    await self._record(message_id, external_id, index, {"download": "pending"})
                raise
            if result is None:  # given up for now (or stopping): back to pending
                result = {"download": "pending"}
            await self._record(message_id, external_id, index, result)

    async def _lease(self, tx: Tx, message_id: int, external_id: str, index: int,
                     until: Any) -> dict[str, Any] | None:
        """The attachment, now leased to us until `until`; None if it is not ours to fetch.

        The conversation row is locked first (a write unit on PostgreSQL locks what
        `get_conversation` reads), so a concurrent lease of the same message waits, and
        the attachment read after it sees the other unit's commit."""
        message = await tx.find_message(self.channel, external_id)
        if message is None or message.id != message_id:
            return None
        await tx.get_conversation(message.conversation_id)
        message = await tx.find_message(self.channel, external_id)
        if message is None or index >= len(message.attachments):
            return None
        att = message.attachments[index]
        state = att.get("download")
        if state != "pending":
            end = _lease_end(att)
            if end is None or end > utcnow():
                return None
            log.warning("%s: download lease of message %s expired; taking it over",
                        self.channel, message_id)
        attachments = [dict(a) for a in message.attachments]
        attachments[index]["download"] = RUNNING + (ts(until) or "")
        await tx.update_message_attachments(message_id, attachments)
        return attachments[index]

    async def _attempts(self, file_id: str) -> dict[str, Any] | None:
        """The attachment's new keys, or None to leave the job pending."""
        delay = self.backoff
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await self._fetch(file_id)
            except _TooLarge:
                return {"download": "too_large"}
            except (_Permanent, TelegramBadRequest) as exc:
                return {"download": "failed", "download_error": str(exc)[:300]}
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
            except (TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("%s: download of %s failed (%s), attempt %d", self.channel,
                            file_id, exc.__class__.__name__, attempt)
                wait, delay = delay, delay * 2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
            if self._stopping.is_set():
                break
        return None

    async def _fetch(self, file_id: str) -> dict[str, Any]:
        limit = self.settings.max_bytes
        file = await self.bot.get_file(file_id)
        if file.file_size and file.file_size > limit:
            raise _TooLarge
        if not file.file_path:
            raise _Permanent("getFile returned no file_path")
        url = self.bot.session.api.file_url(self.bot.token, file.file_path)
        tmp = self.root / f".part-{uuid.uuid4().hex}"
        digest, size = hashlib.sha256(), 0
        try:
            with tmp.open("wb") as out:
                stream = self.bot.session.stream_content(
                    url=url, timeout=int(self.bot.session.timeout), chunk_size=CHUNK)
                try:
                    async with contextlib.aclosing(stream):  # closes the response on a cut
                        async for chunk in stream:
                            size += len(chunk)
                            if size > limit:  # the server's size may be missing or wrong
                                raise _TooLarge
                            digest.update(chunk)
                            out.write(chunk)
                except aiohttp.ClientResponseError as exc:
                    if 400 <= exc.status < 500 and exc.status != 429:
                        raise _Permanent(f"HTTP {exc.status} for the file") from exc
                    raise
                await asyncio.to_thread(_sync, out)
            sha = digest.hexdigest()
            os.replace(tmp, self.root / sha)  # content-addressed: a second copy is the same
        finally:
            tmp.unlink(missing_ok=True)
        return {"download": "done", "stored": str(self.relative / sha), "sha256": sha,
                "stored_size": size}

    async def _record(self, message_id: int, external_id: str, index: int,
                      result: dict[str, Any]) -> None:
        async def unit(tx: Tx) -> None:
            message = await tx.find_message(self.channel, external_id)
            if message is None or message.id != message_id or index >= len(message.attachments):
                return
            attachments = [dict(a) for a in message.attachments]
            attachments[index].update(result)
            await tx.update_message_attachments(message_id, attachments)

        await self.store.write(unit)
        log.info("%s: attachment %d of message %s: %s", self.channel, index, message_id,
                 result["download"])
        if result["download"] == "pending":
            return
        async with self._changed:
            self.finished.append((message_id, index, result["download"]))
            self._changed.notify_all()


def _lease_end(att: Any) -> Any:
    """When a `running:<until>` lease ends (None if the attachment has no lease)."""
    state = att.get("download")
    if not isinstance(state, str) or not state.startswith(RUNNING):
        return None
    return parse_ts(state.removeprefix(RUNNING)) or utcnow()  # unreadable: expired


def _sync(out: Any) -> None:
    out.flush()
    os.fsync(out.fileno())


