"""Socket Mode end to end: the real service, bolt's Socket Mode client, the stand-in's
WebSocket (hello, events_api envelopes, envelope_id acks)."""

from __future__ import annotations

from router.domain.model import Direction
from tests.channels.slack.conftest import DM, conversation, payload
from tests.channels.slack.fake_api import APP_TOKEN
from tests.conftest import echo_decide


async def socket_service(slack_service, slack_api):
    service = await slack_service(echo_decide, mode="socket", app_token=APP_TOKEN)
    await slack_api.wait_for(lambda api: len(api.sockets) == 1)
    return service, service.channels["slack"].socket


async def test_a_dm_over_socket_mode_is_acked_stored_once_and_answered(slack_service, slack_api):
    service, _ = await socket_service(slack_service, slack_api)
    assert service.port and slack_api.called("apps.connections.open")
    first = await slack_api.push_envelope(payload("message_im"))
    await slack_api.wait_for(lambda api: api.acked(first))
    await slack_api.wait_for(lambda api: len(api.posted(DM)) == 1)
    # Slack redelivers when an ack was late: same event, new envelope
    again = await slack_api.push_envelope(payload("message_im"), retry_attempt=1)
    await slack_api.wait_for(lambda api: api.acked(again))
    _, messages = await conversation(service, DM)
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    assert len(inbound) == 1 and inbound[0].external_id == "D0CUST001:1700000000.000100"
    (reply,) = slack_api.posted(DM)
    assert reply["text"].startswith("echo: Hi! My invoice 4711")
    assert [m.direction for m in messages].count(Direction.OUTBOUND) == 1


async def test_a_failed_intake_is_not_acknowledged_so_slack_redelivers(slack_service, slack_api):
    service, socket = await socket_service(slack_service, slack_api)
    service.state["stopping"] = True  # intake raises ServiceStopping
    first = await slack_api.push_envelope(payload("message_im"))
    await socket.wait_for(lambda s: any(e == first for e, _ in s.results))
    assert dict(socket.results)[first] == 503
    assert not slack_api.acked(first)
    assert await conversation(service, DM) == (None, [])
    service.state["stopping"] = False
    again = await slack_api.push_envelope(payload("message_im"), retry_attempt=1)
    await slack_api.wait_for(lambda api: api.acked(again))
    await slack_api.wait_for(lambda api: len(api.posted(DM)) == 1)
    _, messages = await conversation(service, DM)
    assert [m.direction for m in messages] == [Direction.INBOUND, Direction.OUTBOUND]
    assert not slack_api.acked(first)
