"""The key that signs console sessions: `CONSOLE_SECRET`, else a file in the data dir.

The config schema has no console section, and a random key per process would sign
everyone out on every restart. So: an admin who runs several instances exports the same
`CONSOLE_SECRET` (16+ characters) on all of them; a single instance creates
`<data_dir>/console.secret` (mode 0600) once and keeps using it. Deleting that file (or
changing the variable) signs every agent out.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)
ENV = "CONSOLE_SECRET"
FILE = "console.secret"


def load_secret(data_dir: Path) -> str:
    given = os.environ.get(ENV, "")
    if given:
        if len(given) < 16:
            raise ValueError(f"{ENV} needs at least 16 characters")
        return given
    path = data_dir / FILE
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
    log.info("console: created %s (signs agents' sessions)", path)
    return value
