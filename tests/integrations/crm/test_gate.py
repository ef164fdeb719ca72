"""The gate to one CRM: worker threads, spacing to the rate limit, 429 pauses."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from router.domain.errors import ChannelRateLimited
from router.engine.integrations.crm.gate import Gate, retry_after


async def test_calls_run_on_workers_spaced_to_the_rate() -> None:
    gate = Gate("test", rate=20, workers=2)
    seen: list[tuple[float, str]] = []

    def call() -> None:
        seen.append((time.monotonic(), threading.current_thread().name))

    started = time.monotonic()
    try:
        await asyncio.gather(*(gate.call(call) for _ in range(3)))
    finally:
        gate.close()
    # the third request cannot start before two intervals (1/20 s each) have passed
    assert max(t for t, _ in seen) - started >= 0.1
    assert {name.startswith("crm-test") for _, name in seen} == {True}


async def test_a_429_pauses_every_call_without_a_request() -> None:
    gate = Gate("test", rate=1000, workers=1)
    calls: list[int] = []

    def limited() -> None:
        calls.append(1)
        raise ChannelRateLimited("HTTP 429", 30)

    try:
        with pytest.raises(ChannelRateLimited):
            await gate.call(limited)
        with pytest.raises(ChannelRateLimited) as refused:
            await gate.call(calls.append, 2)
    finally:
        gate.close()
    assert calls == [1] and 29 < refused.value.retry_after <= 30


def test_retry_after_header() -> None:
    assert retry_after("2", 10) == 2.0
    assert retry_after(None, 10) == 10.0
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT", 10) == 10.0  # dates: the default
    assert retry_after("-3", 10) == 0.0 and retry_after("99999", 10) == 3600.0
