"""Agents take over bot-held conversations over HTTP; the customer (loopback) hears the agent
join, and the bot says nothing after that.

The service is real (rules and bots compiled from the config, the outbox delivering to a
recording endpoint); the customer writes through `POST /webhooks/loopback` with
`acknowledge: processed`, so its answer comes once the message and every reply it caused
are committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from router.domain.model import OutboxStatus
from router.wiring import build_decide
from tests.api.conftest import Api
from tests.fakes import Recorder

CONFIG = """
service: {acknowledge: processed}
queues:
  general: {sla: {first_response: 30m, resolution: 1d, business_hours: false}}
  billing: {description: Invoices and refunds}
agents:
  boss: {name: Bo Boss, role: admin, capacity: 10}
  ann: {name: Ann Agent, languages: [sv], capacity: 5}
  bob: {name: Bob Agent, capacity: 1}
channels:
  loopback: {deliver_url: "%s"}
languages: [sv, fi, nb, uk, en]
default_language: en
replies:
  bot_answer:  # names the message, so that no answer repeats the last (a repeat is dropped)
    en: "The bot on «{{ message.text }}»: happy to help."
    sv: "Boten om «{{ message.text }}»: jag hjälper gärna till."
    fi: "Botti viestistä «{{ message.text }}»: autan mielelläni."
rules:
  - name: the bot answers every message
    then: [{reply: bot_answer}]
