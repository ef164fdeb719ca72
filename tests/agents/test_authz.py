"""The desk's one authorisation policy (router.engine.agents.authz), on SQLite and PostgreSQL.

Every case of issue 22: someone else's assigned conversation, merges, the last active
admin, and `agents enable`. The API's answers (403/409) are in tests/api/test_authz.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from router.cli import main
from router.domain.agent_errors import ConflictError, Forbidden
from router.domain.model import Priority, Role
from router.engine.agents import actions
from router.store import Store, open_store
from router.store.postgres import PostgresStore
from router.store.sqlite import SqliteStore
from tests.agents.conftest import SLA_QUEUE, Clock, World, policy
from tests.conftest import write_config
from tests.store.pg import fresh_schema, store_url


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/router.db"
        return
    async with fresh_schema() as (server, schema):
        yield store_url(server, schema)


@pytest_asyncio.fixture
async def world(url: str, tmp_path: Path) -> AsyncIterator[World]:
    s: Store = (SqliteStore(tmp_path / "router.db") if url.startswith("sqlite")
                else PostgresStore(url))
    await s.open()
    yield World(s, policy(general=SLA_QUEUE), Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    await s.close()


async def test_someone_elses_conversation_is_theirs_and_the_admins(world):
    ann, bob = await world.agent("ann"), await world.agent("bob")
    boss = await world.agent("boss", role=Role.ADMIN)
    cid = await world.message("a")
    await world.desk.run(cid, actions.claim, ann)
    for action, kwargs in ((actions.update, {"priority": "urgent"}),
                           (actions.update, {"add_tags": ["vip"]}),
                           (actions.reply, {"text": "mine now"}),
                           (actions.snooze, {"until": datetime(2026, 3, 11, tzinfo=UTC)}),
                           (actions.transfer, {"queue": "general"})):
        with pytest.raises(Forbidden, match="assigned to ann"):
            await world.desk.run(cid, action, bob, **kwargs)
    with pytest.raises(Forbidden):
        await world.desk.resolve(cid, bob)
    conv = await world.conv(cid)
    assert conv.priority == Priority.NORMAL and conv.tags == [] and conv.assignee == "ann"
    await world.desk.run(cid, actions.update, ann, priority="high")  # the assignee
    await world.desk.run(cid, actions.update, boss, add_tags=["vip"])  # an admin
    await world.desk.run(cid, actions.note, bob, text="context for ann")  # notes: anyone
    conv = await world.conv(cid)
    assert conv.priority == "high" and conv.tags == ["vip"]


async def test_claims_stay_open_and_a_queued_conversation_is_anyones(world):
    ann, bob = await world.agent("ann"), await world.agent("bob")
    cid = await world.message("a")
    await world.desk.run(cid, actions.update, bob, priority="high")  # queued: any agent
    await world.desk.run(cid, actions.claim, ann)
    with pytest.raises(ConflictError):  # a lost race, not a permission question
        await world.desk.run(cid, actions.claim, bob)


async def test_only_admins_merge_contacts(world):
    ann, boss = await world.agent("ann"), await world.agent("boss", role=Role.ADMIN)
    a = (await world.conv(await world.message("m", sender="ulla@example.com"))).contact_id
    b = (await world.conv(await world.message("c", sender="4711"))).contact_id
    with pytest.raises(Forbidden, match="only admins may merge contacts"):
        await world.desk.merge_contacts(b, a, ann)
    assert await world.events(kind="contact_merged") == []
    merged = await world.desk.merge_contacts(b, a, boss)
    assert merged.id == a


async def test_the_last_active_admin_cannot_be_disabled_and_enable_restores(world):
    ann, boss = await world.agent("ann"), await world.agent("boss", role=Role.ADMIN)
    with pytest.raises(Forbidden):
        await world.desk.disable_agent("ann", ann)
    with pytest.raises(ConflictError, match="last active admin"):
        await world.desk.disable_agent("boss", boss)  # themselves
    await world.agent("eva", role=Role.ADMIN)
    assert await world.desk.disable_agent("boss", boss) is True
    eva = await world.store.read(lambda tx: tx.get_agent("eva"))
    with pytest.raises(ConflictError):
        await world.desk.disable_agent("eva", eva)  # boss is disabled: eva is the last
    with pytest.raises(Forbidden, match="disabled"):
        await world.desk.enable_agent("boss", boss)  # a disabled admin acts no more
    assert await world.desk.enable_agent("boss", eva) is True
    assert await world.desk.enable_agent("boss", eva) is False
    assert not (await world.store.read(lambda tx: tx.get_agent("boss"))).disabled
    kinds = [e.kind for e in await world.events()]
    assert kinds.count("agent_disabled") == 1 and kinds.count("agent_enabled") == 1


async def test_two_admins_disabling_each_other_at_once_leave_one(world):
    a = await world.agent("a", role=Role.ADMIN)
    b = await world.agent("b", role=Role.ADMIN)
    results = await asyncio.gather(world.desk.disable_agent("b", a),
                                   world.desk.disable_agent("a", b), return_exceptions=True)
    # the loser is refused as the last admin's disabler (409) or, when the winner's commit
    # came first, as a disabled agent (403); never both disabled
    assert sorted(type(r).__name__ for r in results) in (["ConflictError", "bool"],
                                                          ["Forbidden", "bool"])
    agents = await world.store.read(lambda tx: tx.list_agents(include_disabled=False))
    assert [x.name for x in agents if x.role == Role.ADMIN] in (["a"], ["b"])


def test_cli_disable_refuses_the_last_admin_and_enable_restores(url, tmp_path, capsys):
    cfg = str(write_config(tmp_path, f"storage: {{url: '{url}'}}"))
    assert main(["agents", "-c", cfg, "add", "boss", "--role", "admin"]) == 0
    assert main(["agents", "-c", cfg, "add", "ann"]) == 0
    capsys.readouterr()
    assert main(["agents", "-c", cfg, "disable", "boss"]) == 1
    assert "last active admin" in capsys.readouterr().out
    assert main(["agents", "-c", cfg, "disable", "ann"]) == 0
    assert main(["agents", "-c", cfg, "enable", "ann"]) == 0
    assert "ann enabled" in capsys.readouterr().out
    assert main(["agents", "-c", cfg, "enable", "nobody"]) == 1
    capsys.readouterr()
    # nor can `agents add` demote the last active admin
    assert main(["agents", "-c", cfg, "add", "boss", "--role", "agent"]) == 1
    said = capsys.readouterr()
    assert "last active admin" in said.out + said.err

    async def disabled() -> bool:
        store = open_store(url)
        await store.open()
        try:
            agent = await store.read(lambda tx: tx.get_agent("ann"))
            return agent is not None and agent.disabled
        finally:
            await store.close()

    assert asyncio.run(disabled()) is False
