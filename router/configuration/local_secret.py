"""Signing keys that work out of the box: an environment variable, else a file.

A random key per process would sign everyone out on every restart. So: an admin who runs
several instances exports the same variable (16+ characters) on all of them; a single
instance creates `<data_dir>/<name>.secret` (mode 0600) once and keeps using it.
Deleting that file (or changing the variable) signs everyone out. Used for console
sessions (`CONSOLE_SECRET`), web chat visitor tokens (`WEBCHAT_SECRET`) and CSAT rating
links and buttons (`CSAT_SECRET`).

Commands that only look (`check`, `try`) must not leave files behind: `lazy_secret`
defers `load_secret` until a key is first used, and `peek_secret` never writes at all.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _from_env(name: str) -> str:
    env = f"{name.upper()}_SECRET"
    given = os.environ.get(env, "")
    if given and len(given) < 16:
        raise ValueError(f"{env} needs at least 16 characters")  # never the value itself
    return given


def load_secret(data_dir: Path, name: str = "console") -> str:
    """`<NAME>_SECRET` from the environment, else `<data_dir>/<name>.secret` (made once)."""
    given = _from_env(name)
    if given:
        return given
    path = data_dir / f"{name}.secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    log.info("created %s (a signing key; keep it with the data)", path)
    return value


def lazy_secret(data_dir: Path, name: str) -> Callable[[], str]:
    """`load_secret(data_dir, name)` on the first call, remembered after it."""
    return functools.cache(functools.partial(load_secret, data_dir, name))


def peek_secret(data_dir: Path, name: str) -> Callable[[], str]:
    """The key `load_secret` would give, without creating it: the variable, else the
    file if it exists, else a throwaway key for this process (dry runs sign with it)."""

    def peek() -> str:
        given = _from_env(name)
        if given:
            return given
        try:
            return (data_dir / f"{name}.secret").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return secrets.token_urlsafe(32)

    return functools.cache(peek)