"""


def bot_sv(text: str) -> tuple[str, str]:
    return ("bot", f"Boten om «{text}»: jag hjälper gärna till.")


class Customer:
    """A loopback customer: writes through the webhook, reads what the recorder got."""

    def __init__(self, api: Api, recorder: Recorder, thread: str) -> None:
        self.api, self.recorder, self.thread = api, recorder, thread
        self.n = 0

    async def says(self, text: str) -> int:
        self.n += 1
        url = f"http://127.0.0.1:{self.api.service.port}/webhooks/loopback"
        body = {"id": f"{self.thread}-{self.n}", "thread": self.thread, "from": self.thread,
                "text": text}
        async with self.api.http.post(url, json=body) as r:
            assert r.status == 200, await r.text()
            answer = await r.json()
        assert answer["conversation_id"] is not None
        return int(answer["conversation_id"])

    def heard(self) -> list[tuple[str, str]]:
        return [(r.body["author_kind"], r.body["text"]) for r in self.recorder.delivered.values()
                if r.body["thread"] == self.thread]

    async def hears(self, count: int) -> list[tuple[str, str]]:
        await self.recorder.wait_for(lambda _: len(self.heard()) >= count)
        return self.heard()


@pytest_asyncio.fixture
async def api(make_config, start_service, recorder) -> AsyncIterator[Api]:
    config = make_config(CONFIG % recorder.url)
    service = await start_service(config, build_decide(config))  # the real rules and bots
    async with aiohttp.ClientSession() as http:
        api = Api(service, http, {})
        for name in ("boss", "ann", "bob"):
            await api.token(name)
        yield api


async def outbox_of(api: Api, cid: int) -> list[tuple[str, str]]:
    rows = await api.service.store.read(lambda tx: tx.outbox_list(list(OutboxStatus), 100))
    return [(r.payload["author_kind"], r.payload["text"]) for r in rows
            if r.conversation_id == cid]


async def test_agent_claims_a_bot_held_conversation_and_the_bot_goes_quiet(api, recorder):
    ulla = Customer(api, recorder, "ulla")
    first, second = "Hej! Var hittar jag min faktura?", "Den kom aldrig fram."
    cid = await ulla.says(first)
    assert await ulla.says(second) == cid
    assert await ulla.hears(2) == [bot_sv(first), bot_sv(second)]  # the bot answers each one
    _, listed = await api.call("GET", "/conversations?status=bot", "ann")
    assert [c["id"] for c in listed["items"]] == [cid]

    status, conv = await api.call("POST", f"/conversations/{cid}/claim", "ann")
    assert status == 200, conv
    assert conv["status"] == "assigned" and conv["assignee"] == "ann"
    assert conv["queue"] == "general" and conv["sla"]["first_response_due"]
    joined = ("system", "Ann Agent har anslutit till samtalet")
    assert (await ulla.hears(3))[2] == joined
    status, body = await api.call("POST", f"/conversations/{cid}/claim", "bob")
    assert status == 409 and "ann" in body["error"]["message"]
    _, document = await api.call("GET", "/openapi.json", None)
    assert "from the bot" in document["paths"]["/conversations/{id}/claim"]["post"]["summary"]

    # the customer writes again: the rule still wants to answer, the bot stays quiet
    assert await ulla.says("Tack! Den är från mars.") == cid
    assert await outbox_of(api, cid) == [bot_sv(first), bot_sv(second), joined]
    _, detail = await api.call("GET", f"/conversations/{cid}", "ann")
    assert detail["status"] == "assigned"
    took = [e for e in detail["events"] if e["kind"] == "agent_took_over"]
    assert [(e["actor"], e["data"]) for e in took] == [
        ("agent:ann", {"agent": "ann", "from_status": "bot", "via": "claim"})]

    # the agent answers; that is the next thing the customer hears, after the joined line
    status, _ = await api.call("POST", f"/conversations/{cid}/reply", "ann",
                               json={"text": "Fakturan ligger under Mina sidor."})
    assert status == 200
    assert await ulla.hears(4) == [bot_sv(first), bot_sv(second), joined,
                                   ("agent", "Fakturan ligger under Mina sidor.")]


async def test_a_reply_to_a_bot_held_conversation_takes_it_over_first(api, recorder):
    pekka = Customer(api, recorder, "pekka")
    cid = await pekka.says("Hei! Missä laskuni on? Tilasin viime viikolla.")
    assert (await pekka.hears(1))[0][0] == "bot"
    status, conv = await api.call("POST", f"/conversations/{cid}/reply", "bob",
                                  json={"text": "Hei! Katson asiaa."})
    assert status == 200, conv
    assert conv["status"] == "assigned" and conv["assignee"] == "bob"
    assert conv["first_response_at"] and conv["message_id"]
    heard = await pekka.hears(3)
    assert heard[1:] == [("system", "Bob Agent liittyi keskusteluun"),
                         ("agent", "Hei! Katson asiaa.")]
    await pekka.says("Kiitos, odotan.")
    assert [k for k, _ in await outbox_of(api, cid)] == ["bot", "system", "agent"]
    _, detail = await api.call("GET", f"/conversations/{cid}", "bob")
    assert [e["data"]["via"] for e in detail["events"] if e["kind"] == "agent_took_over"] == [
        "reply"]
    # bob (capacity 1) is full now: taking over another one is refused, the bot keeps it
    other = await Customer(api, recorder, "olle").says("Hej, en fråga till.")
    status, body = await api.call("POST", f"/conversations/{other}/claim", "bob")
    assert status == 409 and "capacity" in body["error"]["message"]
    _, still = await api.call("GET", f"/conversations/{other}", "bob")
    assert still["status"] == "bot" and [k for k, _ in await outbox_of(api, other)] == ["bot"]


async def test_transfer_of_a_bot_held_conversation_moves_it_to_people(api, recorder):
    kari = Customer(api, recorder, "kari")
    to_queue = await kari.says("Hei! Jeg har et spørsmål om fakturaen min.")
    status, conv = await api.call("POST", f"/conversations/{to_queue}/transfer", "boss",
                                  json={"queue": "billing", "note": "invoice"})
    assert status == 200, conv
    assert conv["status"] == "queued" and conv["queue"] == "billing" and conv["assignee"] == ""
    await kari.says("Hallo?")  # queued: a person's now, the bot says nothing
    assert [k for k, _ in await outbox_of(api, to_queue)] == ["bot"]

    ulla = Customer(api, recorder, "ulla")
    to_agent = await ulla.says("Hej! Jag undrar över min beställning.")
    status, conv = await api.call("POST", f"/conversations/{to_agent}/transfer", "boss",
                                  json={"agent": "ann"})
    assert status == 200 and conv["status"] == "assigned" and conv["assignee"] == "ann"
    assert (await ulla.hears(2))[1] == ("system", "Ann Agent har anslutit till samtalet")
    _, detail = await api.call("GET", f"/conversations/{to_agent}", "ann")
    took: list[dict[str, Any]] = [e["data"] for e in detail["events"]
                                  if e["kind"] == "agent_took_over"]
    assert took == [{"agent": "boss", "from_status": "bot", "via": "transfer",
                     "to_agent": "ann", "to_queue": "general"}]
