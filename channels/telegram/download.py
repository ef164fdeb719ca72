"""Optional download of received files (`download.enabled`) after the inbox commit.

The job is part of the message: an attachment that should be fetched is stored with
`"download": "pending"` in the same commit as the message, so a crash, a restart or a
Bot API outage never loses it (on start the adapter looks for pending jobs again through
its host). Only then, never before the acknowledgement, `getFile` is called and the file
is streamed from `{api_base}/file/bot<token>/<file_path>` into
`<data_dir>/<dir>/telegram/<sha256>`, counting bytes as they arrive, so a file over
`max_bytes` is cut off and not kept. The outcome is data of the message and written back
onto the attachment (`ChannelHost.update_attachment`): `download` becomes `done` (with
`stored`, `sha256`, `stored_size`), `too_large` or `failed` (with `download_error`).

Several instances (one PostgreSQL store) all look for pending jobs at start, so each job
is leased in the channel's state before its download: `download:<message id>:<index>`,
claimed for `lease` seconds (default 10 minutes) by this downloader's own owner id and
tied to the message's conversation, so erasing the contact removes it. The claim is
atomic, and the attachment is read again after it: an instance that lost the race, or
claims a job just finished, finds it no longer pending and lets it be. A finished job's
lease is deleted after its outcome is recorded; one given up on (or cut by a stop) is
released and stays pending; the lease of an instance that died runs out and another
instance's rescan takes the job over.
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
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter

from channels.telegram.settings import DownloadSettings
from router.domain.model import InboundMessage, Message
from router.domain.tasks import cancel_and_wait
from router.ports.channel_host import ChannelHost

log = logging.getLogger(__name__)

PENDING_MARK = '"download":"pending"'  # as the attachment appears in the stored JSON
# Versions before the leases moved into the channel's state marked a job being fetched
# `running:<until>` on the attachment; such a job (its instance stopped by the upgrade) is
# pending like any other.
LEGACY_RUNNING = "running:"
LEGACY_RUNNING_MARK = f'"download":"{LEGACY_RUNNING}'
LEASE = 600.0  # seconds a download lease holds before another instance may take the job
RECLAIM = 60.0  # seconds until a job another instance holds is looked at again
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
    def __init__(self, *, settings: DownloadSettings, channel: str, bot: Bot, host: ChannelHost,
                 data_dir: Path, backoff: float = 1.0, lease: float = LEASE,
                 reclaim: float = RECLAIM) -> None:
        """`reclaim`: how long until a job another instance holds is tried again (its
        lease may have run out by then; the host's state does not say when it will)."""
        self.settings = settings
        self.channel = channel
        self.bot = bot
        self.host = host
        self.state = host.state
        self.owner = uuid.uuid4().hex  # this downloader's leases; a restart is a new owner
        self.relative = Path(settings.dir) / "telegram"
        self.root = data_dir / self.relative
        self.backoff = backoff
        self.lease = lease
        self.reclaim = reclaim
        self._rescan_in: float | None = None  # seconds until held jobs are looked at again
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
        # not `while True`: on 3.11 a cancel that meets the stop event's wake-up in
        # `_attempts` can be swallowed by asyncio.wait_for, and the loop must end anyway
        while not self._stopping.is_set():
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
        """Queue the jobs left pending (a job another instance holds is queued too: its
        claim is refused then, and the next rescan tries again)."""
        pending = await self.host.messages_with_attachment_mark(PENDING_MARK, RECOVER_LIMIT)
        legacy = await self.host.messages_with_attachment_mark(LEGACY_RUNNING_MARK, RECOVER_LIMIT)
        if pending or legacy:
            log.info("%s: %d message(s) with pending downloads", self.channel,
                     len(pending) + len(legacy))
        self._rescan_in = None
        for message in (*pending, *legacy):
            self.enqueue(message.id, message.external_id)

    async def _message(self, message_id: int, external_id: str) -> None:
        message = await self.host.message(external_id)
        if message is None or message.id != message_id:
            return
        for index, att in enumerate(message.attachments):
            if self._stopping.is_set():
                return
            if not _is_job(att):
                continue
            key = f"download:{message_id}:{index}"
            leased = await self._lease(key, message, external_id, index)
            if leased is None:
                continue  # done meanwhile, or another instance holds it
            try:
                result = await self._attempts(str(leased.get("ref", "")))
            except asyncio.CancelledError:  # stopping: hand the job back, not after the lease
                with contextlib.suppress(Exception):
                    await self.state.release(key, self.owner)
                raise
            if result is None:  # given up for now (or stopping): pending for the next one
                await self.state.release(key, self.owner)
                continue
            await self.host.update_attachment(message_id, external_id, index, result)
            await self.state.delete(key)  # after the outcome: a late claim finds it done
            await self._finished(message_id, index, result["download"])

    async def _lease(self, key: str, message: Message, external_id: str,
                     index: int) -> dict[str, Any] | None:
        """The attachment, now leased to us; None if it is not ours to fetch.

        The claim is atomic across instances; the attachment is read after it, so a job
        another instance finished (its outcome recorded before its lease was deleted)
        is seen as done here."""
        if not await self.state.claim(key, self.owner, self.lease):
            self._rescan_in = min(self._rescan_in or self.reclaim, self.reclaim)
            return None
        # the lease names the conversation: erasing the contact erases it too
        await self.state.put(key, {"message": message.id, "attachment": index},
                             conversation_id=message.conversation_id)
        again = await self.host.message(external_id)
        if again is None or again.id != message.id or index >= len(again.attachments) \
                or not _is_job(again.attachments[index]):
            await self.state.delete(key)
            return None
        return again.attachments[index]

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

    async def _finished(self, message_id: int, index: int, outcome: str) -> None:
        log.info("%s: attachment %d of message %s: %s", self.channel, index, message_id, outcome)
        async with self._changed:
            self.finished.append((message_id, index, outcome))
            self._changed.notify_all()


def _is_job(att: Any) -> bool:
    """Whether the attachment still waits for its download (pending, or marked running
    by an earlier version)."""
    state = att.get("download")
    return state == "pending" or (isinstance(state, str) and state.startswith(LEGACY_RUNNING))


def _sync(out: Any) -> None:
    out.flush()
    os.fsync(out.fileno())


