"""Three services on one PostgreSQL database, each with Slack configured (issue 25).

Customers write Slack DMs, spread over the three instances as a load balancer would; each
hand-off gets one root in the agents' channel and every later customer message appears
in its thread exactly once, although all three instances follow the same events. The
instance that leads the workspace is then stopped: another takes over from the shared
cursor, and the messages after that are mirrored once too.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from router.config import load_config
from router.domain.model import Action, Decision, DecisionContext
from tests.channels.slack.conftest import AGENTS, CUSTOMER, payload, post_event, settled, variant
from tests.channels.slack.fake_api import SECRET, TOKEN, FakeSlackAPI
from tests.conftest import write_config
from tests.store.pg import fresh_schema, store_url

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")

CUSTOMERS = {CUSTOMER: ("D0CUST001", "Olga Svensson"), "U0CUST0002": ("D0CUST002", "Ola Nordmann")}
_ts = itertools.count(1)


def hand_off_on_request(ctx: DecisionContext) -> Decision:
    if ctx.event == "message" and "human" in ctx.message.text.lower():
        return Decision(actions=[Action("handoff", {"queue": "general", "reason": "asked"},
                                        source="handoff")])
    return Decision()


def config_yaml(api: FakeSlackAPI, pg_url: str) -> str:
    return yaml.safe_dump({
        "storage": {"url": pg_url},
        "channels": {"slack": {"bot_token": TOKEN, "signing_secret": SECRET,
                               "api_base": api.base_url, "agents_channel": AGENTS,
                               "workspace_poll": 0.2, "workspace_lease": 1.0}},
        "queues": {"general": {}},
    })


async def dm(http: aiohttp.ClientSession, service: Any, user: str, text: str) -> None:
    channel, _ = CUSTOMERS[user]
    n = next(_ts)
    body = variant(payload("message_im"), user=user, channel=channel, text=text,
                   ts=f"1700000{n:03d}.000100", event_ts=f"1700000{n:03d}.000100")
    body["event_id"] = f"Ev3I{n:07d}"
    body["event"].pop("blocks", None)
    status, answer = await post_event(http, service, body)
    assert status == 200, answer


def thread_texts(api: FakeSlackAPI) -> list[str]:
    return [p["text"] for p in api.posted(AGENTS) if "thread_ts" in p]


def roots(api: FakeSlackAPI) -> list[dict[str, Any]]:
    return [p for p in api.posted(AGENTS) if "thread_ts" not in p]


async def test_three_instances_mirror_each_customer_message_once(
        slack_api: FakeSlackAPI, start_service: Any, http: aiohttp.ClientSession,
        tmp_path: Path):
    async with fresh_schema() as (url, schema):
        services = []
        for n in range(3):
            (tmp_path / f"i{n}").mkdir()
            path = write_config(tmp_path / f"i{n}", config_yaml(slack_api, store_url(url, schema)))
            services.append(await start_service(load_config(path), hand_off_on_request))
        followers = [s.channels["slack"].workspace for s in services]
        try:
            for n, user in enumerate(CUSTOMERS):
                await dm(http, services[n], user, "a human please")
            await slack_api.wait_for(lambda api: len(roots(api)) == len(CUSTOMERS))
            expected = []
            for round_ in range(3):  # each message to another instance than the last
                for n, (user, (_, name)) in enumerate(CUSTOMERS.items()):
                    text = f"message {round_} from {user}"
                    await dm(http, services[(round_ + n) % 3], user, text)
                    expected.append(f"*{name}:* {text}")
            await slack_api.wait_for(lambda api: len(thread_texts(api)) >= len(expected))
            await settled(*followers)
            assert sorted(thread_texts(slack_api)) == sorted(expected)
            assert len(roots(slack_api)) == len(CUSTOMERS)
            assert [f.leading for f in followers].count(True) == 1

            # the leader's instance stops; the others go on, and still post each once
            (leading,) = [s for s, f in zip(services, followers, strict=True) if f.leading]
            await leading.stop()
            rest = [s for s in services if s is not leading]
            for round_ in range(2):
                for n, (user, (_, name)) in enumerate(CUSTOMERS.items()):
                    text = f"later {round_} from {user}"
                    await dm(http, rest[(round_ + n) % 2], user, text)
                    expected.append(f"*{name}:* {text}")
            await slack_api.wait_for(lambda api: len(thread_texts(api)) >= len(expected))
            remaining = [s.channels["slack"].workspace for s in rest]
            await settled(*remaining)
            assert sorted(thread_texts(slack_api)) == sorted(expected)
            assert len(roots(slack_api)) == len(CUSTOMERS)
            assert [f.leading for f in remaining].count(True) == 1
            # every thread post went into one of the two roots' threads
            stamps = {c.result["ts"] for c in slack_api.called("chat.postMessage")
                      if c.params["channel"] == AGENTS and "thread_ts" not in c.params}
            assert {p["thread_ts"] for p in slack_api.posted(AGENTS) if "thread_ts" in p} \
                == stamps
            assert json.dumps(roots(slack_api)).count("a human please") == len(CUSTOMERS)
        finally:
            for service in services:
                if not service.state["stopping"]:
                    await service.stop()
