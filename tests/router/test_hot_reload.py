"""Hot reload in the running service: valid changes swap in, invalid ones are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from router.config import load_config
from router.service import Service
from router.wiring import build_decide
from tests.conftest import write_config

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
    config = load_config(path)
    from router.service import Decider

    service = Service(config, decider=Decider(build_decide(config)), reload=True)
    await service.start(port=0)
    try:
        assert service.reloader is not None
        await asyncio.wait_for(service.reloader.ready.wait(), 10)
        results: asyncio.Queue = asyncio.Queue()
        service.reloader.listeners.append(results.put_nowait)

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
    finally:
        await service.stop()
