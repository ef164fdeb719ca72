"""End to end: what a customer waits for, from our webhook receiving their message to our
reply's request reaching the platform, at fixed offered rates (issue 28).

Two processes: the service (`inquiry-router serve` on SQLite with the shipped rules and
bots, the loopback channel POSTing replies to `deliver_url`) and this one, which offers
messages open-loop at a fixed rate (a message is sent on schedule whether or not earlier
ones were answered, as customers do) and runs the endpoint the replies are POSTed to.
Both clocks are this process's `perf_counter`, so a latency is one subtraction.

Channels: loopback (replies POSTed to `deliver_url`), Telegram (Bot API updates with
the secret header in, `sendMessage` to a Bot API stand-in out, through aiogram; paced at
1,000 sends a second, the paid-broadcast ceiling, instead of the default 30) and web chat
(each customer a visitor with a session and an open WebSocket, as the widget keeps one;
the wait is from the message frame sent to the bot's reply frame received).
Rows per offered rate, on SQLite (one instance) and on PostgreSQL (one instance, then
three sharing the database; loopback messages spread round-robin over them, web chat
visitors each on one instance, spread likewise, the secret shared; each instance
delivers its own replies; both deployments run side by side and take turns at each rate,
`PG_REPEATS` short turns of `PG_SECONDS`, and an `e2e_pg_scale` row gives the median over
those turns of three's p50 and p99 over one's): `new` (every message
opens a conversation: "När har ni öppet?", which the FAQ answers) and `continuing` (a
second message on each conversation the `new` row opened, at the same rate).
`answered` counts messages whose reply arrived within `GRACE` seconds after the offer
ended; `cpu_ms_per_msg` is the service's CPU time (user + system, from /proc) per
offered message. `capacity` is the highest offered rate whose p99 stayed under 200 ms
with every message answered (PostgreSQL's rates, measured in several turns: every
message of every turn answered, and the median turn's p99 under 200 ms).
`stages_p50_ms` / `stages_p99_ms` say where the wait was: the service's own per-stage
histograms (`inquiry_router_stage_seconds` on /metrics, see router/engine/stages.py),
read before and after each row; a figure is its bucket's upper bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import yaml
from aiohttp import web

from benchmarks._common import Serve, percentile, rnd, rules_available, write_config

RATES = (100, 200, 400, 700, 1000, 1400)
PG_RATES = (100, 200, 400)  # one and three instances, compared at the same offered rates
PG_REPEATS = 8  # times each comparison is made, in short turns (see `on_postgres`)
PG_SECONDS = 1.5  # a turn's offer: 8 x 1.5 s offers as much as the 3 x 4 s it replaced
CHANNEL_RATES = (100, 200, 400, 700)  # Telegram and web chat
QUICK_RATES = (50,)
PG = os.environ.get("ROUTER_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
SECONDS = 4.0
GRACE = 10.0  # seconds after the last offer for late replies
CAPACITY_P99_MS = 200.0
TEXT_NEW = "När har ni öppet?"
#: follow-ups on an open conversation that the FAQ answers, cycled
TEXTS_CONTINUING = ("Hur mycket kostar frakten?", "Vilka betalsätt tar ni?",
                    "Var hittar jag min faktura?", "Hur byter jag adress?")
_RUN = itertools.count()
TG_BOT, TG_SECRET = "benchbot", "bench-secret-token"
TG_TOKEN = "123456789:AAbenchbenchbenchbenchbenchbenchbench"
TG_FIRST_CHAT = 10_000
WEBCHAT_SECRET = "bench-webchat-secret-shared-by-instances"


@dataclass(frozen=True)
class Channel:
    """How messages reach the service on one channel, and how its replies are matched."""

    name: str
    path: str
    headers: dict[str, str]

    def body(self, run: int, i: int, thread: str, text: str) -> bytes:
        if self.name == "telegram":  # thread "tg-<chat id>": a private chat per customer
            chat = int(thread.removeprefix("tg-"))
            person = {"id": chat, "is_bot": False, "first_name": "Customer"}
            return orjson.dumps({"update_id": run * 1_000_000 + i + 1, "message": {
                "message_id": i + 1, "date": int(time.time()), "from": person,
                "chat": {"id": chat, "type": "private", "first_name": "Customer"},
                "text": text}})
        return orjson.dumps({"id": f"e2e{os.getpid()}-{run}-{i}", "thread": thread,
                             "from": f"user-{thread}", "text": text})

    def threads(self, tag: str, count: int) -> list[str]:
        if self.name == "telegram":
            start = TG_FIRST_CHAT + next(_CHATS) * 1_000_000
            return [f"tg-{start + i}" for i in range(count)]
        return [f"{tag}-{i}" for i in range(count)]


LOOPBACK = Channel("loopback", "/webhooks/loopback", {})
TELEGRAM = Channel("telegram", f"/webhooks/telegram/{TG_BOT}",
                   {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
WEBCHAT = Channel("webchat", "/chat/ws", {})
PG_CHANNELS = (LOOPBACK, WEBCHAT)  # PostgreSQL: one and three instances serve both
_CHATS = itertools.count()


@dataclass
class Round:
    """One offered rate: when each thread's message went out and when its reply came."""

    sent: dict[str, float] = field(default_factory=dict)
    replied: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    offered: bool = False  # every message of the round has gone out
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def reply(self, thread: str) -> None:
        if thread in self.sent and thread not in self.replied:
            self.replied[thread] = time.perf_counter()
            self.check()

    def check(self) -> None:
        if self.offered and len(self.replied) == len(self.sent):
            self.done.set()


