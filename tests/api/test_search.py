"""GET /api/v1/search and the views (issue 24), over HTTP against the running service."""

from __future__ import annotations

from datetime import UTC, datetime

from router.domain.model import InboundMessage, Sender
from tests.api.conftest import Api

XSS = "<img src=x onerror=alert(1)> beställningen"


async def write(api: Api, text: str, *, thread: str, sender: str, name: str, email: str) -> int:
    api.n += 1
    r = await api.service.intake(InboundMessage(
        channel="loopback", external_id=f"s-{api.n}", thread_key=thread,
        sender=Sender(external_id=sender, display_name=name, email=email), text=text,
        received_at=datetime.now(UTC)))
    assert r.conversation_id is not None
    return r.conversation_id


async def test_search_views_and_saved_views(api: Api) -> None:
    ulla = dict(thread="t-ulla", sender="u-ulla", name="Ulla Åberg", email="ulla@example.se")
    first = await write(api, "Hej, jag har en fråga", **ulla)
    await write(api, "Det gäller min order 4711", **ulla)
    await write(api, XSS, **ulla)
    other = await write(api, "Hello, where is my parcel?", thread="t-bo", sender="u-bo",
                        name="Bo Ek", email="bo@example.com")

    # a word of the third message: the row says what matched, with marks on the word
    status, page = await api.call("GET", "/search?q=beställning", "ann")
    assert status == 200, page
    (hit,) = page["items"]
    assert (hit["id"], hit["match"]["kind"], page["total"]) == (first, "message", 1)
    snippet = hit["match"]["snippet"]
    assert snippet["text"] == XSS  # raw text in JSON; the console inserts it as text
    (start, end), = snippet["marks"]
    assert snippet["text"][start:end] == "beställningen"
    assert hit["contact"]["display_name"] == "Ulla Åberg"
    assert hit["preview"]["text"] == XSS and hit["preview"]["author_kind"] == "customer"
    assert hit["status"] == "queued" and hit["waiting_since"]  # no person answered yet

    # the contact's email, a folded name, the box's operators, "#id"
    status, page = await api.call("GET", "/search?q=ulla@example.se", "ann")
    assert [(i["id"], i["match"]["kind"]) for i in page["items"]] == [(first, "contact")]
    assert [c["email"] for c in page["contacts"]] == ["ulla@example.se"]
    assert [i["id"] for i in (await api.call("GET", "/search?q=aberg", "ann"))[1]["items"]] == [first]
    assert [i["id"] for i in (await api.call("GET", f"/search?q=%23{other}", "ann"))[1]["items"]] == [other]

    # tags: the filter, the operator and the by-tag view
    status, _ = await api.call("PATCH", f"/conversations/{other}", json={"add_tags": ["vip"]})
    assert status == 200
    for query in ("tag=vip", "q=tag:vip", "view=tag:vip", "q=parcel&tag=vip"):
        status, page = await api.call("GET", f"/search?{query}", "ann")
        assert [i["id"] for i in page["items"]] == [other], query
    assert (await api.call("GET", "/search?q=order&tag=vip", "ann"))[1]["items"] == []

    # views with counts; the by-tag view counts open conversations (this one is the bot's)
    status, _ = await api.call("POST", f"/conversations/{other}/claim", "ann")
    assert status == 200
    status, views = await api.call("GET", "/views", "ann")
    counts = {v["id"]: v["count"] for v in views["items"]}
    assert counts["mine"] == 1 and counts["open"] == 2 and counts["bot"] == 0
    assert counts["unassigned"] == 1 and counts["resolved"] is None and counts["tag:vip"] == 1
    assert {v["id"]: v["count"] for v in (await api.call("GET", "/views", "bob"))[1]["items"]}["mine"] == 0

    # mentions: an internal note naming @bob
    status, _ = await api.call("POST", f"/conversations/{other}/note", "ann",
                               json={"text": "@bob kan du kolla leveransen?"})
    assert status == 200
    status, page = await api.call("GET", "/search?view=mentions", "bob")
    assert [i["id"] for i in page["items"]] == [other]
    assert (await api.call("GET", "/search?view=mentions", "ann"))[1]["items"] == []

    # saved views are per agent
    body = {"name": "Ullas ärenden", "filters": {"q": "ulla", "status": "queued"}}
    status, view = await api.call("POST", "/views", "ann", json=body)
    assert status == 201 and view["count"] == 1, view
    assert (await api.call("POST", "/views", "ann", json=body))[0] == 409
    status, page = await api.call("GET", f"/search?view={view['id']}", "ann")
    assert [i["id"] for i in page["items"]] == [first]
    assert (await api.call("GET", f"/search?view={view['id']}", "bob"))[0] == 404
    assert [v["id"] for v in (await api.call("GET", "/views", "bob"))[1]["items"]
            if v["kind"] == "saved"] == []
    number = view["id"].split(":")[1]
    assert (await api.call("DELETE", f"/views/{number}", "bob"))[0] == 404
    assert (await api.call("DELETE", f"/views/{number}", "ann"))[0] == 200

    # paging: a cursor continues after the last row
    status, page = await api.call("GET", "/search?limit=1", "ann")
    assert len(page["items"]) == 1 and page["total"] == 2 and page["next_cursor"]
    status, rest = await api.call("GET", f"/search?limit=1&cursor={page['next_cursor']}", "ann")
    assert [i["id"] for i in page["items"] + rest["items"]] == [other, first]
    assert rest["next_cursor"] is None

    # refusals name the parameter
    for query, where in (("status=open", "query.status"), ("view=nope", "query.view"),
                         ("since=yesterday", "query.since"), ("cursor=zz", "query.cursor"),
                         ("q=since:soon", "query.q.since")):
        status, error = await api.call("GET", f"/search?{query}", "ann")
        assert status == 400 and error["error"]["message"].startswith(where), (query, error)
    status, error = await api.call("POST", "/views", "ann", json={"name": "x", "filters": {
        "status": "nope"}})
    assert status == 400 and "body.filters.status" in error["error"]["message"]
    assert (await api.call("GET", "/search", None))[0] == 401
