"""The outbox checks reachability itself (issue 25): a row to an address its channel
reported refusing our messages is failed without calling the channel, on any channel."""

from __future__ import annotations

from router.domain.model import OutboxStatus
from router.engine.channel_host_store import StoreChannelHost
from tests.conftest import echo_decide
from tests.router.test_outbox import loopback_config, next_final, outbox_rows, post, watch_outcomes


async def test_a_reply_to_an_unreachable_address_fails_without_a_send(
        make_config, start_service, recorder):
    service = await start_service(make_config(loopback_config(recorder.url)), echo_decide)
    outcomes = watch_outcomes(service)
    await post(service, {"id": "1", "thread": "u", "from": "u", "text": "hi"})
    assert await next_final(outcomes) == "sent"
    host = StoreChannelHost(service.store, "loopback")
    assert await host.set_unreachable("u", True)
    await post(service, {"id": "2", "thread": "u", "from": "u", "text": "again"})
    assert await next_final(outcomes) == "failed"
    assert len(recorder.requests) == 1  # the channel was not called
    [row] = await outbox_rows(service, OutboxStatus.FAILED)
    assert "unreachable" in row.last_error and row.attempts == 1
    # another address on the same channel is not affected
    await post(service, {"id": "3", "thread": "v", "from": "v", "text": "hej"})
    assert await next_final(outcomes) == "sent"
    assert await host.set_unreachable("u", False)  # reachable again: sends resume
    await post(service, {"id": "4", "thread": "u", "from": "u", "text": "back"})
    assert await next_final(outcomes) == "sent"
    assert [r.body["text"] for r in recorder.requests] == ["echo: hi", "echo: hej", "echo: back"]
