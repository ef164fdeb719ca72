"""The ceiling of the machine: an aiohttp endpoint that only parses JSON and answers 200.

It runs the same aiohttp server stack and the same body reading and JSON parsing as the
service's webhooks (`router.web.http_errors.read_json`: `request.read()` then `json.loads`),
and nothing else: no store, no pipeline. The ingest benchmark divides the service's
throughput by this endpoint's, measured in the same run on the same machine, so the
ratio says how much of the machine's HTTP capacity the durable work leaves.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"ok": True})


async def serve() -> None:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
    sys.exit(0)
