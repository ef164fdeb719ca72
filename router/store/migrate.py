"""Versioned schema migrations shared by the backends.

Migrations are the numbered `migrations/NNNN_name.sql` files of this package. They are
written once; `{pk}` is the only backend-specific spelling (an auto-increment key).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

PK = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGSERIAL PRIMARY KEY",
}


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
        version = int(name.split("_", 1)[0])
        sql = entry.read_text(encoding="utf-8").replace("{pk}", PK[dialect])
        found.append(Migration(version, name.removesuffix(".sql"), sql))
    return sorted(found, key=lambda m: m.version)


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our DDL literals)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
