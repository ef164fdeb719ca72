"""The audit log's and two-factor sign-in's SQL on SQLite and PostgreSQL (issue 29):
records list newest first with every filter and page, prune past a time; a TOTP step and
a recovery code are each accepted once, and enrolments move through their states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router.domain.model import Agent
from router.store import Store, Tx
from router.store.base import AuditFilter, AuditRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_audit_records_list_filter_page_and_prune(store: Store):
    async def add(tx: Tx) -> None:
        for i in range(6):
            await tx.audit_add(AuditRecord(0, T0 + timedelta(days=i), f"agent:a{i % 2}",
                                           "signin" if i % 3 else "contact_erased",
                                           f"contact:{i}", "127.0.0.1", {"i": i}))

    await store.write(add)

    async def ids(flt: AuditFilter, limit: int = 100) -> list[int]:
        found = await store.read(lambda tx: tx.audit_list(flt, limit))
        return [r.detail["i"] for r in found]

    assert await ids(AuditFilter()) == [5, 4, 3, 2, 1, 0]  # newest first
    assert await ids(AuditFilter(actions=("contact_erased",))) == [3, 0]
    assert await ids(AuditFilter(actors=("agent:a1",))) == [5, 3, 1]
    assert await ids(AuditFilter(since=T0 + timedelta(days=2), until=T0 + timedelta(days=4))) == [3, 2]
    first = await store.read(lambda tx: tx.audit_list(AuditFilter(), 2))
    assert await ids(AuditFilter(before_id=first[-1].id), 2) == [3, 2]
    record = first[0]
    assert (record.actor, record.action, record.object, record.source, record.at) == (
        "agent:a1", "signin", "contact:5", "127.0.0.1", T0 + timedelta(days=5))
    assert await store.write(lambda tx: tx.audit_prune(T0 + timedelta(days=3), 2)) == 2
    assert await store.write(lambda tx: tx.audit_prune(T0 + timedelta(days=3))) == 1
    assert await ids(AuditFilter()) == [5, 4, 3]


async def test_a_code_step_and_a_recovery_code_are_accepted_once(store: Store):
    async def setup(tx: Tx) -> int:
        await tx.upsert_agent(Agent(0, "ann"), T0)
        agent = await tx.get_agent("ann")
        assert agent is not None
        await tx.start_two_factor(agent.id, "sealed-1", T0)
        return agent.id

    aid = await store.write(setup)
    waiting = await store.read(lambda tx: tx.get_two_factor(aid))
    assert waiting is not None and waiting.enabled_at is None and waiting.secret == "sealed-1"
    assert not await store.write(lambda tx: tx.use_totp_step(aid, 5))  # not enabled yet
    assert await store.write(lambda tx: tx.enable_two_factor(aid, 100, T0, ["h1", "h2"]))
    assert not await store.write(lambda tx: tx.enable_two_factor(aid, 101, T0, ["h3"]))
    on = await store.read(lambda tx: tx.get_two_factor(aid))
    assert on is not None and on.enabled_at == T0 and on.last_step == 100 and on.recovery_left == 2
    # an enabled enrolment is not replaced by a new one
    await store.write(lambda tx: tx.start_two_factor(aid, "sealed-2", T0))
    assert (await store.read(lambda tx: tx.get_two_factor(aid))).secret == "sealed-1"

    assert not await store.write(lambda tx: tx.use_totp_step(aid, 100))  # the confirming step
    assert await store.write(lambda tx: tx.use_totp_step(aid, 101))
    assert not await store.write(lambda tx: tx.use_totp_step(aid, 101))  # replayed
    assert not await store.write(lambda tx: tx.use_totp_step(aid, 100))  # older
    assert await store.write(lambda tx: tx.use_recovery_code(aid, "h1", T0))
    assert not await store.write(lambda tx: tx.use_recovery_code(aid, "h1", T0))
    assert not await store.write(lambda tx: tx.use_recovery_code(aid, "nope", T0))
    assert (await store.read(lambda tx: tx.get_two_factor(aid))).recovery_left == 1
    await store.write(lambda tx: tx.replace_recovery_codes(aid, ["h4", "h5", "h6"]))
    assert not await store.write(lambda tx: tx.use_recovery_code(aid, "h2", T0))
    assert await store.write(lambda tx: tx.delete_two_factor(aid))
    assert not await store.write(lambda tx: tx.delete_two_factor(aid))
    assert await store.read(lambda tx: tx.get_two_factor(aid)) is None
    assert not await store.write(lambda tx: tx.use_recovery_code(aid, "h4", T0))


async def test_the_retention_job_prunes_the_audit_log(store: Store, tmp_path):
    from router.engine.privacy.retention import Retention

    async def add(tx: Tx) -> None:
        for days in (400, 366, 10):
            await tx.audit_add(AuditRecord(0, T0 - timedelta(days=days), "system",
                                           "config_reloaded", "config"))

    await store.write(add)
    job = Retention(store, days=None, audit_days=365, data_dir=tmp_path, clock=lambda: T0)
    assert (await job.run_once()).audit == 2
    left = await store.read(lambda tx: tx.audit_list(AuditFilter(), 10))
    assert [r.at for r in left] == [T0 - timedelta(days=10)]