class Receiver:
    """The platform's side of delivery: the endpoint the loopback channel POSTs to."""

    def __init__(self) -> None:
        self.base = ""
        self.round: Round | None = None
        self._ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        if self.round is not None:
            self.round.reply(str(body.get("thread", "")))
        return web.json_response({"id": next(self._ids)})

    async def bot_api(self, request: web.Request) -> web.Response:
        """Telegram's Bot API as aiogram calls it: getMe, then sendMessage per reply."""
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": {
                "id": 123456789, "is_bot": True, "first_name": "Bench", "username": TG_BOT}})
        form = await request.post() if request.content_type.startswith("multipart") or \
            request.content_type == "application/x-www-form-urlencoded" else \
            orjson.loads(await request.read() or b"{}")
        chat = str(form.get("chat_id", ""))
        if method == "sendMessage" and self.round is not None:
            self.round.reply(f"tg-{chat}")
        return web.json_response({"ok": True, "result": {
            "message_id": next(self._ids), "date": 0,
            "chat": {"id": int(chat or 0), "type": "private"}, "text": ""}})

    async def start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/deliver", self.handle)
        app.router.add_post("/bot{token}/{method}", self.bot_api)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return runner, f"{self.base}/deliver"


async def stage_buckets(http: aiohttp.ClientSession, base: str) -> dict[str, dict[float, float]]:
    """Cumulative bucket counts of `inquiry_router_stage_seconds` per stage, from /metrics."""
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    out: dict[str, dict[float, float]] = {}
    for line in text.splitlines():
        if not line.startswith("inquiry_router_stage_seconds_bucket{"):
            continue
        labels, _, value = line.partition("} ")
        fields = dict(part.split("=", 1) for part in labels.split("{", 1)[1].split(","))
        stage, le = fields["stage"].strip('"'), fields["le"].strip('"')
        out.setdefault(stage, {})[float(le)] = float(value)
    return out


