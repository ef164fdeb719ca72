"""`inquiry-router export-contact` and `erase-contact`: a contact's data, out or gone.

The contact is named by id, `--email` or `--identity channel:id`. Erasure asks for
`--yes`, because it cannot be undone; it prints counts, never the data.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from router.commands._common import add_config_arg, load_or_report
from router.config import Config
from router.domain.agent_errors import NotFoundError
from router.engine import audit
from router.engine.privacy.erase import erase_contact
from router.engine.privacy.export import export_contact, resolve_contact
from router.store import Store, open_store

T = TypeVar("T")


def _who(parser: argparse.ArgumentParser) -> None:
    add_config_arg(parser)
    parser.add_argument("contact_id", nargs="?", type=int, help="the contact's id")
    parser.add_argument("--email", default="", help="the contact's email address")
    parser.add_argument("--phone", default="", help="the contact's phone number")
    parser.add_argument("--identity", default="", metavar="CHANNEL:ID",
                        help="an identity, e.g. telegram:123456 or email:a@b.se")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export-contact", help="everything stored about a contact, as JSON")
    _who(export)
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(func=run_export)
    erase = sub.add_parser("erase-contact", help="erase a contact everywhere (keeps aggregates)")
    _who(erase)
    erase.add_argument("--yes", action="store_true", help="really erase (cannot be undone)")
    erase.set_defaults(func=run_erase)


async def _open(config: Config) -> Store:
    store = open_store(config.settings.storage.url, base_dir=Path(config.path).resolve().parent)
    await store.open()
    # issue 27: an erasure tells the webhook endpoints (`contact.erased`); the running
    # service delivers it
    from router.engine.integrations.webhooks.hooks import attach

    attach(store, config.settings.webhooks)
    return store


async def _resolve(store: Store, args: argparse.Namespace) -> int:
    return await resolve_contact(store, contact_id=args.contact_id, email=args.email,
                                 phone=args.phone, identity=args.identity)


def _check(args: argparse.Namespace) -> Config | None:
    if args.contact_id is None and not (args.email or args.phone or args.identity):
        print("error: name the contact: an id, --email, --phone or --identity", file=sys.stderr)
        return None
    return load_or_report(args.config, with_rules=False)


async def _on_contact(config: Config, args: argparse.Namespace,
                      action: Callable[[Store, int, Path], Awaitable[T]]) -> T | None:
    """Open the store, find the contact the arguments name, run `action` on it.

    None (after saying why on stderr) when no contact matches."""
    store = await _open(config)
    try:
        return await action(store, await _resolve(store, args), config.data_path())
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    finally:
        await store.close()


def run_export(args: argparse.Namespace) -> int:
    config = _check(args)
    if config is None:
        return 2

    async def go() -> int:
        doc = await _on_contact(config, args, functools.partial(export_contact, by=audit.cli()))
        if doc is None:
            return 1
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"contact {doc['contact_id']} exported to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0

    return asyncio.run(go())


def run_erase(args: argparse.Namespace) -> int:
    config = _check(args)
    if config is None:
        return 2
    if not args.yes:
        print("error: erasure cannot be undone; add --yes (export first with export-contact)",
              file=sys.stderr)
        return 2

    async def go() -> int:
        result = await _on_contact(config, args, functools.partial(erase_contact, by=audit.cli()))
        if result is None:
            return 1
        rows = ", ".join(f"{k} {v}" for k, v in sorted(result.rows.items()))
        print(f"contact {result.contact_id} erased ({rows}; files {result.files})")
        return 0

    return asyncio.run(go())
