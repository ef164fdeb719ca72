"""Broken configuration gives one precise line per problem, and `serve` refuses to start."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from router.config import load_config
from router.domain.errors import ConfigError

GOOD = """\
http:
  port: 8080
queues:
  general: {}
"""

# (name, file content, expected line, expected words in the message)
BROKEN = [
    ("yaml syntax", "http:\n  port: [8080\n", 3, "YAML syntax error"),
    ("duplicate key", "http:\n  port: 1\n  port: 2\n", 3, "duplicate key 'port'"),
    ("unknown top-level key", GOOD + "queus:\n  a: {}\n", 5, "unknown key 'queus'"),
    ("unknown nested key", "http:\n  prot: 8080\n", 2, "did you mean 'port'"),
    ("wrong type", "http:\n  port: eighty\n", 2, "http.port"),
    ("out of range", "http:\n  port: 70000\n", 2, "less than or equal to 65535"),
    ("bad duration", "service:\n  reopen_window: 7 dayz\n", 2, "is not a duration"),
    ("missing env var", "channels:\n  loopback:\n    token: ${NOT_SET_SECRET_X}\n", 3,
     "environment variable NOT_SET_SECRET_X is not set"),
    ("unknown channel", "channels:\n  telegrm: {}\n", 2, "unknown channel 'telegrm'"),
    ("unknown default queue", "service:\n  default_queue: vip\n", 2,
     "default_queue 'vip' is not a queue"),
    ("team with unknown agent", "teams:\n  a:\n    members: [zed]\n", 3, "unknown agent 'zed'"),
    ("bad storage url", "storage:\n  url: mysql://x\n", 2, "sqlite:///"),
    ("include without match", "include: [nothing/*.yaml]\n", 1, "matches no file"),
    ("not a mapping", "- a\n- b\n", 1, "must be a mapping"),
]


@pytest.mark.parametrize(("name", "content", "line", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_error_names_file_and_line(tmp_path: Path, name, content, line, words):
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    first = str(info.value.problems[0])
    assert "\n" not in first
    assert first.startswith(f"{path}:{line}:"), first
    assert words in first


def test_all_problems_are_reported_at_once(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("http:\n  prot: 1\nqueus: {}\nservice:\n  reopen_window: x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [p.line for p in info.value.problems] == [2, 3, 5]


def test_secret_values_never_appear_in_errors(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("channels:\n  loopback:\n    token: ${SECRET_FOR_TEST}\n    tken: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"SECRET_FOR_TEST": "s3cr3t-value-123"})
    assert "s3cr3t-value-123" not in str(info.value)


def test_included_files_report_their_own_lines(tmp_path: Path):
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "q.yaml").write_text("queues:\n  vip:\n    sla: {first_respons: 1h}\n")
    path = tmp_path / "config.yaml"
    path.write_text(GOOD + "include: [more/*.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{tmp_path / 'more' / 'q.yaml'}:3:")


async def test_serve_refuses_every_broken_config_with_exit_1(tmp_path: Path):
    async def serve(i: int, content: str) -> tuple[int, str, str]:
        path = tmp_path / f"c{i}.yaml"
        path.write_text(content, encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "router", "serve", "--config", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()

    results = await asyncio.gather(*(serve(i, b[1]) for i, b in enumerate(BROKEN)))
    for (name, _, line, words), (code, out, err) in zip(BROKEN, results, strict=True):
        assert code == 1, (name, out, err)
        assert "Traceback" not in err, (name, err)
        assert f":{line}:" in err and words in err, (name, err)


def test_good_config_checks_ok(tmp_path: Path):
    import subprocess

    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(GOOD))
    done = subprocess.run([sys.executable, "-m", "router", "check", "--config", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr
