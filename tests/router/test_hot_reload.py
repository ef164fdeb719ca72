"""Hot reload in the running service: valid changes swap in, invalid ones are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.conftest import write_config
from tests.router.reloading import reloading_service

RULES = """\
languages: [en]
replies:
  answer: {{en: "{text}"}}
rules:
  - name: always
    then: [{{reply: answer}}]
"""


async def test_valid_change_applies_and_invalid_change_keeps_the_old_rules(tmp_path: Path,
                                                                           recorder):
    (tmp_path / "config.d").mkdir()
    rules = tmp_path / "config.d" / "rules.yaml"
    rules.write_text(RULES.format(text="version one"))
    path = write_config(tmp_path, f"""
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
include: [config.d/*.yaml]
""")
    async with reloading_service(path) as (service, results):
        async def ask(i: int) -> str:
            async with aiohttp.ClientSession() as http, http.post(
                    f"http://127.0.0.1:{service.port}/webhooks/loopback",
                    json={"id": f"m{i}", "thread": f"t{i}", "from": "u", "text": "hi"}) as resp:
                assert resp.status == 200
            await recorder.wait_for(lambda r: len(r.delivered) >= i)
            return list(r.body["text"] for r in recorder.delivered.values())[-1]

        assert await ask(1) == "version one"
        rules.write_text(RULES.format(text="version two"))
        assert (await asyncio.wait_for(results.get(), 10))["ok"] is True
        assert await ask(2) == "version two"

        rules.write_text(RULES.format(text="broken").replace("answer}", "no_such_reply}"))
        refused = await asyncio.wait_for(results.get(), 10)
        assert refused["ok"] is False and "no_such_reply" in " ".join(refused["errors"])
        assert await ask(3) == "version two"  # the old rules keep running
        async with aiohttp.ClientSession() as http, http.get(
                f"http://127.0.0.1:{service.port}/status") as resp:
            status = await resp.json()
        assert status["rules"]["last_reload"]["ok"] is False
        assert "rules.yaml:6:13: unknown reply" in status["rules"]["last_reload"]["errors"][0]
