"""The outbox dispatcher: delivers stored replies with retries, backoff and leases.

Rows are leased before sending (attempts counted at lease time) and settled after. A
crash between send and settle leaves a leased row that becomes due again when its lease
expires; it is then resent with the same idempotency key, so a platform or endpoint that
honours the key sees it once. Platforms without idempotency (Telegram, Slack) can see
such a message twice after a crash at exactly that instant: at-least-once, documented.

Most bot replies are leased by the unit that wrote them and handed over at its commit
(`reserve`, `hand`; router/engine/reply_claim.py); lease rounds take the rest.
A send slot is free again as soon as the platform answered: the "sent" marks of replies
delivered meanwhile are written together, by the next lease round when one comes within
`MARK_WAIT`, else by a round run for them (in a unit of their own when no slot is free
or a mark keeps thread keys). A lease is a unit of work
that waits for the writer's next commit, so each round leases as many rows as slots are
free: with slots held until their own mark committed, and 16 of them, replies queued for
seconds at a few hundred messages a second (issue 28; `outbox.concurrency` is 64 now).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from router.domain.errors import ChannelError
from router.domain.model import OutboxRow, OutboxStatus
from router.engine.stages import StageClock
from router.ports.channel import ChannelAdapter, SendResult
from router.ports.channel_host import UNREACHABLE
from router.store.base import Store, Tx, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
REMOTE_WAKE_DELAY = 0.2  # seconds before a dispatcher looks at another instance's rows
#: seconds a delivered row's "sent" mark waits for the next lease round to carry it
MARK_WAIT = 0.1


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): spreads retries out."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)


def _sent_marks(batch: list[tuple[OutboxRow, SendResult]],
                now: datetime) -> Callable[[Tx], Awaitable[None]]:
    """One unit of work marking every row of `batch` sent (and keeping its thread keys)."""
    async def unit(tx: Tx) -> None:
        for row, result in batch:
            await tx.outbox_sent(row.id, result.external_id, now)
            if result.thread_keys and row.conversation_id is not None:
                await tx.add_thread_keys(row.channel, result.thread_keys, row.conversation_id)
    return unit


class Dispatcher:
    def __init__(self, store: Store, channels: Mapping[str, ChannelAdapter], *,
                 max_attempts: int = 8, base_delay: float = 1.0, max_delay: float = 600.0,
                 lease: float = 60.0, concurrency: int = 64,
                 clock: Callable[[], datetime] = utcnow,
                 on_settled: Callable[[OutboxRow, str], None] | None = None,
                 stages: StageClock | None = None) -> None:
        self.store = store
        self.channels = channels
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.concurrency = concurrency
        self.clock = clock
        self.on_settled = on_settled
        self.stages = stages or StageClock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._sent: list[tuple[OutboxRow, SendResult]] = []  # delivered, mark not written
        self._marker: asyncio.Task[None] | None = None
        self._mark_timer: asyncio.TimerHandle | None = None
        self._remote_wake: asyncio.TimerHandle | None = None
        self._slots_were_full = False  # the last round leased as many rows as slots were free
        self._reserved = 0  # slots held for replies their own unit leases (`reserve`)

    def wake(self, *_: object) -> None:
        self._wake.set()

    def wake_soon(self, *_: object) -> None:
        """Another instance committed outbox rows: look within `REMOTE_WAKE_DELAY`.

        The instance that wrote them wakes its own dispatcher at once and normally sends
        them; the others only step in when it cannot (stopped, or all its send slots
        taken). Waking every instance on every remote commit made each of them run a
        lease unit per commit cluster-wide, for rows the writer had already leased
        (issue 28: three instances spent about 1.5x the CPU of one per message)."""
        if self._remote_wake is None or self._remote_wake.cancelled():
            self._remote_wake = asyncio.get_running_loop().call_later(
                REMOTE_WAKE_DELAY, self._remote_woken)

    def _remote_woken(self) -> None:
        self._remote_wake = None
        self._wake.set()

    def reserve(self) -> bool:
        """Hold a send slot for a reply that its own unit of work leases (`Tx.outbox_claim`)
        and `hand`s over once committed: False when every slot is taken, when we are
        stopping, or when the store says a lease round is the cheaper way now
        (`Store.leases_in_unit`: SQLite under load), and the reply waits for a lease
        round as before.

        Why: a lease round is a unit of work, and on SQLite a commit, of its own between
        the commit of a reply and its send. At 100 new conversations a second it ran once
        per reply (issue 28), and on PostgreSQL it was a statement and a WAL flush per
        reply on every instance. The slot is reserved so that a row leased by its unit
        never waits for one: its lease runs from its commit."""
        if self._stopping or self._free_slots() <= 0 or not self.store.leases_in_unit():
            return False
        self._reserved += 1
        return True

    def hand(self, rows: list[OutboxRow], reserved: bool) -> None:
        """After the commit of a unit that `reserve`d a slot (`reserved`): send what it
        leased (`rows`, at most one) in that slot, or give the slot back. Also after a
        unit that failed, with no rows."""
        if reserved:
            self._reserved -= 1
        for row in rows:
            self._start(row, refused=False)
        if reserved and not rows and self._slots_were_full:
            self._wake.set()  # the slot given back may be what a waiting row needs

    def _free_slots(self) -> int:
        """Send slots neither sending nor held for a reply its unit leases (`reserve`)."""
        return self.concurrency - len(self._inflight) - self._reserved

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop leasing new rows and wait up to `grace` seconds for sends in flight."""
        self._stopping = True
        if self._remote_wake is not None:
            self._remote_wake.cancel()
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d sends still in flight at shutdown; they resume after restart",
                            len(pending))
        if self._mark_timer is not None:
            self._mark_timer.cancel()
        self._marks_alone()  # what was delivered is marked before we stop
        if self._marker is not None:
            await self._marker

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                _, due, more = await self._dispatch()
            except Exception:
                log.exception("outbox dispatch failed; retrying")
                due, more = self.clock() + timedelta(seconds=1), False
            if self._stopping:
                break
            if more:
                continue
            timeout = 30.0 if due is None else min(
                30.0, max(0.01, (due - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _write(self, fn: Callable[[Tx], Awaitable[T]], one_statement: bool = False) -> T:
        """The outbox's bookkeeping is background work for the store: nobody waits for an
        answer, so acknowledgements of new messages go first under a burst. It finishes
        messages already processed, so it goes before the processing of new ones
        (`ahead`): a reply waits for a lease round, not for the whole backlog."""
        return await self.store.write(fn, background=True, ahead=True,
                                      one_statement=one_statement)

    async def dispatch_due(self) -> int:
        """Lease what is due (as many as free send slots) and start sending it."""
        return (await self._dispatch())[0]

    async def _dispatch(self) -> tuple[int, datetime | None, bool]:
        """Lease what is due and start sending it: (rows leased, when the next pending row
        falls due (None: none pending), whether more may be due now).

        One unit of work per round: the lease, the reachability of what it leased (a
        channel reported these addresses refusing our messages, a blocked bot: they fail
        here instead of spending the platform's rate limit on a refusal) and, when the
        round left send slots free, the next due time. On PostgreSQL that is one
        statement, outside a transaction block: at the rates where each round leases one
        reply it had been six round trips per reply (issue 28)."""
        free = self._free_slots()
        if free <= 0:
            self._slots_were_full = True
            return 0, None, False  # a finishing send wakes us
        now = self.clock()
        until = now + timedelta(seconds=self.lease)
        # the "sent" marks waiting for a round go with this one (rows whose send named
        # thread keys to keep take a unit of their own, `_mark_sent`)
        carried = [(row, result) for row, result in self._sent if not result.thread_keys]
        self._sent = [(row, result) for row, result in self._sent if result.thread_keys]
        marks = [(row.id, result.external_id) for row, result in carried]
        try:
            found = await self._write(
                lambda tx: tx.outbox_lease_round(now, until, free, UNREACHABLE, marks),
                one_statement=True)
        except BaseException:
            self._sent[:0] = carried  # not written: they go on their own
            if carried:
                self._marks_due()
            raise
        self._marked(carried)
        rows, refused, due = found.rows, found.refused, found.next_due
        for row in rows:
            self._start(row, refused=row.id in refused)
        self._slots_were_full = len(rows) == free
        return len(rows), due, self._slots_were_full

    def _start(self, row: OutboxRow, *, refused: bool) -> None:
        """Send a leased row in a slot of its own (fail it, when its address refuses us)."""
        task = asyncio.create_task(self._leased(row, refused))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        task.add_done_callback(self._send_done)

    async def _leased(self, row: OutboxRow, refused: bool) -> None:
        # stamped in the task, which runs after its caller: a row handed over by the unit
        # that leased it comes before the backlog has stamped that unit "processed"
        self.stages.claimed(row.id, row.conversation_id)
        await (self._unreachable(row) if refused else self._send(row))

    def _send_done(self, _task: object) -> None:
        """A send slot is free again. Look for more only when the last round filled every
        slot (rows may be waiting for one); otherwise whatever else was due was leased
        with it. A round per finished send had been the most frequent unit of work with
        three PostgreSQL instances (issue 28). A failed send wakes the loop itself: its
        retry time may come before anything the last round saw."""
        if self._slots_were_full:
            self._wake.set()

    async def _unreachable(self, row: OutboxRow) -> None:
        await self._settle_failure(row, ChannelError(
            f"{row.thread_key or row.recipient} refuses our messages on {row.channel} "
            "(contact unreachable)", permanent=True))

    async def _send(self, row: OutboxRow) -> None:
        channel = self.channels.get(row.channel)
        if channel is None:
            await self._settle_failure(row, ChannelError(
                f"channel '{row.channel}' is not configured", permanent=False))
            return
        try:
            result = await channel.send(row.to_outbound())
        except ChannelError as exc:
            await self._settle_failure(row, exc)
            return
        except Exception as exc:  # an adapter bug is retried, never a crash of the loop
            log.exception("channel %s raised while sending outbox row %s", row.channel, row.id)
            await self._settle_failure(row, ChannelError(f"{exc.__class__.__name__}: {exc}"))
            return
        self.stages.sent(row.id)
        self._sent.append((row, result))
        if result.thread_keys:
            self._marks_alone()  # at once: see `_marks_due`
        else:
            self._marks_due()

    def _marks_due(self) -> None:
        """Delivered rows wait up to `MARK_WAIT` for a lease round to write their marks
        (on PostgreSQL in its statement): a unit of their own each had been a round trip
        and a commit per reply on an instance whose rounds lease one row (three instances
        at a few hundred messages a second, issue 28). Then they go alone.

        A send that named thread keys (an email's Message-ID) is marked at once instead:
        until its keys commit, an answer to it (an out-of-office reply comes within
        seconds, and the importer sees it over IDLE) cannot find its conversation and
        opens a new one."""
        if self._stopping:
            self._marks_alone()
        elif self._mark_timer is None:
            self._mark_timer = asyncio.get_running_loop().call_later(MARK_WAIT,
                                                                     self._marks_alone)

    def _marks_alone(self) -> None:
        """No lease round came within `MARK_WAIT`: one is run for the marks, which carries
        them in its one statement (and leases what is due meanwhile), when a slot is free
        and none names thread keys; otherwise they go in a unit of their own. Replies
        leased by their own unit (`hand`) have no round to ride with, and a unit of
        marks was a statement per row."""
        self._mark_timer = None
        if not self._sent:
            return
        if not self._stopping and self._task is not None and not self._task.done() \
                and self._free_slots() > 0 and not any(r.thread_keys for _, r in self._sent):
            self._wake.set()
        elif self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_sent(), name="outbox-sent-marks")

    async def _mark_sent(self) -> None:
        """Write the "sent" marks of every reply delivered so far, in one unit per round.

        Until its mark commits a row stays leased: a crash in between resends it after the
        lease, with the same idempotency key (at-least-once, as before)."""
        while self._sent:
            batch, self._sent = self._sent, []
            unit = _sent_marks(batch, self.clock())
            single = len(batch) == 1 and not batch[0][1].thread_keys  # one UPDATE
            try:
                # not background work: until its mark commits a delivered row's lease is
                # running out, and a row whose lease ran out is sent again
                await self.store.write(unit, one_statement=single)
            except Exception:
                log.exception("could not mark %d delivered outbox row(s) sent; they are resent "
                              "after their lease", len(batch))
                continue
            self._marked(batch)

    def _marked(self, batch: list[tuple[OutboxRow, SendResult]]) -> None:
        for row, _ in batch:
            self.stages.marked(row.id)
            log.info("sent outbox row %s on %s", row.id, row.channel,
                     extra={"outbox_id": row.id, "channel": row.channel,
                            "attempt": row.attempts})
            if self.on_settled:
                self.on_settled(row, "sent")

    async def _settle_failure(self, row: OutboxRow, exc: ChannelError) -> None:
        reason = exc.reason[:500]
        if exc.permanent:
            await self._write(lambda tx: tx.outbox_give_up(row.id, OutboxStatus.FAILED, reason))
            log.warning("outbox row %s failed permanently on %s: %s", row.id, row.channel, reason)
            outcome = "failed"
        elif row.attempts >= self.max_attempts:
            await self._write(lambda tx: tx.outbox_give_up(row.id, OutboxStatus.DEAD, reason))
            log.error("outbox row %s dead after %d attempts on %s: %s", row.id, row.attempts,
                      row.channel, reason)
            outcome = "dead"
        else:
            delay = backoff_delay(row.attempts, self.base_delay, self.max_delay)
            if exc.retry_after is not None:
                delay = max(delay, float(exc.retry_after))
            when = self.clock() + timedelta(seconds=delay)
            await self._write(lambda tx: tx.outbox_retry_later(row.id, when, reason))
            log.info("outbox row %s retry in %.1fs on %s: %s", row.id, delay, row.channel, reason)
            outcome = "retry"
        self._wake.set()  # the row's next attempt may be due before the loop looks again
        if self.on_settled:
            self.on_settled(row, outcome)
