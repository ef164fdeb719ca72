"""Versioned schema migrations shared by the backends.

Migrations are the numbered `migrations/NNNN_name.sql` files of this package. They are
written once; `{pk}` is the only backend-specific spelling (an auto-increment key).
Where the backends truly differ (full-text search: SQLite's FTS5, PostgreSQL's tsvector),
a version has one file per backend, `NNNN_name.sqlite.sql` and `NNNN_name.postgresql.sql`,
and each backend applies its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

PK = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGSERIAL PRIMARY KEY",
}
_TRIGGER = re.compile(r"\s*CREATE\s+(?:TEMP\w*\s+)?TRIGGER\b.*\bBEGIN\b", re.IGNORECASE | re.DOTALL)
_END = re.compile(r"\bEND\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """All migrations in order, rendered for `dialect`."""
    folder = resources.files("router.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        stem = name.removesuffix(".sql")
        only = stem.rsplit(".", 1)[1] if "." in stem else ""
        if only and only != dialect:
            continue  # the other backend's file of this version
        version = int(stem.split("_", 1)[0])
        sql = entry.read_text(encoding="utf-8").replace("{pk}", PK[dialect])
        found.append(Migration(version, stem.split(".", 1)[0], sql))
    return sorted(found, key=lambda m: m.version)


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements. A semicolon ends a statement except inside a
    dollar-quoted body (a PL/pgSQL function) or a SQLite trigger's BEGIN ... END."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements: list[str] = []
    pending: list[str] = []
    for piece in "\n".join(lines).split(";"):
        pending.append(piece)
        text = ";".join(pending)
        if text.count("$$") % 2 or (_TRIGGER.match(text) and not _END.search(text)):
            continue  # the statement goes on past this semicolon
        pending = []
        if text.strip():
            statements.append(text.strip())
    if pending and ";".join(pending).strip():
        statements.append(";".join(pending).strip())
    return statements
