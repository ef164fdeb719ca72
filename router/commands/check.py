"""`inquiry-router check`: validate the configuration (and rules) without starting."""

from __future__ import annotations

import argparse

from router.commands._common import add_config_arg, load_or_report


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("check", help="validate config.yaml and the rules it includes")
    add_config_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    s = config.settings
    channels = ", ".join(sorted(config.channels)) or "none"
    print(f"{args.config}: OK ({len(s.queues)} queues, {len(s.agents)} agents, channels: {channels})")
    return 0
