"""Salesforce sync through simple-salesforce against the stand-in, via the real service."""

from __future__ import annotations

import logging

from router.domain.model import OutboxStatus
from tests.integrations.crm.conftest import Settled, answer_and_resolve, customer, post
from tests.integrations.crm.fakes import FakeSalesforce

BASE = "/services/data/v59.0"


def config(fake: FakeSalesforce, recorder_url: str, credentials: str) -> str:
    return f"""
channels:
  loopback: {{deliver_url: "{recorder_url}"}}
integrations:
  crm:
    salesforce:
      instance_url: https://acme.my.salesforce.com
      api_base: http://127.0.0.1:{fake.port}
      {credentials}
      rate_limit: 1000
      concurrency: 3
      transcript_url: "https://help.example.se/console?conversation={{id}}"
      fields:
        contact:
          LeadSource: conversation.channel
          Region__c: contact.fields.region
        activity:
          Type: {{value: Chat}}
"""


async def test_one_contact_across_three_concurrent_conversations(
        make_config, start_service, recorder, salesforce: FakeSalesforce, caplog) -> None:
    """Client credentials; Salesforce keeps duplicates, so only the lanes prevent them."""
    caplog.set_level(logging.DEBUG)
    salesforce.create_delay = 0.2
    credentials = (f"client_id: {salesforce.client_id}\n"
                   f"      client_secret: {salesforce.client_secret}")
    service = await start_service(make_config(config(salesforce, recorder.url, credentials)),
                                  answer_and_resolve)
    settled = Settled(service)
    await post(service.port, customer(1, "t1", name="Ulla"), customer(2, "t2", name="Ulla"),
               customer(3, "t3", name="Ulla"))
    await settled.until("crm:salesforce", "sent", 3)
    assert salesforce.count("POST", rf"{BASE}/sobjects/Contact/") == 1
    (cid, contact), = salesforce.contacts.items()
    # a one-word name is the LastName Salesforce requires; no region, so none is sent
    assert contact == {"Email": "Ulla@Example.se", "LastName": "Ulla", "LeadSource": "loopback"}
    tasks = sorted(salesforce.tasks.values(), key=lambda t: t["Subject"])
    assert [t["WhoId"] for t in tasks] == [cid] * 3
    first = tasks[0]
    assert first["Subject"] == "Loopback conversation 1: Var är min faktura 1?"
    assert first["Status"] == "Completed" and first["Type"] == "Chat"
    assert first["TaskSubtype"] == "Task" and len(first["ActivityDate"]) == 10
    assert "Transcript: https://help.example.se/console?conversation=1" in first["Description"]
    # the lookup is SOQL on the mapped email; one token per worker thread that signed in
    query = next(c for c in salesforce.calls if c.path == f"{BASE}/query/")
    assert query.method == "GET"
    assert 1 <= salesforce.tokens_issued <= 3
    assert salesforce.client_secret not in caplog.text


async def test_429_retry_after_is_honoured(make_config, start_service, recorder,
                                           salesforce: FakeSalesforce) -> None:
    answers = iter([(429, {"Retry-After": "1"})])
    salesforce.respond = lambda path: next(answers, None) if path.endswith("/query/") else None
    service = await start_service(make_config(config(
        salesforce, recorder.url, f"access_token: {salesforce.token}")), answer_and_resolve)
    settled = Settled(service)
    await post(service.port, customer(1, "t1"))
    await settled.until("crm:salesforce", "sent", timeout=15)
    refused, *rest = [c for c in salesforce.calls if c.path.startswith(BASE)]
    assert salesforce.early == [] and rest[0].at - refused.at >= 1.0
    assert settled.of("crm:salesforce") == ["retry", "sent"]


async def test_contact_deleted_in_salesforce_is_looked_up_again(
        make_config, start_service, recorder, salesforce: FakeSalesforce) -> None:
    service = await start_service(make_config(config(
        salesforce, recorder.url, f"access_token: {salesforce.token}")), answer_and_resolve)
    settled = Settled(service)
    await post(service.port, customer(1, "t1"))
    await settled.until("crm:salesforce", "sent")
    salesforce.contacts.clear()  # an admin deleted it there
    await post(service.port, customer(2, "t2"))
    await settled.until("crm:salesforce", "sent", 2)
    assert settled.of("crm:salesforce") == ["sent", "retry", "sent"]
    assert salesforce.count("POST", rf"{BASE}/sobjects/Contact/") == 2
    (cid,) = salesforce.contacts
    assert list(salesforce.tasks.values())[-1]["WhoId"] == cid
    rows = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.SENT], 100))
    assert len([r for r in rows if r.channel == "crm:salesforce"]) == 2
