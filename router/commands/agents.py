"""`inquiry-router agents add|list|disable|enable|token|passwd|2fa`: manage agents, API tokens,
passwords and two-factor sign-in.

A token is printed once, when it is made; only its sha256 is stored, so a lost token is
revoked (`token NAME --revoke`) and replaced, never recovered.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from router.commands._common import add_config_arg, load_or_report
from router.config import Config
from router.domain.errors import RouterError
from router.domain.model import Agent, Role
from router.engine import audit
from router.engine.agents import auth, roster
from router.store import Store, Tx, open_store, utcnow


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("agents", help="add, list, disable or enable agents; issue API "
                            "tokens")
    add_config_arg(parser)
    actions = parser.add_subparsers(dest="agents_command", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="add (or update) an agent; options not given keep "
                             "their current value")
    add.add_argument("name")
    add.add_argument("--display-name", default=None)
    add.add_argument("--email", default=None)
    add.add_argument("--role", choices=["admin", "agent"], default=None,
                     help="default: agent for a new one")
    add.add_argument("--languages", default=None, help="comma-separated, e.g. sv,en")
    add.add_argument("--capacity", type=int, default=None, help="default: 5 for a new one")
    add.add_argument("--force", action="store_true",
                     help="change an agent defined in config.yaml (better: edit config.yaml)")
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
    # two-factor sign-in (issue 29)
    two = actions.add_parser("2fa", help="show an agent's two-factor sign-in; --reset removes "
                             "it (a lost phone without recovery codes)")
    two.add_argument("name")
    two.add_argument("--reset", action="store_true",
                     help="remove the enrolment and its recovery codes (the agent enrols again)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config, with_rules=False)
    if config is None:
        return 1
    args.config_agents, args.loaded = set(config.settings.agents), config
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
    if args.capacity is not None and args.capacity < 1:
        print("error: --capacity must be at least 1")
        return 1
    old = await store.read(lambda tx: tx.get_agent(args.name))
    if (args.name in args.config_agents or (old and old.source == "config")) and not args.force:
        print(f"error: agent {args.name} is defined in {args.config}; change it there (it is "
              f"read at every start), or pass --force to change the stored copy anyway")
        return 1
    if old is None and args.name in args.config_agents:
        old = _config_agent(args)  # not stored yet: start from what config.yaml says
    agent = _merged(args, old)
    from router.engine.agents import roster

    await store.write(lambda tx: roster.save(tx, agent, utcnow(), audit.cli()))
    print(f"agent {agent.name} ({agent.role}, capacity {agent.capacity}) saved; next, give "
          f"{agent.name} a console password: inquiry-router agents passwd {agent.name}")
    return 0


def _merged(args: argparse.Namespace, old: Agent | None) -> Agent:
    """The agent as stored after `add`: what was given, else what was there, else defaults."""
    base = old or Agent(0, args.name, display_name=args.name, source="cli")
    languages = ([x.strip() for x in args.languages.split(",") if x.strip()]
                 if args.languages is not None else list(base.languages))
    return Agent(0, args.name, display_name=_given(args.display_name, base.display_name),
                 email=_given(args.email, base.email),
                 role=Role(_given(args.role, str(base.role))),
                 capacity=base.capacity if args.capacity is None else args.capacity,
                 source=base.source, languages=languages)


def _config_agent(args: argparse.Namespace) -> Agent:
    from router.engine.agents.policy import config_agents

    return next(a for a in config_agents(args.loaded) if a.name == args.name)


def _given(value: str | None, current: str) -> str:
    return current if value is None else value


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
    """Refused (exit 1) for the last active admin, as in the API (`router.engine.agents.roster`)."""
    if not await store.write(lambda tx: roster.disable(tx, args.name, audit.cli(), utcnow())):
        print(f"agent {args.name} was already disabled")
        return 0
    print(f"agent {args.name} disabled; its tokens no longer work "
          f"(undo with: inquiry-router agents enable {args.name})")
    return 0


async def _enable(args: argparse.Namespace, store: Store) -> int:
    if not await store.write(lambda tx: roster.enable(tx, args.name, audit.cli(), utcnow())):
        print(f"agent {args.name} was not disabled")
        return 0
    print(f"agent {args.name} enabled; tokens it had before work again")
    return 0


async def _token(args: argparse.Namespace, store: Store) -> int:
    if args.revoke:
        count = await store.write(lambda tx: auth.revoke(tx, args.name, utcnow(), by=audit.cli()))
        print(f"revoked {count} token{'s' if count != 1 else ''} of {args.name}")
        return 0
    token = await store.write(lambda tx: auth.issue_token(tx, args.name, utcnow(), args.label,
                                                          by=audit.cli()))
    print(token)
    print(f"(API token for {args.name}: shown once, store it now; only its hash is kept)")
    return 0


# --- console (issue 7) ----------------------------------------------------------------
def _has_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


class NoTerminal(RouterError):
    """`passwd` was asked to prompt, but there is no terminal to prompt on."""


def _read_password(args: argparse.Namespace) -> str | None:
    """From stdin (one line) or asked twice without echo; None when the two differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _has_terminal():
        raise NoTerminal(
            f"no terminal to ask for the password on; pass it on stdin instead: "
            f"printf '%s\\n' 'a long passphrase' | inquiry-router agents passwd {args.name} "
            f"--password-stdin")
    first = getpass.getpass(f"New console password for {args.name}: ")
    return first if getpass.getpass("Again: ") == first else None


async def _passwd(args: argparse.Namespace, store: Store) -> int:
    from router.web.console.passwords import WeakPassword, hash_password

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
    if args.name in args.config_agents and not await store.read(
            lambda tx: tx.get_agent(args.name)):
        # defined in config.yaml, not stored yet (the service stores them when it starts)
        agent = _config_agent(args)

        async def store_it(tx: Tx) -> None:
            await tx.upsert_agent(agent, utcnow())
            await roster.audit_saved(tx, None, agent, audit.CONFIG, utcnow())

        await store.write(store_it)
    async def unit(tx: Tx) -> bool:
        if not await tx.set_agent_password(args.name, stored):
            return False
        await audit.record(tx, audit.cli(), "password_cleared" if stored is None
                           else "password_set", f"agent:{args.name}", now=utcnow())
        return True

    if not await store.write(unit):
        print(f"error: no agent named {args.name}; add it first: inquiry-router agents add NAME")
        return 1
    print(f"console password of {args.name} {'removed' if args.clear else 'set'}")
    return 0


async def _two_factor(args: argparse.Namespace, store: Store) -> int:
    agent = await store.read(lambda tx: tx.get_agent(args.name))
    if agent is None:
        print(f"error: no agent named {args.name}")
        return 1
    if not args.reset:
        found = await store.read(lambda tx: tx.get_two_factor(agent.id))
        state = "on" if found and found.enabled_at else "off"
        left = f", {found.recovery_left} recovery codes left" if state == "on" and found else ""
        print(f"two-factor sign-in of {args.name}: {state}{left}")
        return 0

    async def unit(tx: Tx) -> bool:
        if not await tx.delete_two_factor(agent.id):
            return False
        await audit.record(tx, audit.cli(), "two_factor_reset", f"agent:{args.name}", now=utcnow())
        return True

    if await store.write(unit):
        print(f"two-factor sign-in of {args.name} removed; they set it up again in the console")
    else:
        print(f"{args.name} had no two-factor sign-in")
    return 0


COMMANDS = {"add": _add, "list": _list, "disable": _disable, "enable": _enable, "token": _token,
            "passwd": _passwd, "2fa": _two_factor}
