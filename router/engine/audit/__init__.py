"""The audit log (issue 29): who did what, when, from where, to which object.

A record is written inside the unit of work of the action it records wherever that
action is a store write (a merge, an erasure, a role change, a token), so an action and
its record commit together or not at all; actions that change nothing in the store (an
export, a report download, a configuration reload, a failed sign-in) write their record
in a unit of its own right after. Records name ids and counts, never message text or a
contact's personal data: erasing a contact leaves `contact_erased` naming its id only.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from router.domain.model import Agent
from router.store.base import AuditRecord, Tx, ts

#: every action the log records, with what it means (the CLI and the API list them)
ACTIONS: Mapping[str, str] = {
    "signin": "a console sign-in succeeded (detail.method: password, token, +totp, "
              "+recovery_code)",
    "signin_failed": "a console sign-in was refused (detail.step: password, token, code)",
    "agent_added": "an agent was created",
    "agent_changed": "an agent's profile or role changed (detail: the changed fields)",
    "agent_disabled": "an agent was disabled",
    "agent_enabled": "an agent was enabled again",
    "password_set": "an agent's console password was set",
    "password_cleared": "an agent's console password was removed",
    "two_factor_enabled": "an agent enrolled in two-factor sign-in",
    "two_factor_disabled": "an agent turned two-factor sign-in off",
    "two_factor_reset": "an admin removed an agent's two-factor enrolment",
    "recovery_codes_renewed": "an agent replaced their recovery codes",
    "token_issued": "an API token was issued",
    "tokens_revoked": "API tokens were revoked",
    "config_reloaded": "the configuration was reloaded (detail.files: what changed)",
    "config_reload_rejected": "a configuration change was refused (detail.files)",
    "contact_exported": "a contact's data was exported",
    "contact_erased": "a contact was erased (the record names its id only)",
    "contacts_merged": "a contact was merged into another (by an agent, or by the system when "
                       "a web chat visitor signed in as a known customer)",
    "contact_changed": "a contact's name, email, phone or notes were edited (detail.fields: "
                       "which ones, never their values)",
    "macro_added": "a macro was created (detail: name, shared)",
    "macro_changed": "a macro was edited (detail: name, shared, the changed fields)",
    "macro_deleted": "a macro was deleted (detail: name, shared)",
    "report_downloaded": "a report was downloaded or written to a file",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: `agent:NAME`, `cli:USER`, `config`, `system`, or "" for an unknown
    account; `source` is the client's address, `cli`, or "" (the service itself)."""

    name: str
    source: str = ""


SYSTEM = Actor("system")
CONFIG = Actor("config")


def by_agent(agent: Agent | str, source: str | None = "") -> Actor:
    name = agent if isinstance(agent, str) else agent.name
    return Actor(f"agent:{name}", source or "")


def cli() -> Actor:
    """The person at the terminal, as the operating system names them."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container, say)
        user = "?"
    return Actor(f"cli:{user}", "cli")


async def record(tx: Tx, actor: Actor, action: str, obj: str = "", *, now: datetime,
                 detail: Mapping[str, Any] | None = None) -> int:
    """Add one record in `tx` (the unit of the action it records)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to router.engine.audit.ACTIONS")
    return await tx.audit_add(AuditRecord(0, now, actor.name, action, obj, actor.source,
                                          dict(detail or {})))


async def report_made(tx: Tx, by: Actor, start: datetime, end: datetime, *, fmt: str,
                      grouping: str, now: datetime) -> int:
    """`report_downloaded`: the period, format and breakdown (API download or CLI)."""
    return await record(tx, by, "report_downloaded", "report", now=now, detail={
        "format": fmt, "by": grouping, "start": ts(start), "end": ts(end)})
