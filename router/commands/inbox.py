"""`inquiry-router inbox list|retry`: messages acknowledged but not processed yet.

With `service.acknowledge: stored` a webhook's message is stored, acknowledged and
processed afterwards (router/engine/backlog.py). A message whose processing raised stays in the
inbox, marked failed with the reason; after a fix, `retry` hands it back to the service.
"""

from __future__ import annotations

import argparse

from router.commands._common import add_config_arg, run_with_store
from router.store import Store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("inbox", help="list or retry messages waiting for processing")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="inbox_command", metavar="ACTION")
    actions.required = True
    lister = actions.add_parser("list", help="counts, and the messages processing gave up on")
    lister.add_argument("--limit", type=int, default=100)
    retry = actions.add_parser("retry", help="process failed messages again")
    retry.add_argument("--channel", default=None, help="only this channel's messages")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_with_store(args, _run)


async def _run(args: argparse.Namespace, store: Store) -> int:
    if args.inbox_command == "list":
        counts = await store.read(lambda tx: tx.inbox_counts())
        print(f"{counts['pending']} waiting for processing, {counts['failed']} failed")
        for channel, external_id, received_at, reason in await store.read(
                lambda tx: tx.inbox_failures(args.limit)):
            print(f"{received_at}  {channel:<12} {external_id:<24} {reason}")
        return 0
    count = await store.write(lambda tx: tx.inbox_retry(args.channel))
    print(f"{count} message{'' if count == 1 else 's'} queued for processing again "
          "(a running service picks them up within 30 s, a starting one at once)")
    return 0
