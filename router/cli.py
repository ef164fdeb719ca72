"""`inquiry-router` command line: discovers sub-commands in `router.commands`."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import router.commands
from router.domain.errors import RouterError

# Commands whose module is not named after them (the rest: module = command name).
MODULE_OF = {"try": "try_", "parse-email": "parse_email", "export-contact": "privacy",
             "erase-contact": "privacy", "email-oauth": "email_oauth"}


def _module_for(argv: list[str]) -> str | None:
    """The one module the command line needs, or None (help, or an unknown command).

    Importing every command pulls in the whole service (aiohttp, the store, channels):
    `check` on a hostile file must stay small and fast, so only its own module loads.
    """
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None or first.startswith("_"):
        return None
    name = MODULE_OF.get(first, first)
    known = {m.name for m in pkgutil.iter_modules(router.commands.__path__)}
    return name if name in known else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inquiry-router",
        description="Omnichannel inquiry router and chatbot.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(router.commands.__path__), key=lambda m: m.name):
        if only is not None and info.name != only:
            continue
        module = importlib.import_module(f"router.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


UNEXPECTED = "error: unexpected"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_module_for(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except RouterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file or address the admin named: no traceback for that
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("INQUIRY_ROUTER_DEBUG"):
            raise
        print(f"{UNEXPECTED} {type(exc).__name__}: {exc} (a bug: please report it; "
              f"INQUIRY_ROUTER_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
