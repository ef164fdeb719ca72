"""`inquiry-router agents passwd`: argon2 hash stored, weak or mismatched passwords refused."""

from __future__ import annotations

import asyncio
import io

from router.cli import main
from router.store import open_store
from router.web.console.passwords import verify
from tests.conftest import write_config


def test_agents_passwd_sets_checks_and_clears(tmp_path, capsys, monkeypatch) -> None:
    cfg = str(write_config(tmp_path))
    assert main(["agents", "-c", cfg, "add", "ann", "--email", "ann@example.com"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["agents", "-c", cfg, "passwd", "ann", "--password-stdin"]) == 1
    assert "at least 10" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    assert main(["agents", "-c", cfg, "passwd", "nobody", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    assert main(["agents", "-c", cfg, "passwd", "ann", "--password-stdin"]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "typed " + prompt[:3])
    monkeypatch.setattr("router.commands.agents._has_terminal", lambda: True)
    assert main(["agents", "-c", cfg, "passwd", "ann"]) == 1  # the two prompts differ
    assert "differ" in capsys.readouterr().out

    async def stored() -> str | None:
        store = open_store(f"sqlite:///{tmp_path}/data/router.db")
        await store.open()
        try:
            found = await store.read(lambda tx: tx.find_agent_login("ANN@example.com"))
            return found[1] if found else "missing"
        finally:
            await store.close()

    assert verify(asyncio.run(stored()), "a long enough passphrase")
    assert main(["agents", "-c", cfg, "passwd", "ann", "--clear"]) == 0
    assert asyncio.run(stored()) is None
