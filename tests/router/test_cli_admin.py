"""`agents add` on agents of config.yaml and partial updates; `conversations list/show`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from router.cli import main
from router.config import load_config
from router.domain.model import AuthorKind, Contact, Conversation, Direction, Message, Status
from router.store import open_store
from tests.conftest import write_config

AGENTS = """
agents:
  alice: {name: Alice A, email: alice@example.com, role: admin, languages: [sv, en]}
"""


def test_agents_add_refuses_a_config_agent_unless_forced_and_keeps_what_it_is_not_given(
        tmp_path, capsys) -> None:
    cfg = str(write_config(tmp_path, AGENTS))
    assert main(["agents", "-c", cfg, "add", "alice", "--role", "agent"]) == 1
    out = capsys.readouterr().out
    assert "defined in" in out and "--force" in out
    assert main(["agents", "-c", cfg, "add", "alice", "--capacity", "2", "--force"]) == 0
    assert "agents passwd alice" in capsys.readouterr().out  # the next step
    assert main(["agents", "-c", cfg, "list"]) == 0
    listing = capsys.readouterr().out
    assert "admin" in listing and "0/2" in listing and "sv,en" in listing
    assert "alice@example.com" in listing
    assert main(["agents", "-c", cfg, "add", "cid", "--email", "cid@example.com",
                 "--languages", "fi"]) == 0
    assert main(["agents", "-c", cfg, "add", "cid", "--role", "admin"]) == 0
    capsys.readouterr()
    assert main(["agents", "-c", cfg, "list"]) == 0
    row = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cid"))
    assert "admin" in row and "fi" in row and "cid@example.com" in row


async def _seed(cfg: str) -> None:
    config = load_config(cfg)
    store = open_store(config.settings.storage.url, base_dir=Path(cfg).resolve().parent)
    await store.open()
    now = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)

    async def unit(tx):  # type: ignore[no-untyped-def]
        contact = await tx.create_contact(Contact(0, display_name="Ulla", email="u@example.se"),
                                          now)
        for n, (queue, status) in enumerate([("billing", Status.QUEUED),
                                             ("support", Status.BOT)], start=1):
            cid = await tx.create_conversation(Conversation(
                0, contact, "loopback", f"t{n}", status=status, queue=queue, created_at=now,
                updated_at=now))
            await tx.insert_message(Message(0, cid, Direction.INBOUND, AuthorKind.CUSTOMER,
                                            f"question {n}", now))
            await tx.insert_message(Message(0, cid, Direction.OUTBOUND, AuthorKind.BOT,
                                            f"answer {n}", now))

    await store.write(unit)
    await store.close()


def test_conversations_list_filters_and_show_prints_the_messages(tmp_path, capsys) -> None:
    cfg = str(write_config(tmp_path))
    assert main(["conversations", "-c", cfg, "list"]) == 0
    assert "no conversations yet" in capsys.readouterr().out
    asyncio.run(_seed(cfg))
    assert main(["conversations", "-c", cfg, "list", "--queue", "billing"]) == 0
    out = capsys.readouterr().out
    assert "billing" in out and "support" not in out
    assert main(["conversations", "-c", cfg, "list", "--status", "bot", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "support" in out and "billing" not in out
    assert main(["conversations", "-c", cfg, "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "queue billing" in out and "status queued" in out and "assignee -" in out
    assert "Ulla:" in out and "question 1" in out and "bot:" in out and "answer 1" in out
    assert "2026-12-06 09:30:00 UTC" in out
    assert main(["conversations", "-c", cfg, "show", "99"]) == 1
    assert "no conversation 99" in capsys.readouterr().err
