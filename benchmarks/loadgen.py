"""A closed-loop HTTP load generator: fixed concurrency, bounded duration, unique bodies.

Run as its own process (`python -m benchmarks.loadgen ...`) so that the server under
test does not share an event loop or a GIL with the client. Each of `--concurrency`
workers keeps exactly one request in flight on its own keep-alive connection, like a
platform delivering webhooks over a fixed connection pool (Telegram's default
`max_connections` is 40). Every request carries a fresh id, so each one is a real
commit on the service and never a dedupe hit. Prints one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import sys
import time
from collections.abc import Callable

import aiohttp
import orjson

from benchmarks._common import TEXTS

#: a run-unique prefix for loopback ids (several runs may share a store while debugging)
RUN = int(time.time() * 1000) % 10**9


def thread_of(i: int, active: int, per_conversation: int = 5) -> int:
    """As in bench_pipeline: `active` interleaved conversations, 5 messages each."""
    return (i // (active * per_conversation)) * active + i % active


def loopback_body(i: int, conversations: int) -> bytes:
    thread = thread_of(i, conversations)
    return orjson.dumps({"id": f"lg{RUN}-{i}", "thread": f"chat-{thread}",
                         "from": f"user-{thread}", "text": TEXTS[i % len(TEXTS)]})


def telegram_body(i: int, conversations: int) -> bytes:
    """A Bot API `Update` with a private-chat text message, as Telegram posts it."""
    user = 10_000 + thread_of(i, conversations)
    person = {"id": user, "is_bot": False, "first_name": "Customer", "language_code": "en"}
    return orjson.dumps({
        "update_id": i + 1,  # each run starts on a fresh store
        "message": {"message_id": i + 1, "date": int(time.time()), "from": person,
                    "chat": {"id": user, "type": "private", "first_name": "Customer"},
                    "text": TEXTS[i % len(TEXTS)]},
    })


def slack_body(i: int, conversations: int) -> bytes:
    """An Events API `event_callback` with a direct message to the app, as Slack posts it."""
    thread = thread_of(i, conversations)
    ts = f"{1_700_000_000 + i // 1_000_000}.{i % 1_000_000:06d}"
    return orjson.dumps({
        "token": "bench", "team_id": "T0BENCH", "api_app_id": "A0BENCH", "type": "event_callback",
        "event_id": f"Ev{RUN}{i}", "event_time": int(time.time()),
        "event": {"type": "message", "channel_type": "im", "channel": f"D{thread:08d}",
                  "user": f"U{thread:08d}", "text": TEXTS[i % len(TEXTS)], "ts": ts,
                  "event_ts": ts, "team": "T0BENCH"},
    })


def slack_signature(secret: str, body: bytes) -> dict[str, str]:
    """Slack's request signing (v0): every request is signed over its own body."""
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body,
                      hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


BODIES: dict[str, Callable[[int, int], bytes]] = {"loopback": loopback_body,
                                                    "telegram": telegram_body,
                                                    "slack": slack_body}


async def load(url: str, *, body: Callable[[int, int], bytes], headers: dict[str, str],
               concurrency: int, duration: float, warmup: float,
               conversations: int, first: int = 0, sign: str = "") -> dict[str, float | int]:
    counter = itertools.count(first)
    latencies: list[float] = []
    errors = 0
    measuring = False
    deadline = 0.0
    headers = {"Content-Type": "application/json", **headers}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                data = body(next(counter), conversations)
                sent = {**headers, **slack_signature(sign, data)} if sign else headers
                started = time.perf_counter()
                try:
                    async with session.post(url, data=data, headers=sent) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                if not measuring:
                    continue
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        deadline = time.perf_counter() + warmup
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        measuring = True
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, max(0, round(q / 100 * len(latencies)) - 1))]

    return {"requests": len(latencies), "errors": errors,
            "msgs_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(pct(50) * 1000, 2), "p99_ms": round(pct(99) * 1000, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen")
    parser.add_argument("url")
    parser.add_argument("--body", choices=sorted(BODIES), default="loopback")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--first", type=int, default=0,
                        help="index of the first message: rounds against one service use "
                             "disjoint ranges, so each round opens conversations of its own")
    parser.add_argument("--slack-signing-secret", default="",
                        help="sign every request as Slack does (v0 HMAC over its body)")
    parser.add_argument("--conversations", type=int, default=200,
                        help="conversations active at a time (each gets 5 messages)")
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    result = asyncio.run(load(
        args.url, body=BODIES[args.body], headers={k.strip(): v.strip() for k, v in headers.items()},
        concurrency=args.concurrency, duration=args.duration, warmup=args.warmup,
        conversations=args.conversations, first=args.first, sign=args.slack_signing_secret))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
