"""`inquiry-router audit`: the audit log, newest first (issue 29).

Filters as in `GET /api/v1/audit`: `--action` (comma-separated), `--actor`, `--from` and
`--to` (days, `--to` included, or ISO times). `--json` prints one record per line.
"""

from __future__ import annotations

import argparse
import json
import sys

from router.commands._common import add_config_arg, run_with_store
from router.store import Store, Tx
from router.store.base import AuditRecord


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("audit", help="the audit log: sign-ins, agent and role changes, "
                            "tokens, reloads, exports, erasures, merges, report downloads")
    add_config_arg(parser)
    parser.add_argument("--action", default="", help="comma-separated, e.g. signin_failed")
    parser.add_argument("--actor", default="", help="agent:NAME (or NAME), cli:USER, config, system")
    parser.add_argument("--from", dest="start", default="", help="first day (YYYY-MM-DD) or ISO time")
    parser.add_argument("--to", dest="end", default="", help="last day, included, or ISO time")
    parser.add_argument("--limit", type=int, default=100, help="records to show (default 100)")
    parser.add_argument("--before", type=int, default=None, metavar="ID",
                        help="only records older than this id (the next page)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--actions", action="store_true", help="list the actions recorded")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.actions:
        from router.engine.audit import ACTIONS

        for name, meaning in ACTIONS.items():
            print(f"{name:<24} {meaning}")
        return 0
    from router.engine.audit.query import MAX_PAGE, build_filter

    if not 1 <= args.limit <= MAX_PAGE:
        print(f"error: --limit must be between 1 and {MAX_PAGE}", file=sys.stderr)
        return 2
    try:
        args.filter = build_filter(actions=args.action, actor=args.actor, start=args.start,
                                   end=args.end, before_id=args.before)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_with_store(args, _show)


async def _show(args: argparse.Namespace, store: Store) -> int:
    from router.engine.audit.query import as_dict

    async def q(tx: Tx) -> list[AuditRecord]:
        return await tx.audit_list(args.filter, args.limit + 1)

    found = await store.read(q)
    page = found[:args.limit]
    for record in page:
        row = as_dict(record)
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
            continue
        detail = json.dumps(row["detail"], ensure_ascii=False) if row["detail"] else ""
        print(f"{row['id']:>6}  {row['at']}  {row['action']:<22} {row['actor'] or '-':<18} "
              f"{row['object'] or '-':<16} {row['source'] or '-':<15} {detail}".rstrip())
    if not page and not args.json:
        print("no audit records match", file=sys.stderr)
    if len(found) > args.limit:
        print(f"(more: --before {page[-1].id})", file=sys.stderr)
    return 0
