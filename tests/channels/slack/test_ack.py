"""The acknowledgement contract at bolt's production entry point (`async_dispatch`).

A 200 means the message is in the inbox; when intake fails the answer is non-2xx, so
Slack retries, and the retry is recognised by the inbox key.
"""

from __future__ import annotations

import json

from slack_bolt.request.async_request import AsyncBoltRequest

from channels.slack.adapter import SlackAdapter
from channels.slack.settings import SlackSettings
from router.domain.errors import ServiceStopping
from router.domain.model import InboundMessage
from router.engine.inbox import CoreInbox
from router.ports.channel import IngestResult
from tests.channels.slack.conftest import payload, sign
from tests.channels.slack.fake_api import SECRET, TOKEN


class FlakyIntake:
    """Fails the first calls like a store that is down, then records what it stores."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.stored: dict[str, InboundMessage] = {}

    async def __call__(self, msg: InboundMessage) -> IngestResult:
        if self.errors:
            raise self.errors.pop(0)
        duplicate = msg.external_id in self.stored
        self.stored.setdefault(msg.external_id, msg)
        return IngestResult(duplicate, None if duplicate else len(self.stored), 1)


def signed(body: dict) -> AsyncBoltRequest:
    raw = json.dumps(body)
    headers = {"content-type": "application/json", **{k.lower(): v for k, v in sign(raw).items()}}
    return AsyncBoltRequest(body=raw, headers=headers)


async def test_crash_and_shutdown_give_non_2xx_then_the_retry_is_stored_once(slack_api):
    adapter = SlackAdapter(settings=SlackSettings(bot_token=TOKEN, signing_secret=SECRET,
                                                  api_base=slack_api.base_url))
    intake = FlakyIntake([RuntimeError("database is locked"), ServiceStopping()])
    bolt = adapter.bolt(CoreInbox(adapter, ingest=intake))  # acknowledge: processed
    body = payload("message_im")
    assert (await bolt.async_dispatch(signed(body))).status == 500
    assert (await bolt.async_dispatch(signed(body))).status == 503
    assert not intake.stored
    assert (await bolt.async_dispatch(signed(body))).status == 200
    assert (await bolt.async_dispatch(signed(body))).status == 200
    assert list(intake.stored) == ["D0CUST001:1700000000.000100"]
    assert intake.stored["D0CUST001:1700000000.000100"].sender.display_name == "Olga Svensson"
    await adapter.stop()
