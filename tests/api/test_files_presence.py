"""Files, collisions and settings over HTTP (issue 24): uploads sniffed and refused by
size and content, replies with files, downloads with safe headers, the web chat's upload
and file routes, `if_assignee`, presence frames on the stream, per-agent settings."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import aiohttp

from router.domain.model import InboundMessage, Sender
from tests.api.conftest import Api

WEBCHAT = """
channels:
  loopback: {}
  webchat: {secret: test-webchat-secret-0123456789}
"""
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n<<>>\nendobj\n" * 100
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 6000


async def _upload(api: Api, body: bytes, name: str, who: str = "boss") -> tuple[int, Any]:
    async with api.http.post(f"{api.base}/uploads", params={"name": name}, data=body, headers={
            "Authorization": f"Bearer {api.tokens[who]}",
            "Content-Type": "application/octet-stream"}) as r:
        return r.status, await r.json()


async def _webchat_conversation(api: Api, visitor: str) -> int:
    r = await api.service.intake(InboundMessage(
        channel="webchat", external_id=f"{visitor}:first-message", thread_key=visitor,
        sender=Sender(external_id=visitor), text="Hej, jag har en fråga",
        received_at=datetime.now(UTC)))
    assert r.conversation_id is not None
    return r.conversation_id


async def test_agent_uploads_are_sniffed_sent_and_served(api_factory) -> None:
    api = await api_factory(WEBCHAT)
    # refused: by content (a program named .png, a web page), by size, empty
    status, body = await _upload(api, EXE, "faktura.png")
    assert status == 415 and body["error"]["code"] == "type"
    assert "“faktura.png” is a Windows program, not a PNG image" in body["error"]["message"]
    status, body = await _upload(api, b"<!doctype html><script>x</script>", "a.txt")
    assert status == 415 and "web page" in body["error"]["message"]
    status, body = await _upload(api, b"", "empty.pdf")
    assert status == 400
    big = 30 * 1024 * 1024
    async with api.http.post(f"{api.base}/uploads", params={"name": "video.mp4"},
                             data=b"\0" * big, headers={
                                 "Authorization": f"Bearer {api.tokens['boss']}"}) as r:
        assert r.status == 413
        assert (await r.json())["error"]["message"] == (
            "“video.mp4” is 30.0 MB; files may be at most 10.0 MB.")
    # taken: content-addressed, the name kept (without a path)
    status, png = await _upload(api, PNG, "../../kvitto.png")
    assert status == 200, png
    assert png == {"id": hashlib.sha256(PNG).hexdigest(), "name": "kvitto.png",
                   "mime": "image/png", "kind": "image", "size": len(PNG)}
    status, pdf = await _upload(api, PDF, "Faktura maj.pdf")
    assert status == 200 and pdf["mime"] == "application/pdf" and pdf["kind"] == "file"

    cid = await _webchat_conversation(api, "v_visitor000000000000001")
    status, _ = await api.call("POST", f"/conversations/{cid}/reply", json={"text": " "})
    assert status == 400  # neither text nor files
    status, body = await api.call("POST", f"/conversations/{cid}/reply", json={
        "text": "", "attachments": [{"id": "0" * 64, "name": "x.pdf"}]})
    assert status == 400 and "POST /uploads" in body["error"]["message"]
    status, body = await api.call("POST", f"/conversations/{cid}/reply", json={
        "text": "Här är fakturan och kvittot.",
        "attachments": [{"id": pdf["id"], "name": "Faktura maj.pdf"},
                        {"id": png["id"], "name": "kvitto.png"}]})
    assert status == 200, body
    mid = body["message_id"]
    status, conv = await api.call("GET", f"/conversations/{cid}")
    sent = next(m for m in conv["messages"] if m["id"] == mid)
    assert [(a["name"], a["mime"], a["stored"]) for a in sent["attachments"]] == [
        ("Faktura maj.pdf", "application/pdf", f"attachments/console/{pdf['id']}"),
        ("kvitto.png", "image/png", f"attachments/console/{png['id']}")]

    # served with the sniffed type, nosniff and a download name; images inline on request
    headers = {"Authorization": f"Bearer {api.tokens['ann']}"}
    async with api.http.get(f"{api.base}/messages/{mid}/attachments/0", headers=headers) as r:
        assert r.status == 200 and await r.read() == PDF
        assert r.headers["Content-Type"] == "application/pdf"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"] == (
            "attachment; filename=\"Faktura maj.pdf\"; filename*=UTF-8''Faktura%20maj.pdf")
        assert "sandbox" in r.headers["Content-Security-Policy"]
    async with api.http.get(f"{api.base}/messages/{mid}/attachments/0?inline=true",
                            headers=headers) as r:
        assert r.headers["Content-Disposition"].startswith("attachment;")  # a PDF: never inline
    async with api.http.get(f"{api.base}/messages/{mid}/attachments/1?inline=true",
                            headers=headers) as r:
        assert r.headers["Content-Disposition"].startswith("inline;")
        assert r.headers["Content-Type"] == "image/png"
    async with api.http.get(f"{api.base}/messages/{mid}/attachments/1") as r:
        assert r.status == 401  # no token, no session
    status, _ = await api.call("GET", f"/messages/{mid}/attachments/2")
    assert status == 404

    # a channel that cannot carry files says so
    loop = await api.customer("hello")
    status, body = await api.call("POST", f"/conversations/{loop}/reply", json={
        "text": "x", "attachments": [{"id": pdf["id"], "name": "a.pdf"}]})
    assert status == 400 and "cannot carry files" in body["error"]["message"]


async def test_webchat_visitor_uploads_and_downloads_only_their_own(api_factory) -> None:
    api = await api_factory(WEBCHAT)
    chat = f"http://127.0.0.1:{api.service.port}/chat"
    tokens = []
    for _ in range(2):
        # a session of its own each: no shared cookie, two visitors
        async with aiohttp.ClientSession() as fresh, fresh.post(f"{chat}/session", json={}) as r:
            tokens.append((await r.json())["token"])
    mine, theirs = ({"Authorization": f"Bearer {t}"} for t in tokens)

    async def upload(body: bytes, name: str, cid: str, who: dict[str, str] = mine) -> Any:
        async with api.http.post(f"{chat}/upload", params={"id": cid, "name": name, "lang": "sv"},
                                 data=body, headers=who) as r:
            return r.status, await r.json()

    assert (await upload(PNG, "kvitto.png", "abcdefgh1", {}))[0] == 401
    status, body = await upload(EXE, "faktura.png", "abcdefgh2")
    assert status == 415 and body["error"]["code"] == "type" and body["error"]["id"] == "abcdefgh2"
    status, body = await upload(b"\0" * (11 * 1024 * 1024), "film.mov", "abcdefgh3")
    assert status == 413 and body["error"]["code"] == "too_large"
    status, body = await upload(PNG, "kvitto.png", "abcdefgh4")
    assert status == 200 and body["attachments"][0]["name"] == "kvitto.png", body
    again = await upload(PNG, "kvitto.png", "abcdefgh4")
    assert again[0] == 200 and again[1]["duplicate"] is True  # the same client id: stored once
    mid = body["message_id"]

    # the agent sees it; the visitor (and only they) gets it back
    status, conv = await api.call("GET", "/conversations?status=bot,queued,assigned")
    cid = next(c["id"] for c in conv["items"] if c["channel"] == "webchat")
    status, detail = await api.call("GET", f"/conversations/{cid}")
    assert [m["attachments"][0]["mime"] for m in detail["messages"] if m["id"] == mid] == ["image/png"]
    async with api.http.get(f"{chat}/files/{mid}/0?inline=1", headers=mine) as r:
        assert r.status == 200 and await r.read() == PNG
        assert r.headers["Content-Disposition"].startswith("inline;")
    async with api.http.get(f"{chat}/files/{mid}/0", headers=theirs) as r:
        assert r.status == 404
    async with api.http.get(f"{chat}/files/{mid}/0") as r:
        assert r.status == 401


async def test_reply_if_assignee_and_presence_frames(api_factory) -> None:
    api = await api_factory()
    cid = await api.customer("hjälp")
    assert (await api.call("POST", f"/conversations/{cid}/claim", "ann"))[0] == 200
    status, body = await api.call("POST", f"/conversations/{cid}/reply", json={
        "text": "Jag tar den", "if_assignee": ""})
    assert status == 409 and "now assigned to ann" in body["error"]["message"]
    status, _ = await api.call("POST", f"/conversations/{cid}/reply", json={
        "text": "Jag tar den", "if_assignee": "ann"})
    assert status == 200  # boss is an admin and confirmed it is ann's

    ws_url = f"ws://127.0.0.1:{api.service.port}/api/v1/stream?access_token={api.tokens['bob']}"
    status, body = await api.call("POST", f"/conversations/{cid}/presence", "ann",
                                  json={"state": "viewing"})
    assert body["viewers"] == [{"agent": "ann", "name": "Ann Agent", "typing": False,
                                "mode": "reply"}]
    async with api.http.ws_connect(ws_url) as ws:
        async def presence() -> dict[str, Any]:
            while True:
                frame = await ws.receive_json(timeout=5)
                if frame["type"] == "presence":
                    return frame

        assert (await presence())["viewers"][0]["agent"] == "ann"  # the board as it is
        await api.call("POST", f"/conversations/{cid}/presence", "boss",
                       json={"state": "typing", "mode": "note"})
        frame = await presence()
        assert frame["conversation_id"] == cid
        assert [(v["agent"], v["typing"], v["mode"]) for v in frame["viewers"]] == [
            ("ann", False, "reply"), ("boss", True, "note")]
        await api.call("POST", f"/conversations/{cid}/presence", "ann", json={"state": "left"})
        assert [v["agent"] for v in (await presence())["viewers"]] == ["boss"]
    status, body = await api.call("GET", f"/conversations/{cid}/presence", "bob")
    assert status == 200 and [v["agent"] for v in body["viewers"]] == ["boss"]
    assert (await api.call("POST", "/conversations/999/presence", json={"state": "viewing"}))[0] == 404
    assert (await api.call("POST", f"/conversations/{cid}/presence", json={"state": "x"}))[0] == 400


async def test_notification_settings_are_kept_per_agent(api_factory) -> None:
    api = await api_factory()
    defaults = {"notifications": {"sound": True, "desktop": False, "assigned": True,
                                  "customer_replies": True, "queued": False}}
    assert await api.call("GET", "/me/settings", "ann") == (200, defaults)
    status, body = await api.call("PUT", "/me/settings", "ann", json={
        "notifications": {"desktop": True, "sound": False}})
    expected = {"notifications": {**defaults["notifications"], "desktop": True, "sound": False}}
    assert (status, body) == (200, expected)
    assert await api.call("GET", "/me/settings", "ann") == (200, expected)
    assert await api.call("GET", "/me/settings", "bob") == (200, defaults)
    status, _ = await api.call("PUT", "/me/settings", "ann", json={"notifications": {"sound": "yes"}})
    assert status == 400
