"""`inquiry-router migrate`: apply pending schema migrations and exit."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from router.commands._common import add_config_arg, load_or_report
from router.errors import StoreError
from router.store import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("migrate", help="apply pending database migrations")
    add_config_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1

    async def go() -> int:
        store = open_store(config.settings.storage.url, base_dir=Path(config.path).resolve().parent)
        await store.open()
        try:
            return await store.schema_version()
        finally:
            await store.close()

    try:
        version = asyncio.run(go())
    except StoreError as exc:
        print(f"error: {exc}")
        return 1
    print(f"database at schema version {version}")
    return 0
