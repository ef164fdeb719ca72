"""Disabling and enabling agents, with the desk's one invariant about admins.

The last active (enabled) admin cannot be disabled, by anyone, themselves included: the
desk would have nobody left to re-enable agents, issue tokens or merge contacts. The
check locks every admin row (in name order, so two concurrent disables cannot deadlock)
and counts again under the lock, so two admins disabling each other at the same moment
on PostgreSQL leave one of them enabled.
"""

from __future__ import annotations

from datetime import datetime

from router.domain.agent_errors import ConflictError, NotFoundError
from router.domain.model import Agent, Event, Role
from router.engine import audit
from router.store.base import Tx

#: the profile fields an `agent_changed` audit record names when they change
PROFILE = ("display_name", "email", "role", "languages", "capacity")


async def _existing(tx: Tx, name: str, *, lock: bool = True) -> Agent:
    agent = await tx.get_agent(name, for_update=lock)
    if agent is None:
        raise NotFoundError(f"agent '{name}' does not exist")
    return agent


async def _active_admins(tx: Tx) -> list[str]:
    admins = sorted(a.name for a in await tx.list_agents() if a.role == Role.ADMIN)
    for name in admins:
        await tx.get_agent(name, for_update=True)
    return [a.name for a in await tx.list_agents(include_disabled=False) if a.role == Role.ADMIN]


async def disable(tx: Tx, name: str, by: audit.Actor, now: datetime) -> bool:
    """Disable `name` (offline, tokens refused); False if it already was.

    ConflictError (HTTP 409) if `name` is the last active admin."""
    target = await _existing(tx, name, lock=False)
    if target.role == Role.ADMIN:
        active = await _active_admins(tx)  # locks the target too, in order with the others
        target = await _existing(tx, name)
    else:
        target, active = await _existing(tx, name), []
    if target.disabled:
        return False
    if target.role == Role.ADMIN and active == [name]:
        raise ConflictError(f"'{name}' is the last active admin and cannot be disabled; "
                            "make or enable another admin first")
    await tx.set_agent_disabled(name, True)
    await tx.set_agent_online(name, False, now)
    await tx.insert_event(Event(0, "agent_disabled", now, None, by.name, {"agent": name}))
    await audit.record(tx, by, "agent_disabled", f"agent:{name}", now=now)
    return True


async def save(tx: Tx, agent: Agent, now: datetime, by: audit.Actor = audit.SYSTEM) -> None:
    """Store `agent` (agents add); ConflictError if that demotes the last active admin."""
    old = await tx.get_agent(agent.name)
    if old is not None and old.role == Role.ADMIN and not old.disabled \
            and agent.role != Role.ADMIN and await _active_admins(tx) == [agent.name]:
        raise ConflictError(f"'{agent.name}' is the last active admin and cannot become "
                            f"{agent.role}; make or enable another admin first")
    await tx.upsert_agent(agent, now)
    await audit_saved(tx, old, agent, by, now)


async def audit_saved(tx: Tx, old: Agent | None, new: Agent, by: audit.Actor,
                      now: datetime) -> None:
    """`agent_added`, or `agent_changed` naming the fields that changed (a role change
    with its old and new role); nothing when nothing changed."""
    if old is None:
        await audit.record(tx, by, "agent_added", f"agent:{new.name}", now=now,
                           detail={"role": str(new.role)})
        return
    changed = [f for f in PROFILE if getattr(old, f) != getattr(new, f)]
    if changed:
        detail: dict[str, object] = {"fields": changed}
        if "role" in changed:
            detail["role"] = [str(old.role), str(new.role)]
        await audit.record(tx, by, "agent_changed", f"agent:{new.name}", now=now, detail=detail)


async def enable(tx: Tx, name: str, by: audit.Actor, now: datetime) -> bool:
    """Enable `name` again (it signs in offline); False if it was not disabled."""
    target = await _existing(tx, name)
    if not target.disabled:
        return False
    await tx.set_agent_disabled(name, False)
    await tx.insert_event(Event(0, "agent_enabled", now, None, by.name, {"agent": name}))
    await audit.record(tx, by, "agent_enabled", f"agent:{name}", now=now)
    return True
