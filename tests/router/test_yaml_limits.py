"""Hostile YAML is refused quickly, with a located error, by check, try and hot reload."""

from __future__ import annotations

import asyncio
import itertools
import resource
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from router.cli import main
from router.config import load_config
from router.configuration import yamlsrc
from router.domain.errors import ConfigError
from tests.conftest import write_config
from tests.router.reloading import reloading_service

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "inquiry-router")

# The classic "billion laughs": 9 levels of 9 aliases, 9**9 strings once expanded.
BOMB = "".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n']
    + [f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
)
KB = 1024


# A launcher forks the CLI from a small fresh process: a child forked from pytest itself
# would report pytest's resident pages as its own peak (Linux keeps ru_maxrss across exec).
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(f"@@ {os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} "
      f"{usage.ru_maxrss}")
"""


def _run_check(config: Path) -> tuple[int, str, float, int]:
    """`inquiry-router check` in a child: exit code, output, CPU seconds, peak RSS in KB."""
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, CLI, "check", "--config", str(config)],
                          capture_output=True, text=True, check=True, timeout=60)
    out, _, stats = proc.stdout.rpartition("@@ ")
    code, cpu, peak = stats.split()
    return int(code), out + proc.stderr, float(cpu), int(peak)


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        yamlsrc.load(path, {})
    return [str(p) for p in info.value.problems]


def test_the_alias_bomb_is_tiny_and_refused_by_check_fast_and_small(tmp_path: Path):
    assert len(BOMB.encode()) < 350
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n")  # a plain syntax error: what any `check` costs to start
    _, _, _, floor_kb = _run_check(broken)
    code, out, cpu, peak_kb = _run_check(bomb)
    assert code == 1
    assert f"{bomb}:6:" in out and "YAML refused" in out and "Traceback" not in out
    assert cpu < 1.0
    # the process floor (imports) is the same for any config; the bomb itself adds nothing
    assert peak_kb - floor_kb < 10 * KB, (peak_kb, floor_kb)
    # and the whole `check` stays under 50 MB: the CLI loads only the command it runs
    assert peak_kb < 50 * KB, peak_kb


def test_a_bigger_bomb_costs_no_more(tmp_path: Path):
    levels = "abcdefghijklmnopqrst"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]" for p, n in itertools.pairwise(levels)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.process_time()
    problems = _problems(path)
    assert time.process_time() - start < 0.5
    assert problems[0].startswith(f"{path}:6:") and "more than 250,000 values" in problems[0]


def test_too_many_aliases_are_refused(tmp_path: Path):
    path = tmp_path / "aliases.yaml"
    path.write_text("x: &x 1\nys:\n" + "  - *x\n" * 1001)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:1003:5: YAML refused: more than 1000 aliases")


def test_a_recursive_alias_is_refused(tmp_path: Path):
    path = tmp_path / "loop.yaml"
    path.write_text("x: &x [1, *x]\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:1:11: YAML refused: an alias refers to a value that contains it")


@pytest.mark.parametrize("text", [
    "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "a: " + "{b: " * 10_000 + "1" + "}" * 10_000 + "\n",
    "".join(f"{'  ' * i}k{i}:\n" for i in range(1000)) + "  " * 1000 + "v\n",
])
def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path: Path, text: str):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:") and "nested more than 64 levels deep" in problem


def test_a_huge_file_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "huge.yaml"
    path.write_text("notes: |\n" + ("  " + "x" * 98 + "\n") * 11_000)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: file is larger than 1,048,576 bytes")


def test_an_included_bomb_is_refused_with_its_own_file(tmp_path: Path):
    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "bomb.yaml").write_text(BOMB)
    path = write_config(tmp_path, "include: [config.d/*.yaml]")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{tmp_path / 'config.d' / 'bomb.yaml'}:6:")


def test_ordinary_aliases_and_the_shipped_config_still_load(tmp_path: Path):
    path = tmp_path / "ok.yaml"
    path.write_text("hours: &h {from: '09:00', to: '17:00'}\nmon: *h\ntue: *h\n")
    assert yamlsrc.load(path, {}).data["tue"] == {"from": "09:00", "to": "17:00"}
    assert load_config(ROOT / "config.yaml").settings.queues


def test_try_refuses_a_bomb_conversation(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    assert main(["try", "--config", str(ROOT / "config.yaml"), "--conversation", str(path)]) == 2
    out = capsys.readouterr().out
    assert f"{path}:6: not valid YAML" in out and "more than 250,000 values" in out


RULES = """\
languages: [en]
replies:
  answer: {en: "the old rules"}
rules:
  - name: always
    then: [{reply: answer}]
"""


async def test_hot_reload_refuses_a_dropped_in_bomb_and_keeps_the_old_rules(tmp_path: Path,
                                                                            recorder):
    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "rules.yaml").write_text(RULES)
    path = write_config(tmp_path, f"""
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
include: [config.d/*.yaml]
""")
    async with reloading_service(path) as (service, results):
        load, took = service.reloader.load, []

        def timed_load():  # the reloader's own load, timed where it runs (a worker thread)
            start = time.perf_counter()
            try:
                return load()
            finally:
                took.append(time.perf_counter() - start)

        service.reloader.load = timed_load
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        (tmp_path / "config.d" / "bomb.yaml").write_text(BOMB)
        refused = await asyncio.wait_for(results.get(), 10)
        assert refused["ok"] is False
        assert "bomb.yaml:6:" in refused["errors"][0] and "YAML refused" in refused["errors"][0]
        assert took and max(took) < 1.0
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50 * KB

        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{service.port}/webhooks/loopback",
                json={"id": "m1", "thread": "t1", "from": "u", "text": "hi"}) as resp:
            assert resp.status == 200
        await recorder.wait_for(lambda r: len(r.delivered) >= 1)
        assert [r.body["text"] for r in recorder.delivered.values()] == ["the old rules"]
