"""API tokens: random, shown once, stored as a sha256 digest, revocable.

sha256 (not a slow password hash) is right here: the tokens are 256-bit random strings,
so there is nothing to brute-force, and every API request must verify one quickly.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from router.domain.agent_errors import NotFoundError
from router.domain.model import Agent, ApiToken
from router.engine import audit
from router.store.base import Tx

PREFIX = "irt_"  # makes a leaked token recognisable (and greppable by secret scanners)


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_token(tx: Tx, agent_name: str, now: datetime, label: str = "", *,
                      by: audit.Actor = audit.SYSTEM) -> str:
    """Make a token for `agent_name`; the caller shows it once, only its hash is stored."""
    agent = await tx.get_agent(agent_name)
    if agent is None:
        raise NotFoundError(f"agent '{agent_name}' does not exist; add it first")
    token = new_token()
    token_id = await tx.add_token(ApiToken(0, agent.id, hash_token(token), label, now))
    await audit.record(tx, by, "token_issued", f"agent:{agent_name}", now=now,
                       detail={"token_id": token_id, "label": label})
    return token


async def revoke(tx: Tx, agent_name: str, now: datetime, *,
                 by: audit.Actor = audit.SYSTEM) -> int:
    """Revoke every live token of `agent_name`; returns how many."""
    agent = await tx.get_agent(agent_name)
    if agent is None:
        raise NotFoundError(f"agent '{agent_name}' does not exist")
    count = await tx.revoke_tokens(agent.id, now)
    await audit.record(tx, by, "tokens_revoked", f"agent:{agent_name}", now=now,
                       detail={"count": count})
    return count


async def authenticate(tx: Tx, token: str) -> Agent | None:
    """The enabled agent owning this live token, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    found = await tx.find_token(hash_token(token))
    if found is None or found[1].disabled:
        return None
    return found[1]