def stage_quantiles(before: dict[str, dict[float, float]], after: dict[str, dict[float, float]],
                    q: float) -> dict[str, float]:
    """Per stage, the upper bound (ms) of the bucket holding quantile `q` of this row."""
    out = {}
    for stage, buckets in after.items():
        counts = {le: n - before.get(stage, {}).get(le, 0.0) for le, n in buckets.items()}
        total = counts.get(float("inf"), 0.0)
        if not total:
            continue
        bound = next(le for le in sorted(counts) if counts[le] >= q * total)
        out[stage] = rnd(bound * 1000, 1) if bound != float("inf") else float("inf")
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def offer(http: aiohttp.ClientSession, urls: list[str], channel: Channel, state: Round,
                threads: list[str], texts: list[str], rate: float) -> None:
    """Send message i at start + i/rate to instance i mod n, each on its own task (open loop)."""
    started = time.perf_counter()
    run = next(_RUN)
    tasks = []

    async def post(i: int, thread: str, text: str) -> None:
        state.sent[thread] = time.perf_counter()
        body = channel.body(run, i, thread, text)
        try:
            async with http.post(urls[i % len(urls)], data=body, headers={
                    "Content-Type": "application/json", **channel.headers}) as resp:
                await resp.read()
                if resp.status >= 300:
                    state.errors += 1
        except aiohttp.ClientError:
            state.errors += 1

    for i, (thread, text) in enumerate(zip(threads, texts, strict=True)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(i, thread, text)))
    await asyncio.gather(*tasks)


@dataclass
class Target:
    """The instances under test: their webhook URLs and processes."""

    servers: list[Serve]
    channel: Channel = LOOPBACK
    visitors: Visitors | None = None  # web chat: customers on WebSockets

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{s.port}" for s in self.servers]

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.port}{self.channel.path}" for s in self.servers]

    def cpu(self) -> float:
        return sum(cpu_seconds(s.pid) for s in self.servers)

    async def stages(self, http: aiohttp.ClientSession) -> dict[str, dict[float, float]]:
        """Bucket counts summed over the instances."""
        total: dict[str, dict[float, float]] = {}
        for s in self.servers:
            for stage, buckets in (await stage_buckets(http, f"http://127.0.0.1:{s.port}")).items():
                mine = total.setdefault(stage, {})
                for le, n in buckets.items():
                    mine[le] = mine.get(le, 0.0) + n
        return total


class Visitors:
    """Web chat customers: a session and an open WebSocket each, frames read as they come."""

    def __init__(self, http: aiohttp.ClientSession, bases: list[str]) -> None:
        """Visitor i talks to instance `bases[i mod n]` (a load balancer's sticky session)."""
        self.http, self.bases = http, bases
        self.sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
        self.readers: dict[str, asyncio.Task[None]] = {}
        self.round: Round | None = None

    async def open(self, threads: list[str]) -> None:
        async def one(thread: str, base: str) -> None:
            async with self.http.post(f"{base}/chat/session") as resp:
                token = (await resp.json())["token"]
            ws = await self.http.ws_connect(f"{base}/chat/ws")
            await ws.send_json({"type": "hello", "token": token, "after": 0, "lang": "sv"})
            while (await ws.receive_json())["type"] != "welcome":
                pass
            self.sockets[thread] = ws
            self.readers[thread] = asyncio.create_task(self._read(thread, ws))

        for start in range(0, len(threads), 50):  # a few at a time, as visitors arrive
            await asyncio.gather(*(one(t, self.bases[(start + i) % len(self.bases)])
                                   for i, t in enumerate(threads[start:start + 50])))

    async def _read(self, thread: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = orjson.loads(msg.data)
            if frame.get("type") == "message" and frame.get("author") == "bot" and self.round:
                self.round.reply(thread)

    async def offer(self, state: Round, threads: list[str], texts: list[str],
                    rate: float) -> None:
        self.round = state
        started, run = time.perf_counter(), next(_RUN)
        for i, (thread, text) in enumerate(zip(threads, texts, strict=True)):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            state.sent[thread] = time.perf_counter()
            try:
                await self.sockets[thread].send_json(
                    {"type": "message", "id": f"msg-{run:04d}-{i:06d}", "text": text, "lang": "sv"})
            except (aiohttp.ClientError, ConnectionError):
                state.errors += 1

    async def leave(self, threads: list[str]) -> None:
        """These visitors close the widget: a row's visitors leave once its rows are done,
        as customers do, so an instance holds the sockets of the row it serves, not of
        every row before it (with the PostgreSQL repeats, thousands)."""
        for thread in threads:
            if (task := self.readers.pop(thread, None)) is not None:
                task.cancel()
        await asyncio.gather(*(ws.close() for t in threads
                               if (ws := self.sockets.pop(t, None)) is not None),
                             return_exceptions=True)

    async def close(self) -> None:
        await self.leave(list(self.sockets))


async def measure(http: aiohttp.ClientSession, target: Target, receiver: Receiver,
                  threads: list[str], texts: list[str], rate: float) -> dict[str, Any]:
    stages_before = await target.stages(http)
    state = Round()
    receiver.round = state
    cpu_before = target.cpu()
    if target.visitors is not None:
        await target.visitors.offer(state, threads, texts, rate)
    else:
        await offer(http, target.urls, target.channel, state, threads, texts, rate)
    state.offered = True
    state.check()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.done.wait(), GRACE)
    cpu = target.cpu() - cpu_before
    receiver.round = None
    stages_after = await target.stages(http)
    waits = sorted((state.replied[t] - state.sent[t]) * 1000 for t in state.replied)
    return {"offered": len(threads), "answered": len(waits), "errors": state.errors,
            "p50_ms": rnd(percentile(waits, 50)), "p95_ms": rnd(percentile(waits, 95)),
            "p99_ms": rnd(percentile(waits, 99)),
            "cpu_ms_per_msg": rnd(cpu * 1000 / max(1, len(threads)), 3),
            "stages_p50_ms": stage_quantiles(stages_before, stages_after, 0.5),
            "stages_p99_ms": stage_quantiles(stages_before, stages_after, 0.99)}


