"""Agent passwords: argon2id hashes (argon2-cffi), never the password itself.

`verify` spends the same time whether or not the agent exists (a dummy hash is checked
for unknown names), so the sign-in form does not reveal which agent names are real.

argon2 costs ~50 ms of CPU and 64 MiB per check on purpose. The service runs it in
`POOL`, a small dedicated thread pool (issue 22): never on the event loop, never in the
loop's default executor (which other work shares), and never more than WORKERS at once,
so a burst of sign-ins cannot starve webhooks and /healthz of CPU or memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)
T = TypeVar("T")

MIN_LENGTH = 10
WORKERS = max(1, min(2, (os.cpu_count() or 2) // 2))
MAX_QUEUED = 32  # checks waiting for a worker before sign-ins are answered "busy"
_hasher = PasswordHasher()  # argon2id with the library's current (RFC 9106) parameters
_DUMMY = _hasher.hash("not-a-real-password-0000")


class WeakPassword(ValueError):
    pass


class Busy(RuntimeError):
    """More password checks are waiting than MAX_QUEUED: try again in a moment."""


def hash_password(password: str) -> str:
    """The hash to store; WeakPassword (with the rule) for a password that is too short."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters (a passphrase is best)")
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; False for a mismatch, a missing or a broken hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and bool(stored_hash)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        log.warning("console: a stored password hash is not a valid argon2 hash")
        return False


def needs_rehash(stored_hash: str) -> bool:
    """After a successful sign-in: re-hash when the library's parameters got stronger."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


class HashPool:
    """argon2 off the event loop, at most `workers` at a time, a bounded queue."""

    def __init__(self, workers: int = WORKERS, max_queued: int = MAX_QUEUED) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self.max_pending = workers + max_queued
        self.pending = 0
        self.verified = 0  # password checks run (tests count them)

    async def _run(self, fn: Callable[..., T], *args: str | None) -> T:
        if self.pending >= self.max_pending:
            raise Busy("too many sign-ins at once")
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self.pending -= 1

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        self.verified += 1
        return await self._run(verify, stored_hash, password)

    async def hash_password(self, password: str) -> str:
        return await self._run(hash_password, password)


POOL = HashPool()
