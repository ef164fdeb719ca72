"""Background clock work: wake snoozes, fire SLA breaches once, re-queue abandoned work.

Each step is a conditional UPDATE followed by its event in the same unit of work
(`end_snooze`, `mark_sla_breach`): with several instances ticking at once, exactly one
of them wins each row and writes its event. A breach also runs the rules with the
event `sla_breached` (for escalations such as `priority: urgent` or a Slack ping).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from router.domain.model import (
    Conversation,
    Event,
    Status,
)
from router.domain.tasks import cancel_and_wait, woken
from router.engine.agents.desk import Desk
from router.engine.agents.followups import run_rules
from router.engine.agents.queue import auto_assign
from router.engine.effects import set_status
from router.engine.pipeline import Decide
from router.store.base import Tx, ts

log = logging.getLogger(__name__)
ACTOR = "system:scheduler"


@dataclass(slots=True)
class TickResult:
    woken: list[int] = field(default_factory=list)
    breached: list[tuple[int, str]] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    assigned: list[tuple[int, str]] = field(default_factory=list)
    idle: list[tuple[int, float]] = field(default_factory=list)  # (conversation, level fired)


class Scheduler:
    def __init__(self, desk: Desk, *, decider: Callable[[], Decide] | None = None,
                 max_sleep: float = 30.0, min_interval: float = 0.25,
                 idle_poll: float = 1.0) -> None:
        """`min_interval`: ticks woken by commits come at most this often; a stream of
        incoming messages (each commit wakes the scheduler) then costs one tick per
        interval, not one per message. A tick is a write unit of five queries on every
        instance: at 0.05 s they took about a tenth of each PostgreSQL instance's CPU under
        load (issue 28), while a quarter of a second is still far inside any SLA and
        unnoticeable before an agent is assigned. Commits that leave their conversation
        with the bots do not wake it (router/engine/agents/runtime.py); with idle rules
        (`on: {conversation_idle: X}`) it looks every `idle_poll` seconds instead, so
        they fire within about a second of their time, busy or quiet."""
        self.desk = desk
        self.decider = decider
        self.max_sleep = max_sleep
        self.min_interval = min_interval
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self, *_: object) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agents-scheduler")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
                due = await self.desk.store.read(lambda tx: tx.next_agent_deadline())
            except Exception:
                log.exception("agent scheduler tick failed; retrying")
                due = None
            delay = self.max_sleep
            if self._idle_thresholds():  # idle rules: polled, no commit wakes us for them
                delay = min(delay, self.idle_poll)
            if due is not None:
                delay = min(delay, max(0.01, (due - self.desk.clock()).total_seconds()))
            if await woken(self._wake, delay):
                await asyncio.sleep(self.min_interval)  # let more commits coalesce

    async def tick(self) -> TickResult:
        """Do everything that is due at the desk clock's now, in one unit of work."""
        now = self.desk.clock()
        result = TickResult()

        async def unit(tx: Tx) -> TickResult:
            for cid in await tx.due_snoozes(now):
                if await tx.end_snooze(cid, now):
                    await tx.insert_event(Event(0, "snooze_ended", now, cid, ACTOR,
                                                {"reason": "time"}))
                    result.woken.append(cid)
            for cid, kind in await tx.sla_breach_candidates(now):
                if await tx.mark_sla_breach(cid, kind, now):
                    await self._breached(tx, cid, kind, now)
                    result.breached.append((cid, kind))
            result.idle = await self._idle(tx, now)
            result.requeued = await self._requeue_abandoned(tx, now)
            result.assigned = await auto_assign(tx, self.desk.policy, now)
            return result

        # Background work for the store: acknowledgements of new messages go first.
        out = await self.desk.store.write(unit, background=True)
        if out.woken or out.breached or out.requeued or out.assigned or out.idle:
            self.desk.announce()
        return out

    async def _breached(self, tx: Tx, cid: int, kind: str, now: datetime) -> None:
        conv = await tx.get_conversation(cid)
        assert conv is not None
        due = conv.first_response_due if kind == "first_response" else conv.resolution_due
        await tx.insert_event(Event(0, "sla_breached", now, cid, ACTOR, {
            "kind": kind, "due": ts(due), "queue": conv.queue, "assignee": conv.assignee}))
        if self.decider is not None:
            await self._run_rules(tx, conv, now)

    async def _idle(self, tx: Tx, now: datetime) -> list[tuple[int, float]]:
        """Fire `on: {conversation_idle: X}` rules once per level per customer silence.

        Idle time counts from the customer's last message in an open conversation; the
        rules with the largest threshold reached fire (rules/engine.py), each level once,
        marked by a conditional update so that several instances fire it once in all.
        """
        decide = self.decider() if self.decider is not None else None
        thresholds = self._idle_thresholds(decide)
        if decide is None or not thresholds:
            return []
        fired: list[tuple[int, float]] = []
        before = now - timedelta(seconds=thresholds[0])
        for cid, since in await tx.idle_candidates(before, thresholds[-1]):
            idle = (now - since).total_seconds()
            level = max(t for t in thresholds if t <= idle)
            if not await tx.mark_idle(cid, level):
                continue
            conv = await tx.get_conversation(cid)
            assert conv is not None
            await run_rules(tx, conv, decide, "conversation_idle", now,
                            default_queue=self.desk.policy.default_queue,
                            metadata={"idle_seconds": idle})
            await tx.save_conversation(conv, now)
            fired.append((cid, level))
        return fired

    def _idle_thresholds(self, decide: Decide | None = None) -> tuple[float, ...]:
        """The rules' `conversation_idle` thresholds in seconds, smallest first."""
        if decide is None:
            decide = self.decider() if self.decider is not None else None
        return tuple(getattr(getattr(decide, "ruleset", None), "idle_thresholds", ()))

    async def _run_rules(self, tx: Tx, conv: Conversation, now: datetime) -> None:
        """Let the rules react to the breach (`on: sla_breached`) in the same unit."""
        assert self.decider is not None
        await run_rules(tx, conv, self.decider(), "sla_breached", now,
                        default_queue=self.desk.policy.default_queue)
        await tx.save_conversation(conv, now)

    async def _requeue_abandoned(self, tx: Tx, now: datetime) -> list[int]:
        waits = [q.requeue_offline_after for q in self.desk.policy.queues.values()
                 if q.requeue_offline_after is not None]
        if not waits:
            return []
        done = []
        for cid in await tx.abandoned_assignments(now - min(waits)):
            conv = await tx.get_conversation(cid)
            wait = self.desk.policy.queue(conv.queue).requeue_offline_after if conv else None
            agent = await tx.get_agent(conv.assignee) if conv else None
            if conv is None or wait is None or agent is None:
                continue
            if conv.status != Status.ASSIGNED:  # another instance requeued it meanwhile
                continue
            # Offline since it last changed presence, or since it was created if it never
            # came online (an agent working through the API only); and the assignment
            # itself must be older than the wait, or a claim would be undone at once.
            offline_since = agent.online_changed_at or agent.created_at
            recent = (offline_since is not None and offline_since > now - wait) or (
                conv.assigned_at is not None and conv.assigned_at > now - wait)
            if recent and not agent.disabled:
                continue
            await tx.insert_event(Event(0, "requeued", now, cid, ACTOR, {
                "agent": conv.assignee, "reason": "agent offline", "after": str(timedelta(0) + wait)}))
            await set_status(tx, conv, Status.QUEUED, now, ACTOR, "agent offline")
            await tx.save_conversation(conv, now)
            done.append(cid)
        return done
