"""`inquiry-router conversations list|show`: an admin's view of conversations from the terminal.

`show ID` prints what the customer wrote and what the bot and agents answered, with authors
and times: on the loopback channel (replies only logged) this is where to read the bot.
"""

from __future__ import annotations

import argparse
import sys

from router.commands._common import add_config_arg, run_with_store
from router.domain.model import Conversation, Message, Status
from router.store import Store, Tx
from router.store.base import ConversationFilter

STATUSES = [str(s) for s in Status]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("conversations", help="list conversations or show one, with its "
                            "messages")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="conversations_command", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="the newest conversations first")
    listing.add_argument("--status", choices=STATUSES, action="append", default=[],
                         help="only these statuses (repeat for several)")
    listing.add_argument("--queue", action="append", default=[],
                         help="only these queues (repeat for several)")
    listing.add_argument("--assignee", default=None, help="only those assigned to this agent")
    listing.add_argument("--limit", type=_positive, default=20, help="at most N (default 20)")
    show = actions.add_parser("show", help="one conversation: status, queue, assignee, messages")
    show.add_argument("id", type=_positive, metavar="ID")
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    work = _list if args.conversations_command == "list" else _show
    return run_with_store(args, work)


async def _list(args: argparse.Namespace, store: Store) -> int:
    flt = ConversationFilter(statuses=tuple(args.status), queues=tuple(args.queue),
                             assignee=args.assignee)
    found = await store.read(lambda tx: tx.list_conversations(flt, args.limit))
    if not found:
        print("no conversations match" if (args.status or args.queue or args.assignee)
              else "no conversations yet")
        return 0
    print(f"{'ID':>6}  {'STATUS':<9} {'QUEUE':<12} {'ASSIGNEE':<12} {'CHANNEL':<9} "
          f"{'MSGS':>4}  UPDATED")
    for c in found:
        print(f"{c.id:>6}  {c.status!s:<9} {c.queue or '-':<12} {c.assignee or '-':<12} "
              f"{c.channel:<9} {c.message_count:>4}  {_when(c.updated_at or c.created_at)}")
    return 0


async def _show(args: argparse.Namespace, store: Store) -> int:
    async def q(tx: Tx) -> tuple[Conversation | None, list[Message], str]:
        conv = await tx.get_conversation(args.id)
        if conv is None:
            return None, [], ""
        contact = await tx.get_contact(conv.contact_id)
        who = (contact.display_name or contact.email) if contact else ""
        return conv, await tx.list_messages(args.id), who or conv.recipient

    conv, messages, customer = await store.read(q)
    if conv is None:
        print(f"error: no conversation {args.id}; see: inquiry-router conversations list",
              file=sys.stderr)
        return 1
    print(f"conversation {conv.id} on {conv.channel} (thread {conv.thread_key})")
    print(f"status {conv.status}, queue {conv.queue or '-'}, assignee {conv.assignee or '-'}, "
          f"priority {conv.priority}, language {conv.language or '-'}")
    print(f"customer {customer or '-'}; opened {_when(conv.created_at)}")
    for m in messages:
        author = {"customer": customer or "customer", "agent": m.author_id or "agent"}.get(
            str(m.author_kind), str(m.author_kind))
        note = " (internal note)" if m.internal else ""
        print(f"\n[{_when(m.created_at)}] {author}{note}:")
        for line in (m.text or "(no text)").splitlines() or [""]:
            print(f"  {line}")
    return 0


def _when(at: object) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if hasattr(at, "strftime") else "-"
