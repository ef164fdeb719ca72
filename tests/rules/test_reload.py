"""Hot reload: valid changes apply without restart, invalid ones keep the old rules, and
no message is ever evaluated against a half-loaded rule set."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from router.configuration import yamlsrc
from router.reloader import Reloader, RulesHolder
from rules import RuleSet, compile_rules
from tests.rules.helpers import AGENTS, QUEUES, ctx, write


def rules_yaml(tag: str, count: int = 40, broken: bool = False) -> str:
    lines = ["languages: [en]", "rules:"]
    for i in range(count):
        lines.append(f"  - {{name: r{i}, when: {{text: {{keywords: [hello]}}}}, "
                     f"then: [{{tag: {tag}}}, {{route: {'nowhere' if broken else 'support'}}}]}}")
    return "\n".join(lines) + "\n"


def loader(path: Path):
    def load() -> RuleSet:
        return compile_rules(yamlsrc.load(path), queues=QUEUES, agents=AGENTS)
    return load


async def test_valid_change_applies_and_invalid_change_is_rejected(tmp_path: Path):
    path = write(tmp_path, rules_yaml("v1"))
    load = loader(path)
    holder = RulesHolder(load())
    reloader = Reloader(holder, load=load, paths=[str(path)], debounce_ms=50)
    results: asyncio.Queue[dict] = asyncio.Queue()
    reloader.listeners.append(results.put_nowait)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))
    try:
        await asyncio.wait_for(reloader.ready.wait(), 10)
        first = holder.current.version

        path.write_text(rules_yaml("v2"), encoding="utf-8")
        result = await asyncio.wait_for(results.get(), 10)
        assert result["ok"] is True and result["version"] != first
        assert ("tag", "v2") in {(a.kind, a.value) for a in holder.current.decide(ctx("hello")).actions}

        good = holder.current
        path.write_text(rules_yaml("v3", broken=True), encoding="utf-8")
        result = await asyncio.wait_for(results.get(), 10)
        assert result["ok"] is False
        assert "unknown queue 'nowhere'" in result["errors"][0]
        assert holder.current is good  # the old rules keep running
        assert reloader.last_reload == result
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_reload_now_for_sighup(tmp_path: Path):
    path = write(tmp_path, rules_yaml("v1"))
    load = loader(path)
    holder = RulesHolder(load())
    reloader = Reloader(holder, load=load, paths=[str(path)])
    path.write_text(rules_yaml("v2"), encoding="utf-8")
    assert reloader.reload_now() is True
    path.write_text("rules: [{name: x, then: [{reply: missing}]}]\n", encoding="utf-8")
    assert await reloader.reload() is False
    assert reloader.last_reload["ok"] is False
    assert "unknown reply 'missing'" in reloader.last_reload["errors"][0]
    assert ("tag", "v2") in {(a.kind, a.value) for a in holder.current.decide(ctx("hello")).actions}


async def test_no_decision_mixes_two_rule_sets(tmp_path: Path):
    """Threads decide continuously while the rule set is swapped back and forth: every
    decision carries the tags of exactly one version, matching its rules_version."""
    a = compile_rules(yamlsrc.load(write(tmp_path, rules_yaml("va"), "a.yaml")),
                      queues=QUEUES, agents=AGENTS)
    b = compile_rules(yamlsrc.load(write(tmp_path, rules_yaml("vb"), "b.yaml")),
                      queues=QUEUES, agents=AGENTS)
    expected = {a.version: "va", b.version: "vb"}
    holder = RulesHolder(a)
    stop = threading.Event()
    seen: list[tuple[str, set[str]]] = []
    errors: list[BaseException] = []

    def traffic() -> None:
        try:
            while not stop.is_set():
                decision = holder.current.decide(ctx("hello there"))
                seen.append((decision.rules_version,
                             {a.value for a in decision.actions if a.kind == "tag"}))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def swapper() -> None:
        # swap as fast as possible until plenty of decisions were made (sleep(0) only
        # hands the GIL over; nothing waits for time to pass)
        swaps = 0
        while not errors:
            holder.current = b if holder.current is a else a
            time.sleep(0)
            swaps += 1
            # enough decisions, and both rule sets really were used (a loaded machine
            # may starve the traffic threads for a while)
            if swaps % 50 == 0 and len(seen) >= 600 and len({v for v, _ in seen}) == 2:
                break
        stop.set()

    workers = [threading.Thread(target=traffic) for _ in range(3)]
    workers.append(threading.Thread(target=swapper))
    for worker in workers:
        worker.start()
    await asyncio.to_thread(stop.wait, 60)
    stop.set()
    for worker in workers:
        worker.join(10)
    assert not errors
    assert len(seen) >= 600
    for version, tags in seen:
        assert tags == {expected[version]}
    assert {v for v, _ in seen} == set(expected)
