"""`GET /api/v1/faq/suggestions`: admins only, the suggestions and the diff of the files."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

from router.domain.model import InboundKind, InboundMessage, Sender
from router.wiring import build_decide
from tests.api.conftest import AGENTS, Api
from tests.router.faq_world import HANDOFF, PAYMENT_SV, SMALL_FAQ

FAQ_SETUP = """\
languages: [sv, en]
include: [config.d/faq.yaml]
"""


@pytest_asyncio.fixture
async def api(make_config: Callable[..., Any], start_service: Callable[..., Any],
              tmp_path: Path) -> AsyncIterator[Api]:
    """The service with its real rules and bots over the small knowledge base of
    tests/router/faq_world.py (a copy in tmp_path/config.d), and tokens for boss and ann."""
    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "faq.yaml").write_text(SMALL_FAQ, encoding="utf-8")
    config = make_config(AGENTS + FAQ_SETUP)
    service = await start_service(config, build_decide(config))
    async with aiohttp.ClientSession() as http:
        api = Api(service, http, {})
        for name in ("boss", "ann"):
            await api.token(name)
        yield api


async def _press(api: Api, thread: str, payload: str) -> None:
    api.n += 1
    await api.service.intake(InboundMessage(
        channel="loopback", external_id=f"api-{api.n}", thread_key=thread,
        sender=Sender(external_id="u1", display_name="Ulla"), text="",
        received_at=datetime.now(UTC), kind=InboundKind.CALLBACK, callback_data=payload))


async def test_admins_get_the_suggestions_and_a_diff_that_applies(api: Api, tmp_path: Path):
    cid = await api.customer("Tar ni Swish eller bara kort?", thread="a")
    await api.customer(HANDOFF, thread="a")
    status, _ = await api.call("POST", f"/conversations/{cid}/reply", "ann",
                               json={"text": f"Hej!\n{PAYMENT_SV}\n/Ann"})
    assert status == 200
    await api.customer("min order och fakturan", thread="b")
    await _press(api, "b", "faq:invoice_copy")

    status, body = await api.call("GET", "/faq/suggestions")
    assert status == 200, body
    got = {(i["entry"], i["language"], i["text"], tuple(i["sources"])) for i in body["items"]}
    assert got == {("payment_methods", "sv", "Tar ni Swish eller bara kort?", ("agent_answer",)),
                   ("invoice_copy", "sv", "min order och fakturan", ("did_you_mean",))}
    assert all(i["file"] == "config.d/faq.yaml" and i["line"] > 0 for i in body["items"])
    assert body["since"] and body["diff"].startswith("--- ./config.d/faq.yaml\n")

    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "config.d", copy / "config.d")
    subprocess.run(["git", "apply", "-"], cwd=copy, input=body["diff"].encode(), check=True)
    assert "min order och fakturan" in (copy / "config.d" / "faq.yaml").read_text(encoding="utf-8")
    assert (tmp_path / "config.d" / "faq.yaml").read_text(encoding="utf-8") == SMALL_FAQ

    status, body = await api.call("GET", "/faq/suggestions?min_count=2")
    assert status == 200 and body["items"] == [] and body["diff"] == ""


async def test_only_admins_and_clear_refusals(api: Api, tmp_path: Path):
    status, body = await api.call("GET", "/faq/suggestions", "ann")
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await api.call("GET", "/faq/suggestions", None)
    assert status == 401
    status, body = await api.call("GET", "/faq/suggestions?since=yesterday")
    assert status == 400 and "query.since" in body["error"]["message"]
    status, body = await api.call("GET", "/faq/suggestions?limit=0")
    assert status == 400
    # a broken file on disk: a clear conflict, not a 500
    (tmp_path / "config.d" / "faq.yaml").write_text("faq: [\n", encoding="utf-8")
    status, body = await api.call("GET", "/faq/suggestions")
    assert status == 409 and "inquiry-router check" in body["error"]["message"]
    status, doc = await api.call("GET", "/openapi.json", None)
    op = doc["paths"]["/faq/suggestions"]["get"]
    assert op["description"] == "Admins only." and "403" in op["responses"]
    assert {p["name"] for p in op["parameters"]} == {"since", "min_count", "limit"}
