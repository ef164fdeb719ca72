"""`inquiry-router faq suggest`: question variants learnt from agents and customers.

The suggestions come from router/engine/faq_suggest.py and are printed as a unified diff of
the YAML files that define the entries (router/engine/faq_patch.py), or as JSON with `--json`.
Nothing is written unless `--apply` is given; then the files are changed only if the
result still loads, and a running service picks the new variants up by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from router.commands._common import DEFAULT_CONFIG, add_config_arg, load_or_report
from router.config import Config
from router.domain.errors import RouterError
from router.store import open_store, utcnow

if TYPE_CHECKING:
    from router.engine.faq_kb import KnowledgeBase
    from router.engine.faq_patch import Patch
    from router.engine.faq_suggest import Suggestion


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got '{value}'")
    return number


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("faq", help="the FAQ knowledge base: suggest new question variants")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="faq_command", metavar="ACTION")
    actions.required = True
    s = actions.add_parser(
        "suggest", help="propose question variants from conversations, as a YAML diff",
        description="Customer messages that agents answered with an FAQ entry's answer, or "
                    "that a customer confirmed through 'Did you mean', proposed as new "
                    "question variants of the entry. Prints a unified diff (apply it with "
                    "`patch -p0` or `git apply`, or give --apply); nothing is written "
                    "without --apply.")
    s.add_argument("--config", "-c", default=argparse.SUPPRESS,
                   help=f"path to config.yaml (default: {DEFAULT_CONFIG})")
    s.add_argument("--since", default="90d", help="evidence since this long ago (90d, 2w, "
                   "12h) or since this day (YYYY-MM-DD); default: %(default)s")
    s.add_argument("--min-count", type=_positive, default=1,
                   help="only variants seen at least this often (default: %(default)s)")
    s.add_argument("--limit", type=_positive, default=100,
                   help="at most this many, most often seen first (default: %(default)s)")
    s.add_argument("--json", action="store_true", help="the suggestions as JSON, not a diff")
    s.add_argument("--apply", action="store_true",
                   help="write the new variants into the YAML files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here: they need the bots package, and every command is imported for --help
    from router.engine.faq_kb import KnowledgeBase
    from router.engine.faq_patch import plan
    from router.engine.faq_suggest import parse_since

    # the FAQ must be valid (rules and bots compile) before we propose edits of it
    config = load_or_report(args.config)
    if config is None:
        return 1
    try:
        since = parse_since(args.since, utcnow())
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return 2
    kb = KnowledgeBase.from_data(config.source.data)
    if not kb.entries:
        return _nothing(args, "the configuration has no FAQ entries (faq: in docs/bots.md)")
    try:
        found = asyncio.run(_suggestions(config, kb, since, args))
    except (RouterError, OSError) as exc:
        print(f"error: cannot read the store: {exc}", file=sys.stderr)
        return 1
    if not found:
        return _nothing(args, f"nothing to suggest: no new question variants since "
                              f"{since:%Y-%m-%d}")
    try:
        patch = plan(config.source, kb, found, base=Path.cwd())
    except (OSError, ValueError) as exc:
        print(f"error: cannot prepare the change of the FAQ files: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([s.as_dict() for s in found], indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(patch.diff())
    if args.apply:
        return _apply(args, patch)
    n = len(found)
    print(f"{n} suggestion{'s' if n != 1 else ''} since {since:%Y-%m-%d}; nothing was "
          "written: review them, then apply with --apply (or save the diff and run "
          "`patch -p0 < FILE`)", file=sys.stderr)
    return 0


def _nothing(args: argparse.Namespace, why: str) -> int:
    if args.json:
        print("[]")
    print(why, file=sys.stderr)
    return 0


async def _suggestions(config: Config, kb: KnowledgeBase, since: datetime,
                       args: argparse.Namespace) -> list[Suggestion]:
    from router.engine.faq_suggest import suggest

    store = open_store(config.settings.storage.url, base_dir=Path(config.path).resolve().parent)
    await store.open()
    try:
        return await suggest(store, kb, since, min_count=args.min_count, limit=args.limit)
    finally:
        await store.close()


def _apply(args: argparse.Namespace, patch: Patch) -> int:
    """Write the files, then make sure the configuration still loads; if it does not,
    put the old text back (nothing changed) and say why."""
    written = patch.write()
    if load_or_report(args.config) is None:
        patch.restore()
        print("error: the configuration would not load with these variants; nothing was "
              "changed", file=sys.stderr)
        return 1
    for path, name in zip(patch.files, written, strict=True):
        n = patch.added[path]
        print(f"wrote {name} ({n} new question variant{'s' if n != 1 else ''})",
              file=sys.stderr)
    print("a running service reloads the FAQ by itself", file=sys.stderr)
    return 0
