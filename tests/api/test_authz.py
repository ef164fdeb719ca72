"""Issue 22's authorisation cases through /api/v1, on SQLite and PostgreSQL: 403 for
someone else's conversation and for merges by plain agents, 409 for the last admin,
and re-enabling a disabled agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.store.pg import fresh_schema, store_url


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def api(request: pytest.FixtureRequest, api_factory, tmp_path: Path) -> AsyncIterator:
    if request.param == "sqlite":
        yield await api_factory()
        return
    async with fresh_schema() as (server, schema):
        made = await api_factory(f"storage: {{url: '{store_url(server, schema)}'}}\n")
        yield made
        await made.service.stop()  # before its schema is dropped


async def test_patch_of_someone_elses_conversation(api):
    cid = await api.customer("my invoice")
    status, _ = await api.call("POST", f"/conversations/{cid}/claim", "ann")
    assert status == 200
    status, body = await api.call("PATCH", f"/conversations/{cid}", "bob",
                                  json={"priority": "urgent", "add_tags": ["mine"]})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert "assigned to ann" in body["error"]["message"]
    _, conv = await api.call("GET", f"/conversations/{cid}", "bob")
    assert conv["priority"] == "normal" and conv["tags"] == []
    status, conv = await api.call("PATCH", f"/conversations/{cid}", "ann",
                                  json={"priority": "high"})
    assert status == 200 and conv["priority"] == "high"
    status, conv = await api.call("PATCH", f"/conversations/{cid}", "boss",
                                  json={"add_tags": ["vip"]})
    assert status == 200 and conv["tags"] == ["vip"]


async def test_only_admins_merge_contacts(api):
    a = await api.customer("by mail", sender="ulla@example.com")
    b = await api.customer("by chat", sender="4711")
    _, ca = await api.call("GET", f"/conversations/{a}")
    _, cb = await api.call("GET", f"/conversations/{b}")
    path, into = f"/contacts/{cb['contact_id']}/merge", {"into": ca["contact_id"]}
    status, body = await api.call("POST", path, "ann", json=into)
    assert status == 403 and "only admins may merge contacts" in body["error"]["message"]
    _, still = await api.call("GET", f"/contacts/{cb['contact_id']}", "ann")
    assert [c["id"] for c in still["conversations"]] == [b]
    status, merged = await api.call("POST", path, "boss", json=into)
    assert status == 200 and {c["id"] for c in merged["conversations"]} == {a, b}


async def test_the_last_admin_cannot_disable_themselves(api):
    status, body = await api.call("POST", "/agents/boss/disable", "boss")
    assert status == 409 and "last active admin" in body["error"]["message"]
    status, me = await api.call("GET", "/me", "boss")
    assert status == 200 and me["name"] == "boss"


async def test_an_admin_re_enables_a_disabled_agent(api):
    status, body = await api.call("POST", "/agents/bob/disable", "boss")
    assert status == 200 and body == {"name": "bob", "disabled": True, "changed": True}
    status, _ = await api.call("GET", "/me", "bob")
    assert status == 401
    status, body = await api.call("POST", "/agents/bob/enable", "ann")
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await api.call("POST", "/agents/bob/enable", "boss")
    assert status == 200 and body == {"name": "bob", "disabled": False, "changed": True}
    status, me = await api.call("GET", "/me", "bob")  # the token it had works again
    assert status == 200 and me["name"] == "bob"
    status, body = await api.call("POST", "/agents/bob/enable", "boss")
    assert status == 200 and body["changed"] is False
    status, _ = await api.call("POST", "/agents/nobody/enable", "boss")
    assert status == 404
    _, doc = await api.call("GET", "/openapi.json", None)
    op = doc["paths"]["/agents/{name}/enable"]["post"]
    assert op["description"] == "Admins only." and "AgentSwitch" in str(op["responses"]["200"])