async def warm_up(http: aiohttp.ClientSession, target: Target, receiver: Receiver,
                  tag: str, warm: int) -> None:
    """`warm` conversations at 100/s first: imports, caches, pooled connections."""
    warmers = target.channel.threads(f"warm-{tag}", warm)
    if target.visitors is not None:
        await target.visitors.open(warmers)
    await measure(http, target, receiver, warmers, [TEXT_NEW] * warm, 100)
    if target.visitors is not None:
        await target.visitors.leave(warmers)


async def rows_at(http: aiohttp.ClientSession, target: Target, receiver: Receiver, rate: int,
                  seconds: float, labels: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    """`new` then `continuing` at one offered rate."""
    count = int(rate * seconds)
    new = target.channel.threads(f"new-{tag}-{rate}", count)
    if target.visitors is not None:  # the widget is open before the customer writes
        await target.visitors.open(new)
    head = {"bench": "e2e", "channel": target.channel.name, **labels}
    row = await measure(http, target, receiver, new, [TEXT_NEW] * count, rate)
    rows = [{**head, "conversations": "new", "rate": rate, **row}]
    # a second message on each conversation that round opened
    texts = [TEXTS_CONTINUING[i % len(TEXTS_CONTINUING)] for i in range(count)]
    row = await measure(http, target, receiver, new, texts, rate)
    rows.append({**head, "conversations": "continuing", "rate": rate, **row})
    if target.visitors is not None:
        await target.visitors.leave(new)
    return rows


def _tag(labels: dict[str, Any]) -> str:
    return "-".join(str(v) for v in labels.values())


async def rows_for(target: Target, receiver: Receiver, rates: tuple[int, ...], seconds: float,
                   labels: dict[str, Any], warm: int) -> list[dict[str, Any]]:
    """`new` then `continuing` per rate, after a warm-up (imports, caches)."""
    rows = []
    tag = _tag(labels)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        if target.channel is WEBCHAT:
            target.visitors = Visitors(http, target.bases)
        await warm_up(http, target, receiver, tag, warm)
        for rate in rates:
            rows += await rows_at(http, target, receiver, rate, seconds, labels, tag)
        if target.visitors is not None:
            await target.visitors.close()
    return rows


def configure(directory: Path, deliver_url: str, storage: str = "",
              channel: Channel = LOOPBACK, api: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = (
        # instances on one database: loopback and web chat, one secret for all
        {"loopback": {"deliver_url": deliver_url}, "webchat": {"secret": WEBCHAT_SECRET}}
        if storage else
        # Telegram's default 30 sends/s would be all this row measured: a bot with paid
        # broadcasts may send up to 1,000 a second
        {"telegram": {"bots": [{"name": TG_BOT, "token": TG_TOKEN, "webhook_secret": TG_SECRET,
                                "api_base": api, "rate_limits": {"global_per_second": 1000}}]}}
        if channel is TELEGRAM else {"webchat": {}} if channel is WEBCHAT
        else {"loopback": {"deliver_url": deliver_url}})
    path = write_config(directory, db=directory / "router.db", shipped=rules_available(),
                        channels=settings)
    if storage:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["storage"] = {"url": storage}
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def on_sqlite(directory: Path, receiver: Receiver, deliver_url: str,
                    rates: tuple[int, ...], seconds: float, warm: int,
                    channel: Channel = LOOPBACK) -> list[dict[str, Any]]:
    name = f"sqlite-{channel.name}"
    serve = Serve(configure(directory / name, deliver_url, channel=channel, api=receiver.base),
                  directory / f"{name}.log")
    await serve.start()
    try:
        return await rows_for(Target([serve], channel), receiver, rates, seconds,
                              {"backend": "sqlite", "instances": 1}, warm)
    finally:
        await serve.stop()


@contextlib.asynccontextmanager
async def postgres_deployment(directory: Path, deliver_url: str,
                              instances: int) -> AsyncIterator[Target]:
    """`instances` services on a fresh schema of the machine's PostgreSQL."""
    schema = f"bench_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG)
    await admin.execute(f"CREATE SCHEMA {schema}")
    servers = [Serve(configure(directory / f"{schema}-{i}", deliver_url,
                               f"{PG}?search_path={schema}"), directory / f"{schema}-{i}.log")
               for i in range(instances)]
    try:
        await servers[0].start()  # migrates the schema
        await asyncio.gather(*(s.start() for s in servers[1:]))
        yield Target(servers)
    finally:
        await asyncio.gather(*(s.stop() for s in servers))
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


async def on_postgres(directory: Path, receiver: Receiver, deliver_url: str,
                      rates: tuple[int, ...], seconds: float, warm: int,
                      repeats: int = PG_REPEATS) -> list[dict[str, Any]]:
    """One instance and three, both deployed for the whole comparison and measured in turn
    at each rate, `repeats` times, which goes first alternating (1-3, 3-1, 1-3 ...): the
    host's speed drifts over minutes (PostgreSQL's tables grow, with no autovacuum here),
    and one row of each at a rate was a coin toss at the 99th percentile (the same
    build gave 0.8 and 1.9 at 100 a second in two runs).

    Many short turns rather than a few long ones: a stall of the shared host (a second
    or two, seen in every deployment at random, the `stored` stage included) spoils the
    turn it falls in, and the median over eight turns outvotes it where the median over
    three did not (session 16: single p99 ratios of 0.42-2.19 around medians near 1)."""
    rows: list[dict[str, Any]] = []
    async with postgres_deployment(directory, deliver_url, 1) as one, \
            postgres_deployment(directory, deliver_url, 3) as three, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        for channel in PG_CHANNELS:
            targets = {n: Target(d.servers, channel) for n, d in ((1, one), (3, three))}
            for n, target in targets.items():
                if channel is WEBCHAT:  # each visitor on one instance, spread over them
                    target.visitors = Visitors(http, target.bases)
                await warm_up(http, target, receiver, f"postgres-{channel.name}-{n}", warm)
            for repeat in range(repeats):
                for turn, rate in enumerate(rates):
                    for n in (1, 3) if (turn + repeat) % 2 == 0 else (3, 1):
                        labels = {"backend": "postgres", "instances": n, "repeat": repeat}
                        rows += await rows_at(http, targets[n], receiver, rate, seconds,
                                              labels, _tag(labels))
            for target in targets.values():
                if target.visitors is not None:
                    await target.visitors.close()
    return rows + scale_ratios(rows)


def scale_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Three PostgreSQL instances against one at the same rate: p50 and p99 of three over
    one, per repeat (the two measured one after the other), and their median over the
    repeats (issue 28's goal: no slower, a ratio of at most 1)."""
    by = {(r["channel"], r["conversations"], r["rate"], r["instances"], r.get("repeat", 0)): r
          for r in rows if r["bench"] == "e2e" and r["backend"] == "postgres"}
    pairs: dict[tuple[str, str, int], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for (channel, kind, rate, n, repeat), three in sorted(by.items()):
        one = by.get((channel, kind, rate, 1, repeat))
        if n == 3 and one is not None:
            pairs.setdefault((channel, kind, rate), []).append((one, three))
    out = []
    for (channel, kind, rate), measured in sorted(pairs.items()):
        p50s = [three["p50_ms"] / max(one["p50_ms"], 0.001) for one, three in measured]
        p99s = [three["p99_ms"] / max(one["p99_ms"], 0.001) for one, three in measured]
        out.append({"bench": "e2e_pg_scale", "channel": channel, "conversations": kind,
                    "rate": rate, "repeats": len(measured),
                    "answered_one": sum(one["answered"] for one, _ in measured),
                    "answered_three": sum(three["answered"] for _, three in measured),
                    "offered": sum(three["offered"] for _, three in measured),
                    "p50_three_over_one": rnd(statistics.median(p50s), 2),
                    "p99_three_over_one": rnd(statistics.median(p99s), 2),
                    "p99_ratios": [rnd(x, 2) for x in p99s]})
    return out


def capacity(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per backend, instances and kind: the highest rate answered in full within the p99 goal."""
    out = []
    def key(r: dict[str, Any]) -> tuple[str, str, int, str]:
        return r["channel"], r["backend"], r["instances"], r["conversations"]

    def met_over_turns(turns: list[dict[str, Any]]) -> bool:
        return (all(r["answered"] == r["offered"] and not r["errors"] for r in turns)
                and statistics.median(r["p99_ms"] for r in turns) < CAPACITY_P99_MS)

    rows = [r for r in rows if r["bench"] == "e2e"]
    for channel, backend, instances, kind in sorted({key(r) for r in rows}):
        mine = [r for r in rows if key(r) == (channel, backend, instances, kind)]
        # a rate measured more than once (PostgreSQL's short turns) counts if every message
        # of every turn was answered and the median turn's p99 met the goal
        ok = [rate for rate in {r["rate"] for r in mine}
              if met_over_turns([r for r in mine if r["rate"] == rate])]
        out.append({"bench": "e2e_capacity", "channel": channel, "backend": backend,
                    "instances": instances, "conversations": kind,
                    "capacity_msgs_per_s": max(ok, default=0), "p99_goal_ms": CAPACITY_P99_MS,
                    "decide": "rules" if rules_available() else "none"})
    return out


async def main(quick: bool) -> list[dict[str, Any]]:
    seconds, warm = (0.5, 5) if quick else (SECONDS, 200)
    receiver = Receiver()
    runner, deliver_url = await receiver.start()
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            directory = Path(tmp)
            rows += await on_sqlite(directory, receiver, deliver_url,
                                    QUICK_RATES if quick else RATES, seconds, warm)
            for channel in (TELEGRAM, WEBCHAT):
                rows += await on_sqlite(directory, receiver, deliver_url,
                                        QUICK_RATES if quick else CHANNEL_RATES, seconds, warm,
                                        channel)
            if not quick:  # quick: the shape test's time
                rows += await on_postgres(directory, receiver, deliver_url, PG_RATES,
                                          PG_SECONDS, warm)
    finally:
        await runner.cleanup()
    return rows + capacity(rows)


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(main(quick))
