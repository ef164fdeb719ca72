"""The live stream: events arrive in order, and a reconnect with ?after= misses nothing."""

from __future__ import annotations

import asyncio
import time

from aiohttp import WSMsgType


async def next_event(ws, timeout: float = 5.0) -> dict:  # type: ignore[no-untyped-def,type-arg]
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout)
        assert msg.type == WSMsgType.TEXT, msg
        data = msg.json()
        if data["type"] == "event":
            return data


async def test_events_arrive_in_order_within_a_second(api):
    async with api.http.ws_connect(f"{api.base}/stream",
                                   headers={"Authorization": f"Bearer {api.tokens['ann']}"}) as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "hello" and hello["agent"] == "ann"
        started = time.perf_counter()
        cid = await api.customer("hello")
        first = await next_event(ws)
        latency = time.perf_counter() - started
        assert first["kind"] == "conversation_opened" and first["conversation_id"] == cid
        assert latency < 1.0
        await api.call("POST", f"/conversations/{cid}/claim", "ann")
        ids, kinds = [first["id"]], [first["kind"]]
        while "assigned" not in kinds:
            ev = await next_event(ws)
            ids.append(ev["id"])
            kinds.append(ev["kind"])
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert kinds[-2:] == ["status_changed", "assigned"]


async def test_resume_after_disconnect_misses_nothing(api):
    url = f"{api.base}/stream"
    headers = {"Authorization": f"Bearer {api.tokens['bob']}"}
    async with api.http.ws_connect(url, headers=headers) as ws:
        await ws.receive_json()
        await api.customer("one")
        last = await next_event(ws)
    # while disconnected, plenty happens
    ids = [await api.customer(f"n{i}") for i in range(5)]
    for cid in ids:
        await api.call("POST", f"/conversations/{cid}/note", "boss", json={"text": "seen"})
    expected = await api.service.store.read(lambda tx: tx.list_events(after_id=last["id"]))
    async with api.http.ws_connect(f"{url}?after={last['id']}", headers=headers) as ws:
        hello = await ws.receive_json()
        assert hello["cursor"] == last["id"]
        got = [await next_event(ws) for _ in expected]
        assert [e["id"] for e in got] == [e.id for e in expected]
        cid = await api.customer("live again")
        ev = await next_event(ws)
        assert ev["conversation_id"] == cid and ev["id"] > got[-1]["id"]


async def test_stream_rejects_bad_tokens_and_cursors(api):
    async with api.http.get(f"{api.base}/stream") as resp:
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthorized"
    async with api.http.get(f"{api.base}/stream?after=x",
                            headers={"Authorization": f"Bearer {api.tokens['bob']}"}) as resp:
        assert resp.status == 400
