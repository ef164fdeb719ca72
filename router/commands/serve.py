"""`inquiry-router serve`: run the service until SIGTERM/SIGINT; SIGHUP reloads rules."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

from router.commands._common import add_config_arg, load_or_report
from router.config import Config
from router.domain.errors import RouterError
from router.engine.collector import after_startup
from router.logs import setup_logging
from router.service import Decider, Service
from router.wiring import build_decide

log = logging.getLogger("router.serve")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("serve", help="run the service")
    add_config_arg(parser)
    parser.add_argument("--host", help="listen address (default: http.host from config)")
    parser.add_argument("--port", type=int, help="listen port (default: http.port; 0 = any free)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    setup_logging(config.settings.logging.level, config.settings.logging.format, config.secrets())
    try:
        decide = build_decide(config)
    except RouterError as exc:
        from router.commands._common import print_problems
        from router.domain.errors import ConfigError

        if isinstance(exc, ConfigError):
            print_problems(exc)
            return 1
        raise
    factory = loop_factory(config.settings.service.event_loop)
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(serve(config, Decider(decide), args.host, args.port))
    return 0


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop (libuv), unless the config asks for asyncio's own: the service's
    sockets, timers and callbacks cost about 7 % less CPU per message end to end on it
    (issue 28). None: asyncio's default."""
    if name == "uvloop" and sys.platform != "win32":
        import uvloop

        return uvloop.new_event_loop
    return None


async def serve(config: Config, decider: Decider, host: str | None, port: int | None) -> int:
    service = Service(config, decider=decider, reload=True)
    try:
        await service.start(host=host, port=port)
    except (RouterError, OSError) as exc:
        log.error("cannot start: %s", exc)
        with contextlib.suppress(Exception):
            await service.stop()
        return 1
    # The start-up objects leave the collector's sight: a full collection's pause, which
    # lands on whichever webhooks are waiting, was about halved under the ingest
    # benchmark's load; and full collections wait for quiet moments.
    collections = after_startup()
    shown_host = host or config.settings.http.host
    print(f"listening on http://{shown_host}:{service.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if service.reloader is not None:
        service.reloader.install_sighup(loop)
    await stop.wait()
    log.info("shutting down")
    await collections.stop()
    await service.stop()
    return 0
