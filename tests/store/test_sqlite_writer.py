"""The SQLite writer's scheduling: foreground first, background bounded, WAL bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from router.engine.pipeline import Pipeline
from router.store.sqlite import (
    AGED_SHARE,
    BACKGROUND_BATCH,
    BACKGROUND_MAX_WAIT,
    GATHER_FROM,
    GATHER_FULL,
    LEASE_IN_UNIT_BELOW,
    SATURATED,
    YIELD_BATCHES,
    SqliteStore,
    _Job,
)
from tests.router.test_backlog import inbound


def recorder(log: list[str]):
    """Units of work that only append their name to `log` when they run."""

    def unit(name: str):
        async def run(tx) -> None:
            log.append(name)
        return run

    return unit


Then = Callable[[SqliteStore, Callable[[str], Any]], list[Any]]  # futures of more writes


async def behind_background_units(tmp_path: Path, then: Then, *,
                                  load: float | None = None) -> list[str]:
    """Queue 300 background units, then what `then` writes; the order the units ran in."""
    store = SqliteStore(tmp_path / "router.db")
    if load is not None:
        store._load = _Load(load)  # type: ignore[assignment]
    await store.open()
    order: list[str] = []
    unit = recorder(order)
    try:
        background = [asyncio.ensure_future(store.write(unit(f"b{i}"), background=True))
                      for i in range(300)]
        await asyncio.sleep(0)
        await asyncio.gather(*then(store, unit), *background)
    finally:
        await store.close()
    assert [n for n in order if n.startswith("b")] == [f"b{i}" for i in range(300)]  # in order
    return order


async def test_a_foreground_unit_overtakes_a_long_background_queue(tmp_path: Path) -> None:
    order = await behind_background_units(
        tmp_path, lambda store, unit: [asyncio.ensure_future(store.write(unit("ack")))])
    # queued behind 300 background units, the acknowledgement waited for one batch's
    # share of them at most
    assert order.index("ack") <= BACKGROUND_BATCH
    assert sorted(order) == sorted(["ack", *(f"b{i}" for i in range(300))])


async def test_an_ahead_unit_overtakes_queued_background_units_even_when_saturated(
        tmp_path: Path) -> None:
    """The outbox's lease round (`ahead`) goes before the backlog's processing units:
    behind 300 of them, a reply's lease waited for the whole queue, and past ~700 new
    conversations a second replies queued for seconds (issue 28). Saturation, which makes
    the processing trickle, does not hold it back either."""
    def lease_and_acks(store: SqliteStore, unit: Callable[[str], Any]) -> list[Any]:
        return [asyncio.ensure_future(store.write(unit("lease"), background=True, ahead=True)),
                *(asyncio.ensure_future(store.write(unit(f"ack{i}"))) for i in range(3))]

    order = await behind_background_units(tmp_path, lease_and_acks, load=SATURATED + 0.1)
    assert order.index("lease") <= BACKGROUND_BATCH + 3


async def test_the_wal_stays_bounded_under_a_stream_of_small_commits(tmp_path: Path) -> None:
    """Checkpoints run between batches; one running beside the writer never caught up
    and the WAL grew by megabytes per second of load."""
    store = SqliteStore(tmp_path / "router.db", commit_interval=0)
    await store.open()
    pipeline = Pipeline(store)
    try:
        for start in range(0, 4000, 8):  # many small commits, as under light steady load
            await asyncio.gather(*(pipeline.accept(inbound(i, f"t{i % 50}", text="x" * 300))
                                   for i in range(start, start + 8)))
        wal = (tmp_path / "router.db-wal").stat().st_size
    finally:
        await store.close()
    assert wal < 8 * 1024 * 1024, wal


class _Load:
    """A stand-in for the loop's utilisation, so the policy is tested without CPU load."""

    def __init__(self, utilisation: float) -> None:
        self.utilisation = utilisation

    def update(self, now: float) -> float:
        return self.utilisation


