"""The SQLite store: migrations, group commit, unit isolation."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from router.domain.errors import StoreError
from router.domain.model import Contact
from router.store import utcnow
from router.store.migrate import migrations
from router.store.sqlite import SqliteStore
from tests.conftest import write_config


async def test_migrations_apply_once_and_reopen_cleanly(tmp_path):
    store = SqliteStore(tmp_path / "r.db")
    await store.open()
    assert await store.schema_version() == migrations("sqlite")[-1].version
    await store.close()
    again = SqliteStore(tmp_path / "r.db")
    await again.open()  # nothing left to apply: must not fail on existing tables
    assert await again.schema_version() == migrations("sqlite")[-1].version
    await again.close()


def test_migrate_command_reports_the_schema_version(tmp_path):
    config = write_config(tmp_path)
    done = subprocess.run([sys.executable, "-m", "router", "migrate", "--config", str(config)],
                          capture_output=True, text=True, check=True)
    assert f"schema version {migrations('sqlite')[-1].version}" in done.stdout
    assert (tmp_path / "data" / "router.db").exists()


async def test_a_failing_unit_does_not_sink_its_batch(tmp_path):
    store = SqliteStore(tmp_path / "r.db")
    await store.open()

    async def good(tx, i):
        return await tx.create_contact(Contact(0, f"c{i}"), utcnow())

    async def bad(tx):
        await good(tx, 99)
        raise ValueError("boom")

    results = await asyncio.gather(*(store.write(lambda tx, i=i: good(tx, i)) for i in range(50)),
                                   store.write(bad), return_exceptions=True)
    assert isinstance(results[-1], ValueError)
    assert all(isinstance(r, int) for r in results[:-1])
    names = await store.read(lambda tx: _names(tx))
    assert len(names) == 50 and "c99" not in names  # the failed unit's insert rolled back
    assert store.commits < 51  # they shared commits
    await store.close()
    with pytest.raises(StoreError):
        await store.write(bad)


async def _names(tx):
    return [r[0] for r in tx.c.execute("SELECT display_name FROM contacts")]
