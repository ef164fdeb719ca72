"""Agent passwords: argon2id hashes (argon2-cffi), never the password itself.

`verify` spends the same time whether or not the agent exists (a dummy hash is checked
for unknown names), so the sign-in form does not reveal which agent names are real.
"""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)

MIN_LENGTH = 10
_hasher = PasswordHasher()  # argon2id with the library's current (RFC 9106) parameters
_DUMMY = _hasher.hash("not-a-real-password-0000")


class WeakPassword(ValueError):
    pass


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
