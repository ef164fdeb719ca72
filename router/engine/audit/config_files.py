"""Which configuration files a reload changed: digests of the files as last loaded.

The audit log names the files of each reload (issue 29), whatever started it (the file
watcher or `kill -HUP`): the files' sha256 digests as the running configuration was
read are compared with the files now. A refused change keeps the old digests, so the
next accepted reload names everything that changed since the running configuration.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path


class ConfigFiles:
    def __init__(self, base: Path, paths: Callable[[], Iterable[str]]) -> None:
        """`base`: the directory of config.yaml (names are given relative to it)."""
        self.base = base
        self.paths = paths
        self.digests = self._read()

    def _read(self) -> dict[str, str]:
        found = {}
        for path in self.paths():
            try:
                found[str(Path(path).resolve())] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError:  # removed meanwhile: it counts as changed
                found[str(Path(path).resolve())] = ""
        return found

    def changed(self, *, accept: bool) -> list[str]:
        """Files added, removed or changed since the configuration running now; with
        `accept`, the files as they are now become that configuration."""
        now = self._read()
        names = sorted(p for p in now.keys() | self.digests.keys()
                       if now.get(p) != self.digests.get(p))
        if accept:
            self.digests = now
        return [self._name(p) for p in names]

    def _name(self, path: str) -> str:
        rel = os.path.relpath(path, self.base)
        return path if rel.startswith("..") else rel
