"""The PostgreSQL LISTEN connection survives being dropped.

Its backend is terminated from another connection (as a server restart or a network cut
would): the store reconnects, runs the remote-commit callbacks once (NOTIFYs sent while
it was away are lost), and a later commit by another instance wakes it again promptly.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from router.domain.model import Event
from router.store import Tx, utcnow
from router.store.postgres import PostgresStore
from tests.store.pg import server_url

PROMPT = 5.0  # generous bound for "promptly" (the fallback poll is what we must not need)


async def _event(tx: Tx) -> None:
    await tx.insert_event(Event(0, "test_ping", utcnow(), actor="test"))


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(await server_url())
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_listener_reconnects_and_wakes_again(pg_url: str,
                                                   caplog: pytest.LogCaptureFixture):
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    woken = asyncio.Event()
    calls = 0

    def remote_commit() -> None:
        nonlocal calls
        calls += 1
        woken.set()

    a.on_remote_commit(remote_commit)
    try:
        await b.write(_event)  # the bridge works before the drop
        await asyncio.wait_for(woken.wait(), PROMPT)
        woken.clear()
        calls = 0

        assert a._listener is not None
        old_pid = a._listener.get_server_pid()
        with caplog.at_level(logging.INFO, logger="router.store.postgres"):
            await _terminate(old_pid)
            # reconnected: the callbacks run once, for commits missed meanwhile
            await asyncio.wait_for(woken.wait(), PROMPT)
        assert a.reconnects == 1
        assert calls == 1
        assert a._listener is not None and a._listener.get_server_pid() != old_pid
        assert "LISTEN connection lost" in caplog.text
        assert "LISTEN connection restored" in caplog.text

        woken.clear()
        await b.write(_event)  # a commit on B wakes A through the new connection
        await asyncio.wait_for(woken.wait(), PROMPT)
        assert calls == 2
    finally:
        await a.close()
        await b.close()


async def test_listener_reconnect_backs_off_until_the_server_answers(pg_url: str):
    """While connecting fails, attempts are retried with a capped, growing delay."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    woken = asyncio.Event()
    a.on_remote_commit(woken.set)
    attempts: list[int] = []
    original = a._listen

    async def flaky_listen() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("connection refused (test)")
        await original()

    a._listen = flaky_listen  # type: ignore[method-assign]
    a.listen_backoff = (0.01, 0.02)
    try:
        assert a._listener is not None
        await _terminate(a._listener.get_server_pid())
        await asyncio.wait_for(woken.wait(), PROMPT)
        assert len(attempts) == 3 and a.reconnects == 1
        woken.clear()
        await b.write(_event)
        await asyncio.wait_for(woken.wait(), PROMPT)
    finally:
        await a.close()
        await b.close()


async def test_close_does_not_reconnect(pg_url: str):
    a = PostgresStore(pg_url)
    await a.open()
    await a.close()
    assert a.reconnects == 0 and a._listener is None
