"""HubSpot sync through hubspot-api-client against the stand-in, via the real service."""

from __future__ import annotations

import logging

import pytest

from router.domain.model import OutboxStatus
from tests.integrations.crm.conftest import Settled, answer_and_resolve, customer, post
from tests.integrations.crm.fakes import FakeHubSpot

NOTES = r"/crm/v3/objects/notes"
CREATE = r"/crm/v3/objects/contacts"
SEARCH = r"/crm/v3/objects/contacts/search"


def config(fake: FakeHubSpot, recorder_url: str, extra: str = "") -> str:
    return f"""
service: {{public_url: "https://help.example.se"}}
channels:
  loopback: {{deliver_url: "{recorder_url}"}}
integrations:
  crm:
    hubspot:
      access_token: {fake.token}
      api_base: {fake.url}
      rate_limit: 1000
      concurrency: 4
      fields:
        contact:
          hs_language: contact.language
          lifecyclestage: {{value: customer}}
          phone: null
        activity:
          hubspot_owner_id: {{value: 7}}
{extra}"""


async def test_one_contact_across_three_concurrent_conversations(
        make_config, start_service, recorder, hubspot: FakeHubSpot) -> None:
    hubspot.create_delay = 0.2  # a second lookup racing the create would see nothing
    service = await start_service(make_config(config(hubspot, recorder.url)),
                                  answer_and_resolve)
    settled = Settled(service)
    # three threads of one customer; the third from another identity with her address
    await post(service.port, customer(1, "t1"), customer(2, "t2"),
               customer(3, "t3", sender="ulla-mobile", email="ulla@example.se"))
    await settled.until("crm:hubspot", "sent", 3)
    await settled.until("loopback", "sent", 3)
    assert hubspot.count("POST", CREATE) == 1  # not three, not a refused second
    assert hubspot.count("POST", SEARCH) == 1  # later conversations use the remembered id
    (cid, props), = hubspot.contacts.items()
    assert props == {"email": "Ulla@Example.se", "firstname": "Ulla", "lastname": "Berg",
                     "lifecyclestage": "customer"}
    notes = list(hubspot.notes.values())
    assert {n["associations"][0]["to"]["id"] for n in notes} == {cid}
    assert notes[0]["associations"][0]["types"] == [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]
    bodies = sorted(n["properties"]["hs_note_body"] for n in notes)
    assert all("Transcript: https://help.example.se/api/v1/conversations/" in b for b in bodies)
    assert any("Var är min faktura 1?" in b for b in bodies)
    assert {n["properties"]["hubspot_owner_id"] for n in notes} == {"7"}
    assert all(n["properties"]["hs_timestamp"].endswith("Z") for n in notes)
    # the customer got every answer; the CRM rows are sent outbox rows
    assert len(recorder.delivered) == 3 and settled.of("crm:hubspot") == ["sent"] * 3
    rows = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.SENT], 100))
    crm = [r for r in rows if r.channel == "crm:hubspot"]
    assert len(crm) == 3 and {r.external_id for r in crm} == set(hubspot.notes)
    assert service.status()["crm"] == {"crms": ["hubspot"], "queued": 3}


async def test_existing_contact_is_found_not_created(
        make_config, start_service, recorder, hubspot: FakeHubSpot) -> None:
    known = hubspot.add_contact({"email": "ulla@example.se", "firstname": "Ulla"})
    service = await start_service(make_config(config(hubspot, recorder.url)),
                                  answer_and_resolve)
    await post(service.port, customer(1, "t1"))
    await hubspot.wait_for(lambda f: len(f.notes) == 1)
    assert hubspot.count("POST", CREATE) == 0
    (note,) = hubspot.notes.values()
    assert note["associations"][0]["to"]["id"] == known


async def test_429_retry_after_is_honoured(make_config, start_service, recorder,
                                           hubspot: FakeHubSpot, caplog) -> None:
    answers = iter([(429, {"Retry-After": "1"})])
    hubspot.respond = lambda path: next(answers, None)
    service = await start_service(make_config(config(hubspot, recorder.url)),
                                  answer_and_resolve)
    caplog.set_level(logging.INFO)
    settled = Settled(service)
    await post(service.port, customer(1, "t1"))
    await settled.until("crm:hubspot", "retry")
    # a second customer resolved meanwhile: their calls wait out the first one's 429 too
    await post(service.port, customer(2, "t2", sender="olle", email="olle@example.se",
                                      name="Olle Ek"))
    await settled.until("crm:hubspot", "sent", 2, timeout=15)
    refused = next(c for c in hubspot.calls if c.path == SEARCH)
    after = [c for c in hubspot.calls if c.at > refused.at]
    assert hubspot.early == []  # nothing arrived while Retry-After ran
    assert after and min(c.at for c in after) - refused.at >= 1.0
    assert hubspot.count("POST", CREATE) == 2
    rows = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.SENT], 100))
    assert sorted(r.attempts for r in rows if r.channel == "crm:hubspot")[-1] == 2
    assert hubspot.token not in caplog.text


async def test_failing_crm_never_blocks_the_pipeline(make_config, start_service, recorder,
                                                     hubspot: FakeHubSpot) -> None:
    hubspot.respond = lambda path: (500, {})
    service = await start_service(make_config(config(hubspot, recorder.url)),
                                  answer_and_resolve)
    settled = Settled(service)
    await post(service.port, customer(1, "t1"))
    await settled.until("crm:hubspot", "dead")
    assert settled.of("crm:hubspot") == ["retry", "retry", "retry", "dead"]
    # the customer was answered, and is answered again while the CRM stays down
    await post(service.port, customer(2, "t2"))
    await recorder.wait_for(lambda r: len(r.delivered) == 2)
    assert hubspot.notes == {}
    dead = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.DEAD], 10))
    assert [(r.channel, r.last_error) for r in dead] == [("crm:hubspot", "HubSpot HTTP 500: "
                                                           "internal error")]


@pytest.mark.parametrize("status", [401, 400])
async def test_refusals(make_config, start_service, recorder, hubspot: FakeHubSpot,
                        status: int) -> None:
    """A refused request (400) fails at once; a refused token (401) is retried until dead."""
    hubspot.respond = lambda path: (status, {})
    service = await start_service(make_config(config(hubspot, recorder.url)),
                                  answer_and_resolve)
    settled = Settled(service)
    await post(service.port, customer(1, "t1"))
    final = "failed" if status == 400 else "dead"
    await settled.until("crm:hubspot", final)
    assert settled.of("crm:hubspot") == ([final] if status == 400 else ["retry"] * 3 + [final])
