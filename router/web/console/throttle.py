"""Sign-in throttling shared by every instance through the store (issue 22).

An attempt is *reserved* before its password is checked: one write unit reads the
counters of the attempt's keys and, unless one of them is locked, counts the attempt as a
failure. Concurrent attempts therefore queue on the counters (PostgreSQL: advisory locks;
SQLite: the single writer) instead of all reading "not blocked" and checking 300 argon2
hashes. A successful sign-in gives its reservation back.

Three keys per attempt, each with its own limit per WINDOW:
- the account at this address (10): the attacker's own key; reaching it locks for
  WINDOW, then twice as long after each further lock-out (exponential back-off);
- the account from anywhere (30): guessing spread over many addresses;
- the address (100): higher, so an office behind one address is not locked out because
  one person there keeps mistyping, or one attacker hammers one account.
Lock-outs are forgotten after MEMORY of quiet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from router.store.base import SigninLimit, Tx

WINDOW_MS = 300_000  # failures are counted per 5 minutes
MAX_LOCK_MS = 6 * 3600_000  # back-off doubles up to 6 hours
MEMORY_MS = 24 * 3600_000  # strikes forgotten after a quiet day
ACCOUNT_AT_ADDRESS, ACCOUNT, ADDRESS = 10, 30, 100


def keys_for(account: str | None, address: str) -> list[tuple[str, int]]:
    """(key, failures per window) for an attempt; `account` is None for token sign-ins,
    which count as guesses of one pseudo-account per address (10, like a password)."""
    found = [(f"addr:{address}", ADDRESS)]
    if account is not None:
        found += [(f"acct:{account}", ACCOUNT), (f"acct:{account}@{address}", ACCOUNT_AT_ADDRESS)]
    else:
        found.append((f"token@{address}", ACCOUNT_AT_ADDRESS))
    return found


def charge(cur: SigninLimit, limit: int, now: int) -> SigninLimit:
    """`cur` with one more failure; reaching `limit` starts the next (doubled) lock-out."""
    strikes = 0 if now - cur.updated_at > MEMORY_MS else cur.strikes
    failures, start = (cur.failures, cur.window_start) if now - cur.window_start < WINDOW_MS \
        else (0, now)
    failures += 1
    blocked = cur.blocked_until
    if failures >= limit:
        strikes += 1
        blocked = now + min(WINDOW_MS * 2 ** min(strikes - 1, 30), MAX_LOCK_MS)
        failures, start = 0, now
    return SigninLimit(cur.key, failures, start, strikes, blocked, now)


async def reserve(tx: Tx, keys: Sequence[tuple[str, int]], now: int) -> float:
    """Count the attempt under every key, or refuse it: seconds to wait, 0 when reserved."""
    found = {x.key: x for x in await tx.signin_limits([k for k, _ in keys])}
    wait = max((x.blocked_until - now for x in found.values()), default=0)
    if wait > 0:
        return wait / 1000
    fresh = [charge(found.get(k) or SigninLimit(k, 0, now, 0, 0, now), limit, now)
             for k, limit in keys]
    await tx.save_signin_limits(fresh, forget_before=now - MEMORY_MS)
    return 0.0


async def release(tx: Tx, keys: Sequence[tuple[str, int]]) -> None:
    """After a successful sign-in: the account at this address starts afresh; the other
    counters give back the reserved attempt (a lock-out it started stays)."""
    names = [k for k, _ in keys]
    pair = names[2:]  # keys_for puts the account-at-this-address key last
    await tx.delete_signin_limits(pair)
    found = await tx.signin_limits([k for k in names if k not in pair])
    back = [dataclasses.replace(x, failures=x.failures - 1) for x in found if x.failures > 0]
    if back:
        await tx.save_signin_limits(back, forget_before=0)
