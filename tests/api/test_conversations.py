"""The conversation, queue and contact endpoints end to end over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router.domain.model import OutboxStatus


async def test_list_filters_and_cursor_pagination(api):
    ids = [await api.customer(f"q{i}") for i in range(7)]
    await api.call("PATCH", f"/conversations/{ids[3]}", json={"priority": "urgent",
                                                              "add_tags": ["vip"]})
    seen, cursor = [], ""
    while True:
        status, page = await api.call("GET", f"/conversations?limit=3&cursor={cursor}")
        assert status == 200
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    seen, cursor = [], ""
    while True:
        status, page = await api.call(
            "GET", f"/conversations?order=urgency&status=queued&limit=2&cursor={cursor}")
        seen += [c["id"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [ids[3], *[i for i in ids if i != ids[3]]]
    _, page = await api.call("GET", "/conversations?tag=vip")
    assert [c["id"] for c in page["items"]] == [ids[3]]
    status, body = await api.call("GET", "/conversations?cursor=garbage")
    assert status == 400 and "cursor" in body["error"]["message"]
    status, body = await api.call("GET", "/conversations?limit=1000")
    assert status == 400 and "limit" in body["error"]["message"]


async def test_claim_reply_note_transfer_resolve_and_the_history(api):
    cid = await api.customer("my invoice is wrong")
    status, conv = await api.call("POST", f"/conversations/{cid}/claim", "ann")
    assert status == 200 and conv["assignee"] == "ann" and conv["sla"]["first_response_due"]
    status, body = await api.call("POST", f"/conversations/{cid}/claim", "bob")
    assert status == 409 and "ann" in body["error"]["message"]
    status, conv = await api.call("POST", f"/conversations/{cid}/reply", "ann", json={"text": "Hej!"})
    assert status == 200 and conv["first_response_at"] and conv["message_id"]
    await api.call("POST", f"/conversations/{cid}/note", "bob", json={"text": "VIP customer"})
    status, body = await api.call("POST", f"/conversations/{cid}/resolve", "bob")
    assert status == 403
    status, conv = await api.call("POST", f"/conversations/{cid}/transfer", "ann",
                                  json={"queue": "billing", "note": "invoice question"})
    assert status == 200 and conv["queue"] == "billing" and conv["status"] == "queued"
    status, conv = await api.call("POST", f"/conversations/{cid}/resolve", "bob")
    assert status == 200 and conv["status"] == "resolved"
    _, detail = await api.call("GET", f"/conversations/{cid}", "ann")
    assert [(m["author_kind"], m["internal"]) for m in detail["messages"]] == [
        ("customer", False), ("agent", False), ("agent", True), ("agent", True)]
    kinds = [(e["kind"], e["actor"]) for e in detail["events"] if e["actor"].startswith("agent:")]
    assert [k for k, _ in kinds] == ["status_changed", "assigned", "agent_replied", "note_added",
                                     "note_added", "status_changed", "transferred",
                                     "status_changed", "resolved"]
    outbox = await api.service.store.read(lambda tx: tx.outbox_list(list(OutboxStatus), 10))
    assert [(r.payload["author_kind"], r.payload["text"]) for r in outbox] == [("agent", "Hej!")]
    status, body = await api.call("POST", "/conversations/999999/claim", "ann")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await api.call("POST", f"/conversations/{cid}/reply", "ann", json={})
    assert status == 400 and "text" in body["error"]["message"]
    status, body = await api.call("POST", f"/conversations/{cid}/snooze", "ann",
                                  json={"until": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert status == 409


async def test_queues_show_counts_and_oldest_waiting(api):
    first = await api.customer("a")
    await api.customer("b")
    await api.call("POST", f"/conversations/{first}/claim", "ann")
    status, body = await api.call("GET", "/queues", "ann")
    queues = {q["name"]: q for q in body["items"]}
    assert status == 200 and set(queues) == {"general", "billing"}
    assert queues["general"]["waiting"] == 1 and queues["general"]["assigned"] == 1
    assert queues["general"]["oldest_waiting_seconds"] >= 0
    assert queues["general"]["sla"]["first_response_seconds"] == 1800
    assert queues["billing"]["waiting"] == 0 and queues["billing"]["oldest_waiting_at"] is None


async def test_contact_view_and_merge(api):
    a = await api.customer("by mail", sender="ulla@example.com")
    b = await api.customer("by chat", sender="4711")
    _, ca = await api.call("GET", f"/conversations/{a}")
    _, cb = await api.call("GET", f"/conversations/{b}")
    status, merged = await api.call("POST", f"/contacts/{cb['contact_id']}/merge", "boss",
                                    json={"into": ca["contact_id"]})
    assert status == 200
    assert {i["external_id"] for i in merged["identities"]} == {"ulla@example.com", "4711"}
    assert {c["id"] for c in merged["conversations"]} == {a, b}
    status, _ = await api.call("POST", f"/contacts/{ca['contact_id']}/merge",
                               json={"into": ca["contact_id"]})
    assert status == 400


async def test_agents_list_and_presence(api):
    status, _body = await api.call("POST", "/me/presence", "ann", json={"online": True})
    assert status == 200
    _, agents = await api.call("GET", "/agents", "bob")
    by_name = {a["name"]: a for a in agents["items"]}
    assert by_name["ann"]["online"] is True and by_name["boss"]["role"] == "admin"
    assert by_name["ann"]["display_name"] == "Ann Agent" and by_name["ann"]["languages"] == ["sv"]
