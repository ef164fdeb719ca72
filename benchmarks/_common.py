"""Helpers shared by the benchmarks: percentiles, temp configs and `serve` subprocesses.

The service benchmarks run the production entry point (`inquiry-router serve`) as a
separate process, so that what is measured includes everything a deployment pays for
(HTTP parsing, logging, the writer task) and nothing of the load generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
PYTHON = sys.executable
#: every subprocess sees the working tree first, so a bench measures the code checked out
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
#: customer messages in the five configured languages, some for rules, some for the FAQ;
#: the in-process and the HTTP benchmarks send the same mix
TEXTS = (
    "Hej! Jag har fått en faktura som inte stämmer, kan ni hjälpa mig?",
    "Hei, laskussani on virhe. Voitteko tarkistaa sen?",
    "Hello, I would like a refund for my last order please.",
    "Hallo, jeg får ikke logget inn på kontoen min.",
    "Добрий день! Де мій рахунок за березень?",
    "Can I talk to a human? The app keeps crashing on start.",
    "What are your opening hours during the holidays?",
    "Jag vill säga upp mitt abonnemang.",
    "Thanks, that solved it!",
    "Do you offer discounts for non-profits? We are looking for a quote.",
)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def rnd(value: float, digits: int = 1) -> float:
    return round(value, digits)


def rules_available() -> bool:
    """True when the rules package can compile the shipped config's rules."""
    import importlib.util

    if importlib.util.find_spec("rules") is None:
        return False
    import rules

    return hasattr(rules, "compile_rules")


def shipped_config() -> dict[str, Any]:
    """The shipped config.yaml (queues, agents, rules via includes), includes made absolute."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    includes = data.get("include") or []
    data["include"] = [str(ROOT / p) for p in ([includes] if isinstance(includes, str) else includes)]
    return data


def write_config(directory: Path, *, db: Path, channels: dict[str, Any] | None = None,
                 shipped: bool = False) -> Path:
    """A service config: SQLite at `db`, port 0, logs at WARNING, the given channels.

    With `shipped`, the queues, agents and rules of the shipped config come along, so the
    service decides as a real deployment would. Logs go at WARNING because an INFO line
    per sent reply would measure the log pipe rather than the service.
    """
    data: dict[str, Any] = shipped_config() if shipped else {}
    data.update({
        "service": {**data.get("service", {}), "data_dir": str(directory / "data"),
                    "shutdown_grace": "2s"},
        "http": {"host": "127.0.0.1", "port": 0},
        "storage": {"url": f"sqlite:///{db}"},
        "logging": {"level": "WARNING", "format": "json"},
        "channels": channels if channels is not None else {"loopback": {}},
    })
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def die_with_parent() -> None:
    """In a child, before it runs: SIGTERM when the benchmark's process dies, however it
    dies (Linux `PR_SET_PDEATHSIG`). A benchmark killed mid-run had left its `serve`
    processes running, each holding its PostgreSQL pool (11 connections an instance),
    and the next test run then failed with "too many clients already"."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


async def spawn(*args: str, **kw: Any) -> asyncio.subprocess.Process:
    """A benchmark's subprocess: in the working tree, with `ENV`, ended with us."""
    return await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=ENV,
                                                preexec_fn=die_with_parent, **kw)


class Serve:
    """`inquiry-router serve` in a subprocess; `port` is read from its "listening on" line."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, wait: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.proc = await spawn(PYTHON, "-m", "router", "serve", "--config",
                                    str(self.config), stdout=asyncio.subprocess.PIPE,
                                    stderr=log)
        self.port = await read_port(self.proc, wait, self.log)

    async def stop(self) -> None:
        await stop_process(self.proc)


async def read_port(proc: asyncio.subprocess.Process, wait: float, log: Path | None = None) -> int:
    """Wait for the `listening on http://host:port` line a server prints when ready."""
    assert proc.stdout is not None

    async def scan() -> int:
        assert proc.stdout is not None
        while True:
            line = (await proc.stdout.readline()).decode()
            if not line:
                tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
                raise RuntimeError(f"server exited before listening:\n{tail}")
            if line.startswith("listening on http://"):
                return int(line.strip().rsplit(":", 1)[1])

    return await asyncio.wait_for(scan(), wait)


async def stop_process(proc: asyncio.subprocess.Process | None, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds: a bench never leaves a process behind."""
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB, from /proc (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
