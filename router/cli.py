"""`inquiry-router` command line: discovers sub-commands in `router.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import router.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inquiry-router",
        description="Omnichannel inquiry router and chatbot.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(router.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"router.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
