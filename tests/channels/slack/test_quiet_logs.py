"""Slack's library never writes a request's body (customer text) to the log (issue 22)."""

from __future__ import annotations

import logging

import aiohttp

from tests.channels.slack.conftest import DM, payload, post_action, post_event, variant

SECRET_TEXT = "my card number is 4111 1111 1111 1111"


async def test_rejected_and_unhandled_slack_bodies_stay_out_of_the_log(slack_service, caplog):
    caplog.set_level(logging.DEBUG)  # before bolt copies the root logger's level
    service = await slack_service()
    body = variant(payload("message_im"), text=SECRET_TEXT,
                   channel=DM)
    async with aiohttp.ClientSession() as http:
        status, _ = await post_event(http, service, body, secret="forged")
        assert status == 401
        unhandled = {"type": "block_actions", "actions": [
            {"action_id": "someone_elses_button", "value": SECRET_TEXT, "block_id": "b"}],
            "user": {"id": "U0CUST0001"}, "team": {"id": "T0HOME0001"}}
        assert await post_action(http, service, unhandled) in {200, 404}
    assert SECRET_TEXT not in caplog.text
    assert "4111" not in caplog.text
