"""`inquiry-router agents add|list|disable|enable|token|passwd`: manage agents, API tokens, passwords.

A token is printed once, when it is made; only its sha256 is stored, so a lost token is
revoked (`token NAME --revoke`) and replaced, never recovered.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from router.agents import auth, roster
from router.commands._common import add_config_arg, load_or_report
from router.config import Config
from router.errors import RouterError
from router.model import Agent, Role
from router.store import Store, Tx, open_store, utcnow


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("agents", help="add, list, disable or enable agents; issue API "
                            "tokens")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="agents_command", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="add (or update) an agent")
    add.add_argument("name")
    add.add_argument("--display-name", default="")
    add.add_argument("--email", default="")
    add.add_argument("--role", choices=["admin", "agent"], default="agent")
    add.add_argument("--languages", default="", help="comma-separated, e.g. sv,en")
    add.add_argument("--capacity", type=int, default=5)
    actions.add_parser("list", help="list agents")
    disable = actions.add_parser("disable", help="disable an agent (its tokens stop working)")
    disable.add_argument("name")
    enable = actions.add_parser("enable", help="enable a disabled agent again")
    enable.add_argument("name")
    token = actions.add_parser("token", help="issue an API token (printed once) or revoke all")
    token.add_argument("name")
    token.add_argument("--label", default="")
    token.add_argument("--revoke", action="store_true", help="revoke every token of NAME")
    # console (issue 7): a password for signing in to /console
    passwd = actions.add_parser("passwd", help="set the agent's console password (argon2id)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (scripts)")
    passwd.add_argument("--clear", action="store_true", help="remove the password")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    try:
        return asyncio.run(_run(args, config))
    except RouterError as exc:
        print(f"error: {exc}")
        return 1


async def _run(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config.settings.storage.url, base_dir=Path(config.path).resolve().parent)
    await store.open()
    try:
        return await COMMANDS[args.agents_command](args, store)
    finally:
        await store.close()


async def _add(args: argparse.Namespace, store: Store) -> int:
    if args.capacity < 1:
        print("error: --capacity must be at least 1")
        return 1
    agent = Agent(0, args.name, display_name=args.display_name or args.name, email=args.email,
                  role=Role(args.role), capacity=args.capacity, source="cli",
                  languages=[x.strip() for x in args.languages.split(",") if x.strip()])
    await store.write(lambda tx: tx.upsert_agent(agent, utcnow()))
    print(f"agent {agent.name} ({agent.role}, capacity {agent.capacity}) saved; "
          f"make a token with: inquiry-router agents token {agent.name}")
    return 0


async def _list(args: argparse.Namespace, store: Store) -> int:
    async def q(tx: Tx) -> tuple[list[Agent], dict[str, int]]:
        return await tx.list_agents(), await tx.agent_loads()

    agents, loads = await store.read(q)
    if not agents:
        print("no agents yet; add one with: inquiry-router agents add NAME")
    for a in agents:
        state = "disabled" if a.disabled else ("online" if a.online else "offline")
        print(f"{a.name:<20} {a.role:<6} {state:<8} load {loads.get(a.name, 0)}/{a.capacity:<3} "
              f"{','.join(a.languages) or '-':<12} {a.email}")
    return 0


async def _disable(args: argparse.Namespace, store: Store) -> int:
    """Refused (exit 1) for the last active admin, as in the API (`router.agents.roster`)."""
    if not await store.write(lambda tx: roster.disable(tx, args.name, "cli", utcnow())):
        print(f"agent {args.name} was already disabled")
        return 0
    print(f"agent {args.name} disabled; its tokens no longer work "
          f"(undo with: inquiry-router agents enable {args.name})")
    return 0


async def _enable(args: argparse.Namespace, store: Store) -> int:
    if not await store.write(lambda tx: roster.enable(tx, args.name, "cli", utcnow())):
        print(f"agent {args.name} was not disabled")
        return 0
    print(f"agent {args.name} enabled; tokens it had before work again")
    return 0


async def _token(args: argparse.Namespace, store: Store) -> int:
    if args.revoke:
        count = await store.write(lambda tx: auth.revoke(tx, args.name, utcnow()))
        print(f"revoked {count} token{'s' if count != 1 else ''} of {args.name}")
        return 0
    token = await store.write(lambda tx: auth.issue_token(tx, args.name, utcnow(), args.label))
    print(token)
    print(f"(API token for {args.name}: shown once, store it now; only its hash is kept)")
    return 0


# --- console (issue 7) ----------------------------------------------------------------
def _read_password(args: argparse.Namespace) -> str | None:
    """From stdin (one line) or asked twice without echo; None when the two differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"New console password for {args.name}: ")
    return first if getpass.getpass("Again: ") == first else None


async def _passwd(args: argparse.Namespace, store: Store) -> int:
    from router.console.passwords import WeakPassword, hash_password

    stored: str | None = None
    if not args.clear:
        password = _read_password(args)
        if password is None:
            print("error: the passwords differ; nothing changed")
            return 1
        try:
            stored = hash_password(password)
        except WeakPassword as exc:
            print(f"error: {exc}")
            return 1
    if not await store.write(lambda tx: tx.set_agent_password(args.name, stored)):
        print(f"error: no agent named {args.name}; add it first: inquiry-router agents add NAME")
        return 1
    print(f"console password of {args.name} {'removed' if args.clear else 'set'}")
    return 0


COMMANDS = {"add": _add, "list": _list, "disable": _disable, "enable": _enable, "token": _token,
            "passwd": _passwd}
