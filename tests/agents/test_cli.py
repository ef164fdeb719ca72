"""`inquiry-router agents`: add, list, token (printed once, stored hashed), revoke, disable (see
test_authz.py for enable and the last admin)."""

from __future__ import annotations

import asyncio

from router.cli import main
from router.engine.agents import auth
from router.store import open_store
from tests.conftest import write_config


def test_agents_cli_round_trip(tmp_path, capsys):
    cfg = str(write_config(tmp_path))
    assert main(["agents", "-c", cfg, "add", "ann", "--role", "admin", "--languages", "sv,en",
                 "--capacity", "3"]) == 0
    assert main(["agents", "-c", cfg, "token", "ann", "--label", "laptop"]) == 0
    token = capsys.readouterr().out.splitlines()[-2]
    assert token.startswith(auth.PREFIX)
    assert main(["agents", "-c", cfg, "list"]) == 0
    listing = capsys.readouterr().out
    assert "ann" in listing and "admin" in listing and "0/3" in listing and "sv,en" in listing

    async def lookup():  # type: ignore[no-untyped-def]
        store = open_store(f"sqlite:///{tmp_path}/data/router.db")
        await store.open()
        try:
            async def hashes(tx):  # type: ignore[no-untyped-def]
                return tx.c.execute("SELECT token_hash FROM api_tokens").fetchall()
            raw = await store.read(hashes)
            return raw, await store.read(lambda tx: auth.authenticate(tx, token))
        finally:
            await store.close()

    rows, agent = asyncio.run(lookup())
    assert rows == [(auth.hash_token(token),)] and agent is not None and agent.name == "ann"
    assert main(["agents", "-c", cfg, "token", "ann", "--revoke"]) == 0
    assert "revoked 1 token" in capsys.readouterr().out
    assert asyncio.run(lookup())[1] is None
    capsys.readouterr()
    assert main(["agents", "-c", cfg, "disable", "ann"]) == 1  # the last active admin
    assert "last active admin" in capsys.readouterr().out
    assert main(["agents", "-c", cfg, "add", "bo", "--role", "admin"]) == 0
    assert main(["agents", "-c", cfg, "disable", "ann"]) == 0
    assert main(["agents", "-c", cfg, "disable", "nobody"]) == 1
    assert main(["agents", "-c", cfg, "token", "nobody"]) == 1
