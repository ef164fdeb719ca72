"""A running service that hot-reloads its config files, for the reload tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from router.config import load_config
from router.service import Decider, Service
from router.wiring import build_decide


@contextlib.asynccontextmanager
async def reloading_service(path: Path | str) -> AsyncIterator[tuple[Service, asyncio.Queue[Any]]]:
    """The service of the config at `path` on a free port, once its file watcher is ready,
    with a queue of the reloader's results (each reload, applied or refused); stopped after."""
    config = load_config(path)
    service = Service(config, decider=Decider(build_decide(config)), reload=True)
    await service.start(port=0)
    try:
        assert service.reloader is not None
        await asyncio.wait_for(service.reloader.ready.wait(), 10)
        results: asyncio.Queue[Any] = asyncio.Queue()
        service.reloader.listeners.append(results.put_nowait)
        yield service, results
    finally:
        await service.stop()
