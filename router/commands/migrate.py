"""`inquiry-router migrate`: apply pending schema migrations and exit.

With `--from URL --to URL` it copies a whole installation instead (e.g. SQLite to
PostgreSQL, see docs/postgres.md): progress on stderr, a per-table comparison at the end.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from router.commands._common import add_config_arg, load_or_report
from router.domain.errors import StoreError
from router.store import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("migrate", help="apply pending database migrations")
    add_config_arg(parser)
    parser.add_argument("--from", dest="source", metavar="URL",
                        help="copy this store (e.g. sqlite:///data/router.db) ...")
    parser.add_argument("--to", dest="target", metavar="URL",
                        help="... into this one (e.g. postgresql://user@host/db)")
    parser.add_argument("--force", action="store_true",
                        help="replace what the target already holds")
    parser.add_argument("--batch", type=int, default=1000, help="rows per insert batch")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.source or args.target:
        return copy(args)
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


def copy(args: argparse.Namespace) -> int:
    from router.store.copy import copy_store, stderr_progress

    if not (args.source and args.target):
        print("error: --from and --to go together")
        return 2
    try:
        reports = asyncio.run(copy_store(args.source, args.target, force=args.force,
                                         batch=args.batch, progress=stderr_progress()))
    except StoreError as exc:
        print(f"error: {exc}")
        return 1
    width = max(len(r.table) for r in reports)
    for r in reports:
        mark = "ok" if r.ok else "MISMATCH"
        print(f"{r.table:<{width}}  {r.source_rows:>10} -> {r.target_rows:<10} "
              f"checksum {r.target_sum[:16]}  {mark}")
    if not all(r.ok for r in reports):
        print("error: the copy differs from the source (see above)")
        return 1
    print(f"copied {sum(r.target_rows for r in reports)} rows; counts and checksums match")
    return 0
