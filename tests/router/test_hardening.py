"""Slow clients are cut off, 405 says what is allowed, an exposed loopback needs a token,
and the database is the owner's alone (issue 22)."""

from __future__ import annotations

import asyncio
import stat
import time

import aiohttp
import pytest

from router.domain.errors import ConfigError
from router.service import is_loopback_host

TIMEOUTS = "http:\n  header_timeout: 0.3\n  body_timeout: 0.3\nchannels:\n  loopback: {}\n"


async def _trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """A slow client: one byte at a time, never finishing."""
    for byte in data:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.02)


async def _closed_after(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sent until it closed the connection, and when it closed."""
    started = time.monotonic()
    async with asyncio.timeout(5):
        data = await reader.read()  # returns at EOF: the server closed the connection
    return data, time.monotonic() - started


async def test_a_client_sending_headers_byte_by_byte_is_disconnected(make_config,
                                                                      start_service, http):
    service = await start_service(make_config(TIMEOUTS))
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
    slow = asyncio.create_task(_trickle(writer, headers))
    try:
        data, elapsed = await _closed_after(reader)
    finally:
        slow.cancel()
        writer.close()
    assert data == b"" and 0.25 < elapsed < 3  # no answer: closed at the header deadline
    async with http.get(f"http://127.0.0.1:{service.port}/healthz") as resp:
        assert resp.status == 200  # the service itself is fine


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_a_closed_connection(
        make_config, start_service):
    service = await start_service(make_config(TIMEOUTS))
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(b"POST /webhooks/loopback HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":")
    slow = asyncio.create_task(_trickle(writer, b" " * 400))
    try:
        data, elapsed = await _closed_after(reader)
    finally:
        slow.cancel()
        writer.close()
    assert data.startswith(b"HTTP/1.1 408 ") and b'"timeout"' in data
    assert 0.25 < elapsed < 3


async def test_405_names_the_allowed_methods(make_config, start_service):
    service = await start_service(make_config("channels:\n  loopback: {}\n"))
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        async with http.delete(f"{base}/healthz") as resp:
            assert resp.status == 405 and set(resp.headers["Allow"].split(",")) >= {"GET"}
            assert (await resp.json())["error"]["code"] == "method_not_allowed"
        async with http.get(f"{base}/webhooks/loopback") as resp:
            assert resp.status == 405 and resp.headers["Allow"] == "POST"
        async with http.put(f"{base}/api/v1/queues") as resp:
            assert resp.status == 405 and "GET" in resp.headers["Allow"].split(",")


def test_loopback_hosts():
    assert all(map(is_loopback_host, ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"]))
    assert not any(map(is_loopback_host, ["0.0.0.0", "::", "", "192.168.1.4", "example.com"]))


async def test_loopback_without_token_refuses_to_listen_beyond_this_machine(
        make_config, start_service):
    config = make_config("http:\n  host: 0.0.0.0\nchannels:\n  loopback: {}\n")
    with pytest.raises(ConfigError, match=r"channels\.loopback\.token"):
        await start_service(config)
    assert not (config.data_path("router.db")).exists()  # refused before anything opened


async def test_loopback_with_a_token_listens_everywhere_and_requires_it(make_config,
                                                                       start_service):
    service = await start_service(make_config(
        "http:\n  host: 0.0.0.0\nchannels:\n  loopback: {token: s3cret}\n"))
    url = f"http://127.0.0.1:{service.port}/webhooks/loopback"
    body = {"id": "1", "thread": "t", "from": "u", "text": "hi"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body) as resp:
            assert resp.status == 401
        async with http.post(url, json=body, headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401
        async with http.post(url, json=body, headers={"Authorization": "Bearer s3cret"}) as resp:
            assert resp.status == 200


async def test_loopback_on_127_0_0_1_stays_open_without_a_token(make_config, start_service,
                                                                http):
    service = await start_service(make_config("channels:\n  loopback: {}\n"))
    async with http.post(f"http://127.0.0.1:{service.port}/webhooks/loopback",
                         json={"id": "1", "thread": "t", "from": "u", "text": "hi"}) as resp:
        assert resp.status == 200


async def test_database_and_data_directory_are_owner_only(make_config, start_service, http):
    config = make_config("channels:\n  loopback: {}\n")
    service = await start_service(config)
    # a write, so the -wal and -shm files exist
    async with http.post(f"http://127.0.0.1:{service.port}/webhooks/loopback",
                         json={"id": "1", "thread": "t", "from": "u", "text": "hi"}) as resp:
        assert resp.status == 200
    await service.backlog.drained()
    db = config.data_path("router.db")
    modes = {p.name: stat.S_IMODE(p.stat().st_mode)
             for p in db.parent.iterdir() if p.name.startswith("router.db")}
    assert {"router.db", "router.db-wal", "router.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


async def test_an_existing_world_readable_database_is_tightened(make_config, start_service):
    config = make_config()
    db = config.data_path("router.db")
    db.parent.mkdir(parents=True)
    db.touch(mode=0o644)
    db.chmod(0o644)
    await start_service(config)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
