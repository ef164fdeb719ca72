"""`inquiry-router outbox list|retry`: see and retry replies that could not be delivered."""

from __future__ import annotations

import argparse

from router.commands._common import add_config_arg, run_with_store
from router.domain.model import OutboxStatus
from router.store import Store, utcnow


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("outbox", help="list or retry undelivered replies")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="outbox_command", metavar="ACTION")
    actions.required = True
    lister = actions.add_parser("list", help="list dead and failed deliveries")
    lister.add_argument("--status", choices=["dead", "failed", "pending", "sent", "all"],
                        default=None, help="default: dead and failed")
    lister.add_argument("--limit", type=int, default=100)
    retry = actions.add_parser("retry", help="put dead (or the given) deliveries back in line")
    retry.add_argument("ids", nargs="*", type=int, help="outbox ids (default: every dead one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_with_store(args, _run)


async def _run(args: argparse.Namespace, store: Store) -> int:
    if args.outbox_command == "list":
        if args.status == "all":
            statuses = list(OutboxStatus)
        elif args.status:
            statuses = [OutboxStatus(args.status)]
        else:
            statuses = [OutboxStatus.DEAD, OutboxStatus.FAILED]
        rows = await store.read(lambda tx: tx.outbox_list(statuses, args.limit))
        if not rows:
            print("no deliveries with status " + ", ".join(map(str, statuses)))
        for row in rows:
            print(f"{row.id:>6}  {row.status:<7} {row.channel:<9} attempts={row.attempts:<2} "
                  f"conversation={row.conversation_id}  {row.last_error}")
        return 0
    ids = args.ids or None
    count = await store.write(lambda tx: tx.outbox_requeue(ids, utcnow()))
    print(f"{count} deliver{'y' if count == 1 else 'ies'} queued for retry "
          "(a running service picks them up within 30 s)")
    return 0
