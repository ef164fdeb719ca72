"""A running service picks up `kb import` without a restart: the bots answer from it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from router.cli import main
from tests.conftest import write_config
from tests.router.reloading import reloading_service

ARTICLE = """\
# Gift cards

## Redeem a gift card

Type the gift card code at checkout under Discount code and press Apply.
"""


async def test_an_import_reaches_the_running_bots(tmp_path: Path, recorder):
    path = write_config(tmp_path, f"""
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
languages: [en]
""")
    async with reloading_service(path) as (service, results):
        async def ask(i: int) -> str:
            async with aiohttp.ClientSession() as http, http.post(
                    f"http://127.0.0.1:{service.port}/webhooks/loopback",
                    json={"id": f"m{i}", "thread": f"t{i}", "from": f"u{i}",
                          "text": "How do I redeem a gift card?"}) as resp:
                assert resp.status == 200
            await recorder.wait_for(lambda r: len(r.delivered) >= i)
            return list(r.body["text"] for r in recorder.delivered.values())[-1]

        assert "Type the gift card code" not in await ask(1)
        help_dir = tmp_path / "help"
        help_dir.mkdir()
        (help_dir / "gift-cards.md").write_text(ARTICLE, encoding="utf-8")
        code = await asyncio.to_thread(main, ["kb", "import", str(help_dir), "-c", str(path),
                                              "--language", "en",
                                              "--base-url", "https://help.example.com/"])
        assert code == 0
        assert (await asyncio.wait_for(results.get(), 10))["ok"] is True
        answer = await ask(2)
        assert "Type the gift card code at checkout" in answer
        assert "https://help.example.com/gift-cards#redeem-a-gift-card" in answer
