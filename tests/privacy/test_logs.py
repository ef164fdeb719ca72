"""INFO logs of a full flow carry ids and counts, never a contact's address or phone."""

from __future__ import annotations

import logging

import aiohttp

from tests.conftest import echo_decide

EMAIL, PHONE, NAME = "märta.ek@example.net", "+358401234567", "Märta Ek"


async def test_info_logs_of_a_full_flow_hold_no_personal_data(make_config, start_service, caplog):
    config = make_config("channels:\n  loopback: {}\nqueues:\n  general: {}\n")
    with caplog.at_level(logging.INFO):
        service = await start_service(config, echo_decide)
        url = f"http://127.0.0.1:{service.port}/webhooks/loopback"
        async with aiohttp.ClientSession() as http, http.post(url, json={
                "id": "p1", "thread": EMAIL, "from": EMAIL, "name": NAME,
                "text": f"Hi, I am {NAME}: write to {EMAIL} or call {PHONE}"}) as resp:
            assert resp.status == 200
        await service.stop()
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any("loopback reply" in r.getMessage() for r in info)  # the flow really ran
    for record in info:
        line = record.getMessage() + " " + str(record.__dict__)
        for needle in (EMAIL, PHONE, NAME, "example.net"):
            assert needle not in line, (record.name, record.getMessage())
