"""The outbox honours retry-after, stops on permanent errors and keeps dead letters."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys

import aiohttp

from router.domain.model import OutboxStatus
from tests.conftest import echo_decide


def loopback_config(recorder_url: str) -> str:
    return f"""
channels:
  loopback: {{deliver_url: "{recorder_url}"}}
"""


async def post(service, payload: dict) -> dict:
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{service.port}/webhooks/loopback", json=payload) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def watch_outcomes(service) -> asyncio.Queue:
    outcomes: asyncio.Queue = asyncio.Queue()
    service.dispatcher.on_settled = lambda row, outcome: outcomes.put_nowait(outcome)
    return outcomes


async def next_final(outcomes: asyncio.Queue) -> str:
    while (outcome := await asyncio.wait_for(outcomes.get(), 10)) == "retry":
        pass
    return outcome


async def outbox_rows(service, *statuses: OutboxStatus):
    return await service.store.read(lambda tx: tx.outbox_list(list(statuses or OutboxStatus)))


async def test_retry_after_is_honoured(make_config, start_service, recorder):
    answers = iter([(429, {"Retry-After": "2"})])
    recorder.respond = lambda rec: next(answers, (200, {}))
    service = await start_service(make_config(loopback_config(recorder.url)), echo_decide)
    await post(service, {"id": "1", "thread": "t", "from": "u", "text": "hi"})
    await recorder.wait_for(lambda r: len(r.delivered) == 1)
    first, second = recorder.requests
    assert second.at - first.at >= 2.0
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert second.body["text"] == "echo: hi"


async def test_permanent_failure_is_not_retried(make_config, start_service, recorder):
    recorder.respond = lambda rec: (400, {})
    service = await start_service(make_config(loopback_config(recorder.url)), echo_decide)
    outcomes = watch_outcomes(service)
    await post(service, {"id": "1", "thread": "t", "from": "u", "text": "hi"})
    assert await next_final(outcomes) == "failed"
    rows = await outbox_rows(service, OutboxStatus.FAILED)
    assert rows and rows[0].last_error == "HTTP 400 from loopback endpoint"
    assert rows[0].attempts == 1
    assert await service.dispatcher.dispatch_due() == 0
    assert len(recorder.requests) == 1


async def test_dead_letters_are_listed_and_retried_by_command(make_config, start_service,
                                                              recorder, tmp_path):
    failing = [True]
    recorder.respond = lambda rec: (503, {}) if failing[0] else (200, {})
    config = make_config(loopback_config(recorder.url))
    service = await start_service(config, echo_decide)
    outcomes = watch_outcomes(service)
    await post(service, {"id": "1", "thread": "t", "from": "u", "text": "hi"})
    assert await next_final(outcomes) == "dead"
    dead = await outbox_rows(service, OutboxStatus.DEAD)
    assert len(recorder.requests) == 4  # max_attempts: 4
    assert len(dead) == 1 and dead[0].attempts == 4
    cli = [sys.executable, "-m", "router", "outbox"]
    listed = subprocess.run([*cli, "--config", config.path, "list"], capture_output=True,
                            text=True, check=True)
    assert f"{dead[0].id}" in listed.stdout and "dead" in listed.stdout
    failing[0] = False
    retried = subprocess.run([*cli, "--config", config.path, "retry"], capture_output=True,
                             text=True, check=True)
    assert "1 delivery queued for retry" in retried.stdout
    service.dispatcher.wake()
    await recorder.wait_for(lambda r: len(r.delivered) == 1)
    assert len(recorder.requests) == 5


def test_outbox_keys_are_unique_per_row_and_per_process():
    from router.engine.effects import new_key

    keys = [new_key() for _ in range(10_000)]
    assert len(set(keys)) == len(keys)
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys)
    assert len({k[:16] for k in keys}) == 1  # the process's prefix, then a counter


async def test_a_send_that_names_thread_keys_is_marked_at_once(make_config, start_service,
                                                               recorder, monkeypatch):
    """Its keys (an email's Message-ID) find the conversation an answer to it belongs to:
    they do not wait for a lease round to carry the mark (`MARK_WAIT`, made a minute here)."""
    import router.engine.outbox as outbox

    monkeypatch.setattr(outbox, "MARK_WAIT", 60.0)
    service = await start_service(make_config(loopback_config(recorder.url)), echo_decide)
    channel = service.channels["loopback"]
    plain_send = channel.send

    async def send_naming_a_key(message):
        result = await plain_send(message)
        return dataclasses.replace(result, thread_keys=("mid-1@example.com",))

    monkeypatch.setattr(channel, "send", send_naming_a_key)
    outcomes = watch_outcomes(service)
    await post(service, {"id": "1", "thread": "t", "from": "u", "text": "hi"})
    assert await next_final(outcomes) == "sent"
    conversation = await service.store.read(
        lambda tx: tx.find_conversation("loopback", ["mid-1@example.com"]))
    assert conversation is not None and conversation.thread_key == "t"
