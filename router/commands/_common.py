"""Helpers shared by sub-commands: the --config option and friendly config errors."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from router.config import Config, load_config
from router.domain.errors import ConfigError
from router.store import Store, open_store

DEFAULT_CONFIG = os.environ.get("INQUIRY_ROUTER_CONFIG", "config.yaml")


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", default=DEFAULT_CONFIG,
                        help="path to config.yaml (default: %(default)s)")


def print_problems(exc: ConfigError, stream=None) -> None:  # type: ignore[no-untyped-def]
    # sys.stderr looked up now, not at import: a test's captured stream may have replaced it
    stream = stream or sys.stderr
    for problem in exc.problems:
        print(f"error: {problem}", file=stream)
    n = len(exc.problems)
    print(f"{n} problem{'s' if n != 1 else ''} found", file=stream)


def load_or_report(path: str, *, with_rules: bool = True) -> Config | None:
    """The validated config, or None after printing every problem (one line each)."""
    try:
        config = load_config(path)
        if with_rules:
            from router.wiring import build_decide

            build_decide(config)
        return config
    except ConfigError as exc:
        print_problems(exc)
        return None


def run_with_store(args: argparse.Namespace,
                   work: Callable[[argparse.Namespace, Store], Awaitable[int]]) -> int:
    """Load the config (not the rules), open its store, run `work`, close the store:
    what the store maintenance commands (`outbox`, `inbox`) share."""
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1

    async def main() -> int:
        store = open_store(config.settings.storage.url,
                           base_dir=Path(config.path).resolve().parent)
        await store.open()
        try:
            return await work(args, store)
        finally:
            await store.close()

    return asyncio.run(main())
