"""Two instances on one PostgreSQL store: each resolution is queued once, one contact made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from router.config import load_config
from tests.conftest import write_config
from tests.integrations.crm.conftest import Settled, answer_and_resolve, customer, post
from tests.integrations.crm.fakes import FakeHubSpot
from tests.store.pg import fresh_schema, store_url

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_schema() as (url, schema):
        yield store_url(url, schema)


async def test_two_instances_queue_each_resolution_once(
        tmp_path: Path, pg_url: str, start_service, recorder, hubspot: FakeHubSpot) -> None:
    hubspot.create_delay = 0.2
    extra = f"""
storage: {{url: "{pg_url}"}}
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
integrations:
  crm:
    hubspot: {{access_token: {hubspot.token}, api_base: "{hubspot.url}", rate_limit: 1000}}
"""
    services = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        services.append(await start_service(load_config(write_config(tmp_path / name, extra)),
                                            answer_and_resolve))
    settled = Settled(*services)
    a, b = services
    # one customer's conversations arrive at both instances at once, and another's too
    await post(a.port, customer(1, "t1"), customer(3, "t3"),
               customer(5, "t5", sender="olle", email="olle@example.se", name="Olle Ek"))
    await post(b.port, customer(2, "t2"))
    await settled.until("crm:hubspot", "sent", 4)
    assert hubspot.count("POST", "/crm/v3/objects/contacts") == 2  # Ulla once, Olle once
    assert len(hubspot.notes) == 4 and settled.of("crm:hubspot") == ["sent"] * 4
    assert sum(s.crm.follower.queued for s in services) == 4
