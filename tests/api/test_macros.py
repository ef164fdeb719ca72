"""Macros and contacts over /api/v1 (issue 24), on SQLite and PostgreSQL: macros personal
and shared, checked as templates when saved, rendered in the conversation's language with
the sending agent's name, applied as one change (reply, tags, priority, resolve), every
change in the audit log; contacts edited, previewed and merged; and the triage beside
them (wake a snoozed conversation, the follow-up date)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from router.store.base import AuditFilter
from tests.store.pg import fresh_schema, store_url

LANGS = "languages: [sv, en]\ndefault_language: en\n"
INVOICE = {"name": "Invoice copy", "texts": {
    "sv": "Hej {{ contact.first_name }}! Jag skickar en kopia av fakturan. /{{ agent.name }}",
    "en": "Hi {{ contact.first_name }}! I am sending a copy of the invoice. /{{ agent.name }}"},
    "shared": True, "add_tags": ["invoice", "copy"], "priority": "high"}


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, api_factory: Any
                  ) -> AsyncIterator[Callable[..., Any]]:
    """`api_factory` on either backend (a fresh PostgreSQL schema per test)."""
    if request.param == "sqlite":
        yield api_factory
        return
    async with fresh_schema() as (server, schema):
        made: list[Any] = []

        async def make(extra: str = "", **kw: Any) -> Any:
            api = await api_factory(f"storage: {{url: '{store_url(server, schema)}'}}\n" + extra,
                                    **kw)
            made.append(api)
            return api

        yield make
        for api in made:
            await api.service.stop()  # before its schema is dropped


async def _audit(api: Any) -> list[tuple[str, str, str]]:
    found = await api.service.store.read(lambda tx: tx.audit_list(AuditFilter(), 100))
    return [(r.action, r.object, r.actor) for r in reversed(found)]


async def test_macros_kept_rendered_and_applied(backend):
    api = await backend(LANGS, configured_rules=True)
    cid = await api.customer("Hej! Jag undrar över min faktura, kan ni skicka den igen?")
    _, conv = await api.call("GET", f"/conversations/{cid}")
    assert conv["language"] == "sv"
    await api.call("PATCH", f"/contacts/{conv['contact_id']}", "ann",
                   json={"display_name": "Ulla Svensson"})

    # shared macros are for admins; an agent's own are theirs alone
    status, body = await api.call("POST", "/macros", "ann", json=INVOICE)
    assert status == 403 and "only admins may manage shared macros" in body["error"]["message"]
    status, shared = await api.call("POST", "/macros", "boss", json=INVOICE)
    assert status == 201 and shared["shared"] and shared["add_tags"] == ["invoice", "copy"]
    mine = {"name": "Thanks", "texts": {"en": "Thanks, {{ contact.name }}!"}, "resolve": True}
    status, own = await api.call("POST", "/macros", "ann", json=mine)
    assert status == 201 and own["owner"] == "ann" and not own["shared"]
    assert (await api.call("POST", "/macros", "ann", json=mine))[0] == 409  # same name
    assert (await api.call("GET", f"/macros/{own['id']}", "bob"))[0] == 404
    _, listed = await api.call("GET", "/macros", "bob")
    assert [m["name"] for m in listed["items"]] == ["Invoice copy"]
    _, listed = await api.call("GET", "/macros", "ann")
    assert [m["name"] for m in listed["items"]] == ["Invoice copy", "Thanks"]
    assert (await api.call("PATCH", f"/macros/{shared['id']}", "ann", json={"name": "x"}))[0] == 403

    # a template that does not compile or names what macros lack is refused, by language
    for texts, problem in (({"sv": "Hej {{ contact.frist_name }}"}, "texts.sv: unknown variable"),
                           ({"en": "{% if %}"}, "texts.en: template error"),
                           ({"xx-!": "hi"}, "texts.xx-!: not a language code")):
        status, body = await api.call("POST", "/macros", "ann", json={"name": "bad", "texts": texts})
        assert status == 400 and problem in body["error"]["message"], body

    # rendered in the conversation's language, with the sending agent's name
    status, shown = await api.call("POST", f"/conversations/{cid}/render-macro", "ann",
                                   json={"macro_id": shared["id"]})
    assert status == 200 and shown["language"] == "sv"
    assert shown["text"] == "Hej Ulla! Jag skickar en kopia av fakturan. /Ann Agent"

    # applied: the reply goes out as rendered, tags and priority follow, one event says so;
    # like a reply, not while a colleague holds it unseen (`if_assignee`)
    status, body = await api.call("POST", f"/conversations/{cid}/apply-macro", "ann",
                                  json={"macro_id": shared["id"], "if_assignee": "bob"})
    assert status == 409 and "look again" in body["error"]["message"]
    status, after = await api.call("POST", f"/conversations/{cid}/apply-macro", "ann",
                                   json={"macro_id": shared["id"], "if_assignee": ""})
    assert status == 200, after
    assert after["assignee"] == "ann" and after["priority"] == "high"
    assert set(after["tags"]) >= {"invoice", "copy"}
    _, full = await api.call("GET", f"/conversations/{cid}")
    sent = [m for m in full["messages"] if m["author_kind"] == "agent"]
    assert sent[-1]["text"] == "Hej Ulla! Jag skickar en kopia av fakturan. /Ann Agent"
    [applied] = [e for e in full["events"] if e["kind"] == "macro_applied"]
    assert applied["data"]["language"] == "sv" and applied["actor"] == "agent:ann"

    # the agent's edited text is sent instead; a resolving macro resolves
    status, done = await api.call("POST", f"/conversations/{cid}/apply-macro", "ann",
                                  json={"macro_id": own["id"], "text": "Tack, Ulla!"})
    assert status == 200 and done["status"] == "resolved"
    _, full = await api.call("GET", f"/conversations/{cid}")
    assert [m["text"] for m in full["messages"] if m["author_kind"] == "agent"][-1] == "Tack, Ulla!"

    # another agent cannot use ann's macro; changes and deletion are audited
    other = await api.customer("hello again", thread="other")
    status, _ = await api.call("POST", f"/conversations/{other}/apply-macro", "bob",
                               json={"macro_id": own["id"]})
    assert status == 404
    status, changed = await api.call("PATCH", f"/macros/{own['id']}", "ann",
                                     json={"texts": {"en": "Thank you!", "sv": "Tack!"}})
    assert status == 200 and changed["texts"]["sv"] == "Tack!"
    assert (await api.call("DELETE", f"/macros/{own['id']}", "ann"))[0] == 200
    assert (await api.call("GET", f"/macros/{own['id']}", "ann"))[0] == 404
    trail = [a for a in await _audit(api) if a[0].startswith("macro_")]
    assert trail == [("macro_added", f"macro:{shared['id']}", "agent:boss"),
                     ("macro_added", f"macro:{own['id']}", "agent:ann"),
                     ("macro_changed", f"macro:{own['id']}", "agent:ann"),
                     ("macro_deleted", f"macro:{own['id']}", "agent:ann")]


async def test_contact_edit_preview_and_merge(backend):
    api = await backend()
    a = await api.customer("by mail", sender="ulla@example.com")
    b = await api.customer("by chat", sender="4711")
    _, ca = await api.call("GET", f"/conversations/{a}")
    _, cb = await api.call("GET", f"/conversations/{b}")
    ka, kb = ca["contact_id"], cb["contact_id"]

    # every agent edits; bad values are refused; the audit names the fields, not values
    status, edited = await api.call("PATCH", f"/contacts/{kb}", "bob", json={
        "display_name": " Ulla S ", "email": "ULLA@example.com", "phone": "+46 70 123 45 67",
        "notes": "Prefers chat."})
    assert status == 200, edited
    assert (edited["display_name"], edited["email"], edited["notes"]) == (
        "Ulla S", "ULLA@example.com", "Prefers chat.")
    for bad in ({"email": "not an email"}, {"phone": "call me"}, {"notes": 1}):
        assert (await api.call("PATCH", f"/contacts/{kb}", "bob", json=bad))[0] == 400
    await api.call("PATCH", f"/contacts/{ka}", "bob", json={"email": "ulla@example.com"})
    _, seen = await api.call("GET", f"/contacts/{ka}", "bob")
    assert [s["id"] for s in seen["similar"]] == [kb]  # same email: a merge to consider

    # the preview (admins) shows the result and changes nothing; then the merge
    status, _ = await api.call("GET", f"/contacts/{kb}/merge-preview?into={ka}", "bob")
    assert status == 403
    status, preview = await api.call("GET", f"/contacts/{kb}/merge-preview?into={ka}", "boss")
    assert status == 200, preview
    assert preview["result"]["phone"] == "+46 70 123 45 67"  # a blank filled from the source
    assert preview["result"]["email"] == "ulla@example.com"  # the target's own value stays
    assert preview["conversations"] == [b] and preview["identities"][0]["external_id"] == "4711"
    _, untouched = await api.call("GET", f"/contacts/{ka}")
    assert untouched["phone"] == ""
    status, merged = await api.call("POST", f"/contacts/{kb}/merge", "boss", json={"into": ka})
    assert status == 200 and merged["phone"] == "+46 70 123 45 67"
    assert merged["notes"] == "Prefers chat." and merged["similar"] == []
    status, body = await api.call("PATCH", f"/contacts/{kb}", "bob", json={"notes": "x"})
    assert status == 409 and f"merged into contact {ka}" in body["error"]["message"]
    trail = [a for a in await _audit(api) if a[0] in ("contact_changed", "contacts_merged")]
    assert trail == [("contact_changed", f"contact:{kb}", "agent:bob"),
                     ("contact_changed", f"contact:{ka}", "agent:bob"),
                     ("contacts_merged", f"contact:{kb}", "agent:boss")]
    detail = (await api.service.store.read(lambda tx: tx.audit_list(AuditFilter(), 10)))
    assert all("ulla" not in str(r.detail).lower() for r in detail)


async def test_snooze_wake_and_follow_up(api_factory):
    api = await api_factory()
    cid = await api.customer("hello")
    await api.call("POST", f"/conversations/{cid}/claim", "ann")
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    _, snoozed = await api.call("POST", f"/conversations/{cid}/snooze", "ann", json={"until": soon})
    assert snoozed["snoozed_until"]
    status, woken = await api.call("POST", f"/conversations/{cid}/unsnooze", "ann")
    assert status == 200 and woken["snoozed_until"] is None
    assert (await api.call("POST", f"/conversations/{cid}/unsnooze", "ann"))[0] == 409
    assert (await api.call("POST", f"/conversations/{cid}/unsnooze", "bob"))[0] == 403
    day = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    status, set_ = await api.call("PUT", f"/conversations/{cid}/follow-up", "ann",
                                  json={"at": day.isoformat()})
    assert status == 200 and datetime.fromisoformat(set_["follow_up_at"]) == day
    past = {"at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
    assert (await api.call("PUT", f"/conversations/{cid}/follow-up", "ann", json=past))[0] == 400
    _, cleared = await api.call("PUT", f"/conversations/{cid}/follow-up", "ann", json={"at": None})
    assert cleared["follow_up_at"] is None
    _, full = await api.call("GET", f"/conversations/{cid}")
    kinds = [e["kind"] for e in full["events"]]
    assert {"snooze_ended", "follow_up_set", "follow_up_cleared"} <= set(kinds)
