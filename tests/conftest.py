"""Shared fixtures: a real SQLite-backed service on 127.0.0.1 and a CI guard against skips."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml

from router.config import Config, load_config
from router.domain.model import Action, Decision, DecisionContext, ReplyContent
from router.service import Decider, Service
from router.store.sqlite import SqliteStore
from tests.fakes import Recorder

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# --- CI: nothing may be skipped silently ------------------------------------------------
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller judges the run
        _hand_fuzz_tallies(workeroutput)
        return
    if os.environ.get("CI", "").lower() not in ("true", "1"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        print(f"\nCI: {skipped} test(s) were skipped; under CI every test must run.",
              file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.testscollected == 0:
        print("\nCI: no tests were collected.", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- fuzz case counts (issue 22): one line per fuzz target, visible under -q too -------
# With pytest-xdist (`make test` runs two workers) the fuzz tests run in worker
# processes: each worker hands its tallies to the controller, which prints them.
def _hand_fuzz_tallies(workeroutput: dict[str, Any]) -> None:
    from tests.fuzz_counts import TALLIES

    workeroutput["fuzz_tallies"] = {target: [t.cases, t.server_errors]
                                    for target, t in TALLIES.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    from tests.fuzz_counts import merge

    merge(getattr(node, "workeroutput", {}).get("fuzz_tallies", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.fuzz_counts import summary

    lines = summary()
    if lines:
        terminalreporter.write_sep("-", "fuzz cases")
        for line in lines:
            terminalreporter.write_line(line)


# --- config and service -------------------------------------------------------------
BASE_CONFIG = """\
service:
  data_dir: data
  shutdown_grace: 2s
http:
  host: 127.0.0.1
  port: 0
storage:
  url: sqlite:///data/router.db
logging:
  format: text
outbox:
  base_delay: 0.05s
  max_delay: 1s
  max_attempts: 4
"""


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(directory: Path, extra: str = "", *, name: str = "config.yaml") -> Path:
    """A config file: the test base deep-merged with `extra` YAML."""
    path = directory / name
    data = _merge(yaml.safe_load(BASE_CONFIG), yaml.safe_load(textwrap.dedent(extra)) or {})
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def make(extra: str = "") -> Config:
        return load_config(write_config(tmp_path, extra))

    return make


def echo_decide(ctx: DecisionContext) -> Decision:
    """A decision that answers every message: lets tests see replies without rules."""
    if ctx.event != "message":
        return Decision()
    return Decision(actions=[Action("reply", ReplyContent(text=f"echo: {ctx.message.text}"),
                                    source="echo")])


@pytest_asyncio.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An opened SQLite store in the test's directory, closed at the end."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    yield store
    await store.close()


@pytest_asyncio.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    await rec.start()
    yield rec
    await rec.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for talking to the service under test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def start_service() -> AsyncIterator[Callable[..., object]]:
    """Start Services on a free port; every one started is stopped at teardown."""
    started: list[Service] = []

    async def start(config: Config, decide: Callable[[DecisionContext], Decision] | None = None
                    ) -> Service:
        service = Service(config, decider=Decider(decide) if decide else None)
        await service.start(port=0)
        started.append(service)
        return service

    yield start
    for service in started:
        if not service.state["stopping"]:
            await service.stop()
