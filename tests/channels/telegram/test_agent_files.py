"""An agent's files on Telegram (issue 24): uploaded to the API, sent with a reply, and
delivered as sendPhoto (an image) and sendDocument (anything else) with the file itself."""

from __future__ import annotations

from typing import Any

from router.domain.model import Agent, Decision, Role
from router.engine.agents import auth
from router.store.base import utcnow
from tests.channels.telegram.conftest import (
    Settled,
    conversation_of,
    payload,
    post_update,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n% offert\n"


async def test_a_reply_with_files_goes_as_photo_and_document(tg_service, fake_api, http) -> None:
    service = await tg_service(lambda ctx: Decision())
    settled = Settled(service)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    conv, _ = await conversation_of(service, 111222333)

    async def agent(tx: Any) -> str:
        await tx.upsert_agent(Agent(0, "eva", "Eva", role=Role.ADMIN), utcnow())
        return await auth.issue_token(tx, "eva", utcnow())

    headers = {"Authorization": f"Bearer {await service.store.write(agent)}"}
    api = f"http://127.0.0.1:{service.port}/api/v1"
    ids = []
    for body, name in ((PNG, "skiss.png"), (PDF, "offert.pdf")):
        async with http.post(f"{api}/uploads", params={"name": name}, data=body,
                             headers=headers) as r:
            assert r.status == 200
            ids.append({"id": (await r.json())["id"], "name": name})
    async with http.post(f"{api}/conversations/{conv.id}/reply", headers=headers,
                         json={"text": "Här är skissen och offerten.", "attachments": ids}) as r:
        assert r.status == 200, await r.text()
    await settled.wait_for(lambda s: s.count("sent") == 1)
    assert fake_api.called("sendMessage")[0].params["text"] == "Här är skissen och offerten."
    (photo,) = fake_api.called("sendPhoto")
    assert next(v for v in photo.params.values() if isinstance(v, dict)) == {
        "filename": "skiss.png", "content": PNG}
    (doc,) = fake_api.called("sendDocument")
    assert next(v for v in doc.params.values() if isinstance(v, dict)) == {
        "filename": "offert.pdf", "content": PDF}
