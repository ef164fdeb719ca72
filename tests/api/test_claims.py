"""Many agents claiming at once through HTTP: one owner per conversation, capacity holds."""

from __future__ import annotations

import asyncio
import random
import time

from router.domain.model import Status

AGENTS, CONVERSATIONS, CAPACITY = 20, 100, 5


async def test_twenty_agents_claim_a_hundred_conversations_concurrently(api):
    names = [f"agent{i:02d}" for i in range(AGENTS)]
    for name in names:
        status, _ = await api.call("POST", "/agents", json={"name": name, "capacity": CAPACITY})
        assert status == 201
        await api.token(name)
    ids = list(await asyncio.gather(*(api.customer(f"q{i}") for i in range(CONVERSATIONS))))
    rng = random.Random(6)
    outcomes: dict[int, int] = {}

    async def agent_loop(name: str) -> None:
        order = ids[:]
        rng.shuffle(order)
        for cid in order:
            status, body = await api.call("POST", f"/conversations/{cid}/claim", name)
            outcomes[status] = outcomes.get(status, 0) + 1
            assert status in (200, 409), body
            assert status == 200 or body["error"]["code"] == "conflict"

    started = time.perf_counter()
    await asyncio.gather(*(agent_loop(n) for n in names))
    elapsed = time.perf_counter() - started
    print(f"\n{AGENTS * CONVERSATIONS} claims in {elapsed:.2f}s "
          f"({AGENTS * CONVERSATIONS / elapsed:.0f}/s): {outcomes}")
    assert outcomes[200] == CONVERSATIONS
    store = api.service.store
    convs = await store.read(lambda tx: tx.get_conversations(ids))
    assert all(c.status == Status.ASSIGNED and c.assignee in names for c in convs)
    loads = await store.read(lambda tx: tx.agent_loads())
    assert max(loads[n] for n in names) <= CAPACITY
    assigned = await store.read(lambda tx: tx.list_events(kinds=("assigned",), limit=10_000))
    assert sorted(e.conversation_id for e in assigned) == sorted(ids)  # one claim event each