def test_background_work_steps_aside_only_while_the_loop_is_saturated(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db", background_share=2)
    store._load = _Load(0.3)  # type: ignore[assignment]
    assert store._background_room(busy=False, now=0.0) == BACKGROUND_BATCH
    assert store._background_room(busy=True, now=0.0) == 2  # acknowledgements, with room
    store._load = _Load(SATURATED + 0.05)  # type: ignore[assignment]
    rooms = [store._background_room(busy=True, now=0.0) for _ in range(3 * (YIELD_BATCHES + 1))]
    # a trickle, never nothing: one unit every YIELD_BATCHES + 1 batches
    assert rooms == ([0] * YIELD_BATCHES + [1]) * 3
    assert store._background_room(busy=False, now=0.0) == BACKGROUND_BATCH  # burst over


def test_background_work_that_waited_too_long_gets_its_share_even_when_saturated(
        tmp_path: Path) -> None:
    """Saturation (85 % of a core) is normal operation at 1,000 new conversations a
    second: the trickle made every reply wait hundreds of milliseconds for its processing
    (issue 28). Once the oldest background unit has waited BACKGROUND_MAX_WAIT, it gets
    AGED_SHARE units per batch (a flood of webhooks keeps most of the writer); a fresh
    one still steps aside."""
    store = SqliteStore(tmp_path / "router.db", background_share=BACKGROUND_BATCH)
    store._load = _Load(SATURATED + 0.1)  # type: ignore[assignment]
    loop = asyncio.new_event_loop()
    try:
        # times from 0, so that `late - queued_at` is BACKGROUND_MAX_WAIT exactly
        store._background.append(_Job(recorder([])("b"), loop.create_future(), queued_at=0.0))
        assert store._background_room(busy=True, now=0.0) == 0  # just queued: steps aside
        late = BACKGROUND_MAX_WAIT
        assert [store._background_room(busy=True, now=late) for _ in range(3)] == [AGED_SHARE] * 3
        store._load = _Load(SATURATED - 0.1)  # type: ignore[assignment]
        assert store._background_room(busy=True, now=late) == BACKGROUND_BATCH  # room again
    finally:
        loop.close()


async def test_an_acknowledgement_does_not_wait_for_background_units_of_its_cycle(
        tmp_path: Path) -> None:
    """Foreground and background units of one cycle commit separately: the foreground
    callers are answered before the background units run."""
    store = SqliteStore(tmp_path / "router.db", background_share=4)
    await store.open()
    events: list[str] = []
    unit = recorder(events)
    try:
        background = [asyncio.ensure_future(store.write(unit(f"b{i}"), background=True))
                      for i in range(4)]
        ack = asyncio.ensure_future(store.write(unit("ack")))
        ack.add_done_callback(lambda _: events.append("answered"))
        await asyncio.gather(ack, *background)
    finally:
        await store.close()
    assert events.index("answered") < events.index("b0")


async def test_a_cancelled_caller_does_not_stop_its_unit_or_the_writer(tmp_path: Path) -> None:
    """The caller gave up (a client went away): its unit still commits, and the units
    after it are answered as usual."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    order: list[str] = []
    unit = recorder(order)
    try:
        gone = asyncio.ensure_future(store.write(unit("gone")))
        await asyncio.sleep(0)  # queued, not yet run
        gone.cancel()
        assert await store.write(unit("next")) is None
    finally:
        await store.close()
    assert gone.cancelled()
    assert order == ["gone", "next"]


async def test_failed_units_in_a_batch_cost_only_themselves(tmp_path: Path) -> None:
    """A batch runs without savepoints; when a unit fails, the batch runs again without it,
    each unit in a savepoint (a second failure then sinks only itself)."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    runs: dict[str, int] = {}

    def unit(name: str, *, fails: bool = False):
        async def run(tx) -> str:
            runs[name] = runs.get(name, 0) + 1
            tx.c.execute("INSERT INTO schema_migrations VALUES (?, ?, '')",
                         (1000 + ord(name[-1]), name))
            if fails:
                raise ValueError(name)
            return name
        return run

    names = ["a", "b", "bad1", "c", "bad2", "d"]  # last letters differ: the versions
    try:
        results = await asyncio.gather(
            *(store.write(unit(n, fails=n.startswith("bad"))) for n in names),
            return_exceptions=True)
        kept = await store.read(lambda tx: _kept(tx))
    finally:
        await store.close()
    assert results[:2] == ["a", "b"] and results[3] == "c" and results[5] == "d"
    assert [str(r) for r in (results[2], results[4])] == ["bad1", "bad2"]
    assert kept == ["a", "b", "c", "d"]  # the failed units' writes rolled back
    # before the first failure: twice (the first run was rolled back); the first failed
    # unit: once (left out of the rerun); the others: once, in the rerun
    assert runs == {"a": 2, "b": 2, "bad1": 1, "c": 1, "bad2": 1, "d": 1}


async def _kept(tx) -> list[str]:
    return [r[0] for r in tx.c.execute(
        "SELECT name FROM schema_migrations WHERE version >= 1000 ORDER BY version")]


def test_commits_gather_units_only_as_the_loop_nears_saturation(tmp_path: Path) -> None:
    """At 100 new conversations a second every commit had waited `commit_interval` for
    company, and a message passes three commits before its reply leaves (issue 28)."""
    store = SqliteStore(tmp_path / "router.db", commit_interval=0.004)
    for load, gather in ((0.0, 0.0), (GATHER_FROM, 0.0), ((GATHER_FROM + GATHER_FULL) / 2, 0.002),
                         (GATHER_FULL, 0.004), (1.0, 0.004)):
        store._load = _Load(load)  # type: ignore[assignment]
        assert abs(store.gather(0.0) - gather) < 1e-9, load


def test_units_lease_their_own_replies_only_while_the_loop_has_room(tmp_path: Path) -> None:
    """Below `LEASE_IN_UNIT_BELOW` a reply leaves at its commit (router/engine/reply_claim.py);
    above it lease rounds carry many rows per commit, which costs less."""
    store = SqliteStore(tmp_path / "router.db")
    for load, own in ((0.0, True), (LEASE_IN_UNIT_BELOW - 0.01, True),
                      (LEASE_IN_UNIT_BELOW, False), (1.0, False)):
        store._load = _Load(load)  # type: ignore[assignment]
        assert store.leases_in_unit() is own, load


async def test_a_light_stream_of_acknowledgements_never_waits_to_gather(tmp_path: Path) -> None:
    """Back-to-back foreground units (each one "busy" for the next) on an idle loop: none
    waits for the next commit slot, so a 10 s interval would show as a timeout."""
    store = SqliteStore(tmp_path / "router.db", commit_interval=10.0)
    store._load = _Load(0.1)  # type: ignore[assignment]
    await store.open()
    try:
        unit = recorder(order := [])
        async with asyncio.timeout(5):
            for i in range(5):
                await store.write(unit(f"f{i}"))
        assert order == [f"f{i}" for i in range(5)] and store.commits == 5
    finally:
        await store.close()
