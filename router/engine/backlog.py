"""Deferred processing: acknowledge a webhook once its message is stored, process after.

Platforms want a quick answer (Slack: 3 seconds; Telegram and most webhooks retry a slow
one), and a burst of customers must not make every webhook wait for every decision
before it. With `service.acknowledge: stored`, webhook channels hand messages to
`Backlog.accept`: one small unit of work stores the message in the inbox (dedupe key plus
the normalised message) and the platform gets its 200 after that commit. `run` then
processes accepted messages in arrival order through the same pipeline code as
`Pipeline.ingest`; each processing unit takes its message out of the pending set in its
own commit, so a message is processed exactly once, across restarts and instances.
A channel may hand raw input (`UnparsedInbound`, router/engine/inbox.py): it is stored
as it came, and `parse` (the channel's `decode` and `enrich`) turns it into a message
here, before processing, so the platform's validation and a profile lookup are not paid
before the acknowledgement either.

Nothing is lost: pending messages are in the store; at start (and every `rescan` seconds
for ones another instance left behind) they are read back and processed. A message whose
processing raises is marked failed with the reason and kept (`inquiry-router inbox`).
The backlog is bounded: past `max_pending` messages waiting in this process, `accept`
waits for room, so a sustained overload slows acknowledgements down to the processing
rate instead of growing without limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta

from router.domain.errors import StoreError
from router.domain.model import Accepted, InboundMessage, UnparsedInbound
from router.domain.tasks import cancel_and_wait, woken
from router.engine.inbound_json import load_accepted
from router.engine.pipeline import Pipeline
from router.engine.stages import StageClock
from router.ports.channel import IngestResult
from router.store.base import Store, Tx

log = logging.getLogger(__name__)

AfterProcessing = Callable[[InboundMessage, IngestResult], Awaitable[None]]
# An unparsed payload's message, or None when it holds nothing to process; raises when
# the payload cannot be processed at all (the item is then marked failed). May wait on
# the network (a profile lookup): units still reach the store in arrival order.
ParseAccepted = Callable[[UnparsedInbound], Awaitable[InboundMessage | None]]
Key = tuple[str, str]


class Backlog:
    def __init__(self, store: Store, pipeline: Pipeline, *, after: AfterProcessing | None = None,
                 parse: ParseAccepted | None = None, max_pending: int = 20_000,
                 in_flight: int = 128, rescan: float = 30.0, orphan_age: float = 30.0,
                 stages: StageClock | None = None) -> None:
        """Every `rescan` seconds of idleness, pending rows older than `orphan_age`
        seconds that are not queued here are taken up (another instance's that died,
        failed ones an admin retried, ones a store error left behind)."""
        self.store = store
        self.pipeline = pipeline
        self.after = after
        self.parse = parse
        self.max_pending = max_pending
        self.in_flight = in_flight
        self.rescan = rescan
        self.orphan_age = orphan_age
        self.stages = stages or StageClock()
        self._queue: deque[Accepted] = deque()
        self._queued: set[Key] = set()
        self._work = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._busy = 0  # messages handed to the store, not committed yet
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Accepted messages this process has not processed yet."""
        return len(self._queue) + self._busy

    def status(self) -> dict[str, int]:
        return {"pending": self.pending, "processed": self.processed, "failed": self.failed}

    async def accept(self, message: Accepted) -> IngestResult:
        while len(self._queue) >= self.max_pending:
            self._room.clear()
            await self._room.wait()  # backpressure: the platform waits (and may retry)
        stored = await self.pipeline.accept(message)
        if stored:
            self._push(message)
        return IngestResult(duplicate=not stored, message_id=None, conversation_id=None,
                            accepted=True)

    async def drained(self) -> None:
        """Wait until every message accepted so far has been processed (tests, benchmarks)."""
        while self.pending:
            self._idle.clear()
            await self._idle.wait()

    async def start(self) -> None:
        """Queue what a previous run left pending, ahead of anything accepted from now on."""
        await self._load(older_than=None)
        self._task = asyncio.create_task(self._run(), name="backlog")

    async def stop(self) -> None:
        """Stop after the units already handed to the store; the rest stays pending."""
        await cancel_and_wait(self._task)
        self._task = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def _push(self, message: Accepted) -> None:
        key = (message.channel, message.external_id)
        if key in self._queued:
            return
        self._queued.add(key)
        self._queue.append(message)
        self._idle.clear()
        self._work.set()

    async def _load(self, older_than: timedelta | None) -> int:
        """Pending rows from the store that are not queued here: a previous run's, or
        another instance's that died before processing them."""
        cutoff = self.pipeline.clock() - older_than if older_than is not None else None

        async def read(tx: Tx) -> list[tuple[str, str, str]]:
            return await tx.inbox_pending(self.max_pending, older_than=cutoff)

        found = 0
        for channel, external_id, text in await self.store.read(read):
            if (channel, external_id) in self._queued:
                continue
            try:
                message = load_accepted(text)
            except (ValueError, TypeError, KeyError) as exc:
                await self._fail(channel, external_id, f"unreadable pending message: {exc}")
                continue
            self._push(message)
            found += 1
        if found:
            log.info("backlog: %d pending message(s) found in the store", found)
        return found

    async def _run(self) -> None:
        """Keep up to `in_flight` messages in the store's hands at a time, in arrival order
        (the writer keeps the order it was given), topping up as each one commits."""
        slots = asyncio.Semaphore(self.in_flight)
        handed: asyncio.Future[None] | None = None  # the previous item's turn at the store
        while True:
            if not self._queue:
                if not self._busy:
                    self._idle.set()
                self._work.clear()
                if not await woken(self._work, self.rescan) and not self._busy:
                    await self._rescan()
                continue
            await slots.acquire()
            message = self._queue.popleft()
            self._busy += 1
            if len(self._queue) < self.max_pending:
                self._room.set()
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._process(message, after=handed, turn=turn))
            handed = turn
            self._tasks.add(task)
            task.add_done_callback(lambda t, m=message: self._done(t, m, slots))

    def _done(self, task: asyncio.Task[None], message: Accepted,
              slots: asyncio.Semaphore) -> None:
        self._tasks.discard(task)
        self._busy -= 1
        self._queued.discard((message.channel, message.external_id))
        slots.release()
        if not self._busy and not self._queue:
            self._idle.set()

    async def _rescan(self) -> None:
        try:
            await self._load(older_than=timedelta(seconds=self.orphan_age))
        except StoreError as exc:
            log.warning("backlog: rescan failed: %s", exc)

    async def _process(self, item: Accepted, *, after: asyncio.Future[None] | None,
                       turn: asyncio.Future[None]) -> None:
        """Parse (concurrently with other items: a parser may wait on the network), then
        hand the unit to the store only after the item before it did, so the writer gets
        units in arrival order. `turn` is set once this item's unit is queued (or once it
        has none); the next item waits for it."""
        try:
            message = await self._parsed(item) if isinstance(item, UnparsedInbound) else item
            if after is not None:
                await after
        finally:
            # Set before the unit is queued: the next item resumes only once this task
            # suspends, and `Pipeline.process` queues its unit before it first suspends.
            turn.set_result(None)
        if message is None:
            return
        key = (message.channel, message.external_id)
        self.stages.queued(key)
        try:
            result = await self.pipeline.process(message)
        except StoreError as exc:
            # The store could not commit (disk, connection): the message is still pending
            # in the store and the next rescan picks it up again.
            log.warning("backlog: %s %s not processed yet: %s", message.channel,
                        message.external_id, exc)
            return
        except Exception as exc:
            log.exception("backlog: processing %s %s failed", message.channel,
                          message.external_id)
            await self._fail(message.channel, message.external_id,
                             f"{exc.__class__.__name__}: {exc}")
            return
        if result.duplicate:
            return  # processed before (another instance, or a run that crashed after it)
        self.processed += 1
        self.stages.processed(key, result.conversation_id)
        if self.after is not None:
            try:
                await self.after(message, result)
            except Exception:
                log.exception("backlog: after-processing hook of %s failed", message.channel)

    async def _parsed(self, item: UnparsedInbound) -> InboundMessage | None:
        """The message of an accepted payload; None when there is nothing to process (then
        the payload is settled here, or marked failed when it cannot be parsed)."""
        try:
            if self.parse is None:
                raise RuntimeError("no parser for accepted payloads")
            message = await self.parse(item)
            if message is not None and (message.channel, message.external_id) != (
                    item.channel, item.external_id):
                raise ValueError(f"parsed message has key {message.channel} "
                                 f"{message.external_id}")
        except Exception as exc:
            log.exception("backlog: parsing %s %s failed", item.channel, item.external_id)
            await self._fail(item.channel, item.external_id, f"{exc.__class__.__name__}: {exc}")
            return None
        if message is None:
            try:
                await self.pipeline.settle(item.channel, item.external_id)
            except StoreError as exc:  # still pending: the next rescan parses it again
                log.warning("backlog: %s %s not settled yet: %s", item.channel,
                            item.external_id, exc)
        return message

    async def _fail(self, channel: str, external_id: str, error: str) -> None:
        self.failed += 1
        try:
            await self.store.write(lambda tx: tx.inbox_fail(channel, external_id, error))
        except StoreError as exc:
            log.error("backlog: could not mark %s %s failed: %s", channel, external_id, exc)
