"""Signing keys that work out of the box: an environment variable, else a file.

A random key per process would sign everyone out on every restart. So: an admin who runs
several instances exports the same variable (16+ characters) on all of them; a single
instance creates `<data_dir>/<name>.secret` (mode 0600) once and keeps using it.
Deleting that file (or changing the variable) signs everyone out. Used for console
sessions (`CONSOLE_SECRET`) and web chat visitor tokens (`WEBCHAT_SECRET`).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


def load_secret(data_dir: Path, name: str = "console") -> str:
    """`<NAME>_SECRET` from the environment, else `<data_dir>/<name>.secret` (made once)."""
    env = f"{name.upper()}_SECRET"
    given = os.environ.get(env, "")
    if given:
        if len(given) < 16:
            raise ValueError(f"{env} needs at least 16 characters")
        return given
    path = data_dir / f"{name}.secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    log.info("created %s (a signing key; keep it with the data)", path)
    return value
