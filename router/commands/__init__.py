"""CLI sub-commands: one module per command, each with `register(subparsers)`.

`router.cli` discovers the modules here, so adding a command is adding a file.
A module defines `register(sub: argparse._SubParsersAction) -> None`, which adds its
parser and sets `func=run` where `run(args) -> int` is the exit code.
"""
