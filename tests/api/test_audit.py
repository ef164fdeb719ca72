"""The audit log (issue 29) on SQLite and PostgreSQL: every audited action, through the
entry point people use (the console's sign-in, /api/v1, the CLI, a reload), leaves
exactly one record naming actor, source and object; an erasure's record names the
contact's id and none of its data; `GET /api/v1/audit` pages and filters for admins only,
and `inquiry-router audit` prints the same records."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from router.cli import main as cli
from router.domain.model import Agent, Role
from router.store.base import AuditFilter, AuditRecord
from tests.store.pg import fresh_schema, store_url

PASSWORD = "correct horse battery staple"


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def api(request: pytest.FixtureRequest, api_factory, tmp_path: Path) -> AsyncIterator:
    if request.param == "sqlite":
        yield await api_factory()
        return
    async with fresh_schema() as (server, schema):
        made = await api_factory(f"storage: {{url: '{store_url(server, schema)}'}}\n")
        yield made
        await made.service.stop()  # before its schema is dropped


class Log:
    """The records added since the last look."""

    def __init__(self, api: Any) -> None:
        self.store = api.service.store
        self.seen = 0

    async def new(self) -> list[AuditRecord]:
        found = await self.store.read(lambda tx: tx.audit_list(AuditFilter(before_id=None), 1000))
        fresh = [r for r in reversed(found) if r.id > self.seen]
        if found:
            self.seen = max(self.seen, found[0].id)
        return fresh

    async def one(self, action: str, obj: str, actor: str = "agent:boss") -> AuditRecord:
        fresh = await self.new()
        assert [(r.action, r.object, r.actor) for r in fresh] == [(action, obj, actor)], fresh
        return fresh[0]


async def _cli(*argv: str, stdin: str = "") -> str:
    """`inquiry-router ...` in a thread (it runs its own event loop), its stdout."""
    def run() -> str:
        out, old_in = io.StringIO(), sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            with contextlib.redirect_stdout(out):
                assert cli(list(argv)) == 0, out.getvalue()
        finally:
            sys.stdin = old_in
        return out.getvalue()

    return await asyncio.to_thread(run)


async def test_every_audited_action_leaves_exactly_one_record(api):
    from router.web.console.passwords import hash_password

    service, log = api.service, Log(api)
    base = f"http://127.0.0.1:{service.port}"
    config = str(service.config.path)
    stored = hash_password(PASSWORD)
    await service.store.write(lambda tx: tx.set_agent_password("boss", stored))
    await log.new()  # what starting the service recorded (config agents) is not counted here

    # console sign-ins: a wrong password, an unknown account (not named), a right one
    async def login(body: dict[str, str]) -> int:
        async with api.http.post(f"{base}/console/login", json=body) as r:
            return r.status

    assert await login({"email": "boss", "password": "wrong password!"}) == 401
    failed = await log.one("signin_failed", "agent:boss")
    assert failed.source == "127.0.0.1" and failed.detail == {"step": "password"}
    assert await login({"email": "nobody@example.com", "password": "wrong password!"}) == 401
    unknown = await log.one("signin_failed", "", actor="")
    assert "nobody" not in json.dumps(unknown.detail)
    assert await login({"email": "boss", "password": PASSWORD}) == 200
    assert (await log.one("signin", "agent:boss")).detail == {"method": "password"}

    # agents over the API
    status, _ = await api.call("POST", "/agents", json={"name": "cara", "role": "agent"})
    assert status == 201
    assert (await log.one("agent_added", "agent:cara")).source == "127.0.0.1"
    assert (await api.call("POST", "/agents/cara/disable"))[0] == 200
    await log.one("agent_disabled", "agent:cara")
    assert (await api.call("POST", "/agents/cara/enable"))[0] == 200
    await log.one("agent_enabled", "agent:cara")
    assert (await api.call("POST", "/agents/cara/tokens", json={"label": "laptop"}))[0] == 201
    assert (await log.one("token_issued", "agent:cara")).detail["label"] == "laptop"
    assert (await api.call("DELETE", "/agents/cara/tokens"))[0] == 200
    assert (await log.one("tokens_revoked", "agent:cara")).detail == {"count": 1}

    # config.yaml changes a role (synced at start): the change, by "config"
    desk = service.agents.desk
    await desk.sync_agents([Agent(0, "bob", display_name="Bob Agent", role=Role.ADMIN,
                                  capacity=5, source="config")])
    changed = await log.one("agent_changed", "agent:bob", actor="config")
    assert changed.detail == {"fields": ["role"], "role": ["agent", "admin"]}

    # contacts: merge, export, erase (the erasure's record names the id, nothing else)
    first = await api.customer("hello", sender="ulla")
    second = await api.customer("again", sender="ulla2")
    convs = await service.store.read(lambda tx: tx.get_conversations([first, second]))
    keep, gone = sorted(c.contact_id for c in convs)
    await log.new()  # customers write no audit records
    assert (await api.call("POST", f"/contacts/{gone}/merge", json={"into": keep}))[0] == 200
    assert (await log.one("contacts_merged", f"contact:{gone}")).detail["into"] == keep
    assert (await api.call("GET", f"/contacts/{keep}/export"))[0] == 200
    await log.one("contact_exported", f"contact:{keep}")
    status, _ = await api.call("POST", f"/contacts/{keep}/erase", json={"confirm": True})
    assert status == 200
    erased = await log.one("contact_erased", f"contact:{keep}")
    text = json.dumps([erased.actor, erased.object, erased.source, erased.detail])
    assert "Ulla" not in text and "ulla" not in text and "hello" not in text
    assert sorted(erased.detail["contact_ids"]) == sorted([keep, gone])

    # a report download
    async with api.http.get(f"http://127.0.0.1:{service.port}/api/v1/reports/download?format=csv",
                            headers={"Authorization": f"Bearer {api.tokens['boss']}"}) as r:
        assert r.status == 200
    assert (await log.one("report_downloaded", "report")).detail["format"] == "csv"

    # the CLI: a role change, a password, a token, a report (actor cli:<user>, source cli)
    await _cli("agents", "--config", config, "add", "cara", "--role", "admin")
    cli_change = (await log.new())[0]
    assert (cli_change.action, cli_change.object, cli_change.source) == (
        "agent_changed", "agent:cara", "cli")
    assert cli_change.actor.startswith("cli:") and cli_change.detail["role"] == ["agent", "admin"]
    await _cli("agents", "--config", config, "passwd", "cara", "--password-stdin",
               stdin="another long passphrase\n")
    assert [(r.action, r.object) for r in await log.new()] == [("password_set", "agent:cara")]
    await _cli("agents", "--config", config, "token", "cara")
    assert [r.action for r in await log.new()] == ["token_issued"]
    await _cli("report", "--config", config, "--format", "json")
    assert [r.action for r in await log.new()] == ["report_downloaded"]

    # configuration reloads name the files that changed (the service's own hook; driven
    # here without the file watcher, whose timing is not this test's business)
    reloader = _reloader(service)
    Path(config).write_text(Path(config).read_text() + "# a comment\n", encoding="utf-8")
    assert await reloader.reload()
    reloaded = await log.one("config_reloaded", "config", actor="system")
    assert reloaded.detail["files"] == ["config.yaml"] and reloaded.detail["problems"] == 0
    Path(config).write_text(Path(config).read_text() + "nonsense_key: 1\n", encoding="utf-8")
    assert not await reloader.reload()
    rejected = await log.one("config_reload_rejected", "config", actor="system")
    assert rejected.detail["files"] == ["config.yaml"] and rejected.detail["problems"] == 1


def _reloader(service: Any) -> Any:
    from router.config import load_config
    from router.reloader import Reloader, RulesHolder
    from router.wiring import build_decide

    files = list(service.config.source.files)
    reloader = Reloader(RulesHolder(None), load=lambda: build_decide(load_config(
        service.config.path)), paths=lambda: files)
    reloader.after.append(service._audit_reload(lambda: files))
    return reloader


async def test_the_audit_api_pages_filters_and_is_for_admins(api):
    service, log = api.service, Log(api)
    for name in ("x1", "x2", "x3"):
        assert (await api.call("POST", "/agents", json={"name": name}))[0] == 201
    status, body = await api.call("GET", "/audit?action=agent_added&limit=2")
    assert status == 200 and [r["object"] for r in body["items"]] == ["agent:x3", "agent:x2"]
    assert set(body["items"][0]) == {"id", "at", "actor", "action", "object", "source", "detail"}
    status, more = await api.call("GET", f"/audit?action=agent_added&limit=2&"
                                         f"cursor={body['next_cursor']}")
    assert status == 200 and more["items"][0]["object"] == "agent:x1"
    status, mine = await api.call("GET", "/audit?actor=boss&action=agent_added,tokens_revoked")
    assert status == 200 and len(mine["items"]) == 3
    assert (await api.call("GET", "/audit?actor=ann"))[1]["items"] == []
    assert (await api.call("GET", "/audit?start=2000-01-01&end=2000-01-02"))[1]["items"] == []
    status, bad = await api.call("GET", "/audit?action=no_such_thing")
    assert status == 400 and "unknown no_such_thing" in bad["error"]["message"]
    assert (await api.call("GET", "/audit", "ann"))[0] == 403
    # the CLI prints the same records
    out = await _cli("audit", "--config", str(service.config.path), "--action", "agent_added",
                     "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["object"], r["actor"]) for r in rows] == [
        ("agent:x3", "agent:boss"), ("agent:x2", "agent:boss"), ("agent:x1", "agent:boss"),
        ("agent:bob", "config"), ("agent:ann", "config"), ("agent:boss", "config")]  # at start
    # reading the log records nothing (the fixture's tokens and the agents are all there is)
    assert {r.action for r in await log.new()} == {"agent_added", "token_issued"}
