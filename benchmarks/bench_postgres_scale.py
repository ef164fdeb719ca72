"""Inbound throughput on PostgreSQL with 1, 2 and 3 `serve` instances sharing one database.

For each instance count, a fresh schema on the machine's PostgreSQL (`ROUTER_BENCH_PG`,
default postgresql://root@127.0.0.1:5432/test), `n` production `serve` processes on it,
and `n` load generator processes (benchmarks/loadgen.py, one per instance, the same
concurrency each, disjoint message ranges) posting loopback webhooks for the same
duration. Each message is a full unit of work (dedupe, conversation, rules or echo,
outbox row) and its reply is sent. Reported: the summed rate, p99, and `scaling`, the
rate relative to one instance. Every process shares the machine's cores (`cpus`), so
the ratio is bounded by them as much as by the database.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import yaml

from benchmarks._common import PYTHON, Serve, spawn, write_config

PG = os.environ.get("ROUTER_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")


async def _load(port: int, *, duration: float, warmup: float, concurrency: int,
                first: int) -> dict[str, Any]:
    proc = await spawn(
        PYTHON, "-m", "benchmarks.loadgen", f"http://127.0.0.1:{port}/webhooks/loopback",
        "--duration", str(duration), "--warmup", str(warmup), "--concurrency", str(concurrency),
        "--first", str(first), "--conversations", "100", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    result: dict[str, Any] = orjson.loads(out)
    return result


async def _round(n: int, directory: Path, *, duration: float, warmup: float,
                 concurrency: int) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG)
    await admin.execute(f"CREATE SCHEMA {schema}")
    servers: list[Serve] = []
    try:
        for i in range(n):
            d = directory / f"{schema}-{i}"
            d.mkdir()
            path = write_config(d, db=d / "unused.db")
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            data["storage"] = {"url": f"{PG}?search_path={schema}"}
            # each answer after the whole unit of work: this measures processing across
            # instances, not only acknowledgements
            data["service"]["acknowledge"] = "processed"
            path.write_text(yaml.safe_dump(data), encoding="utf-8")
            servers.append(Serve(path, d / "serve.log"))
        await servers[0].start()  # migrates the schema
        await asyncio.gather(*(s.start() for s in servers[1:]))
        results = await asyncio.gather(*(
            _load(s.port, duration=duration, warmup=warmup, concurrency=concurrency,
                  first=i * 10_000_000) for i, s in enumerate(servers)))
    finally:
        await asyncio.gather(*(s.stop() for s in servers))
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()
    return {"bench": "postgres_scale", "instances": n,
            "msgs_per_s": round(sum(r["msgs_per_s"] for r in results), 1),
            "p99_ms": max(r["p99_ms"] for r in results),
            "errors": sum(r["errors"] for r in results),
            "concurrency_per_instance": concurrency, "cpus": os.cpu_count() or 0}


async def _run(quick: bool) -> list[dict[str, Any]]:
    duration, warmup = (0.6, 0.2) if quick else (10.0, 2.0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # quick (the shape test): one and two instances say as much as three, in half
        # the instance starts (each migrates a fresh schema)
        for n in (1, 2) if quick else (1, 2, 3):
            rows.append(await _round(n, Path(tmp), duration=duration, warmup=warmup,
                                     concurrency=16))
    base = rows[0]["msgs_per_s"] or 1.0
    for row in rows:
        row["scaling"] = round(row["msgs_per_s"] / base, 2)
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    """One row per instance count; `scaling` is the throughput relative to one instance."""
    return asyncio.run(_run(quick))


if __name__ == "__main__":
    for row in run():
        print(orjson.dumps(row).decode())
