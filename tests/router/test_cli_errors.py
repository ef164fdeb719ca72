"""Every command of `inquiry-router --help`, given bad input and no terminal, ends in a clear
error: never a traceback, never the catch-all "unexpected" line of `router.cli.main`."""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from router.cli import UNEXPECTED, build_parser, main
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]


def _leaves() -> list[tuple[list[str], argparse.ArgumentParser, bool]]:
    """(words, parser, config-option-on-the-first-word) for every runnable command."""
    found: list[tuple[list[str], argparse.ArgumentParser, bool]] = []

    def walk(words: list[str], parser: argparse.ArgumentParser, config_above: bool) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        has_config = any("--config" in a.option_strings for a in parser._actions)
        if not subs:
            found.append((words, parser, config_above and not has_config))
            return
        for name, child in subs[0].choices.items():
            walk([*words, name], child, config_above or (bool(words) and has_config))

    walk([], build_parser(), False)
    return found


LEAVES = _leaves()
IDS = [" ".join(words) for words, _, _ in LEAVES]


def _argv(words: list[str], parser: argparse.ArgumentParser, config_above: bool, config: str,
          value: str) -> list[str]:
    """The command with `value` for every required argument and `config` as --config."""
    argv = [words[0], "--config", config, *words[1:]] if config_above else [
        *words, "--config", config]
    for group in parser._mutually_exclusive_groups:
        if group.required:
            argv += [group._group_actions[0].option_strings[0], value]
    for action in parser._actions:
        if action.option_strings and action.required:
            argv += [action.option_strings[0], value]
        elif not action.option_strings and action.nargs not in ("?", "*", 0):
            argv.append(value)
    return argv


def _run(argv: list[str], capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal, nothing piped
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out + out.err


def _assert_clear(argv: list[str], code: int, output: str) -> None:
    assert "Traceback" not in output, (argv, output)
    assert UNEXPECTED not in output, (argv, output)
    if code != 0:
        assert "error" in output.lower(), (argv, output)


def test_the_walk_finds_every_command() -> None:
    names = set(IDS)
    assert {"agents passwd", "agents add", "conversations show", "report", "serve",
            "export-contact"} <= names


@pytest.mark.parametrize(("words", "parser", "config_above"), LEAVES, ids=IDS)
def test_bad_input_without_a_terminal_gives_a_clear_error(words, parser, config_above, tmp_path,
                                                          capsys, monkeypatch) -> None:
    if words == ["serve"]:
        return  # serves until stopped: tested below, in a subprocess
    missing = str(tmp_path / "nowhere" / "config.yaml")
    good = str(write_config(tmp_path))
    cases = [
        (missing, "nobody"),  # a config that is not there
        (good, "nobody"),  # a real config, arguments naming nothing
        (good, "999999"),
        (good, str(tmp_path / "no-such-file")),
    ]
    for config, value in cases:
        argv = _argv(words, parser, config_above, config, value)
        code, output = _run(argv, capsys, monkeypatch)
        _assert_clear(argv, code, output)
        if config == missing and code != 2:  # (2: argparse refused the value first)
            assert code != 0 and "config.yaml" in output, (argv, output)
    code, output = _run([*_argv(words, parser, config_above, good, "nobody"), "--no-such-opt"],
                        capsys, monkeypatch)
    assert code == 2 and "error:" in output and "Traceback" not in output


def test_agents_passwd_without_a_terminal_says_how_to_pass_it(tmp_path, capsys,
                                                              monkeypatch) -> None:
    cfg = str(write_config(tmp_path))
    assert main(["agents", "-c", cfg, "add", "ann"]) == 0
    code, output = _run(["agents", "-c", cfg, "passwd", "ann"], capsys, monkeypatch)
    assert code == 1 and "--password-stdin" in output and "Traceback" not in output


def test_serve_on_a_taken_port_or_a_missing_config_says_so(tmp_path) -> None:
    cfg = str(write_config(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for argv in (["--config", cfg, "--port", str(port)],
                     ["--config", str(tmp_path / "missing.yaml")]):
            done = subprocess.run([sys.executable, "-m", "router", "serve", *argv],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=60, env=env, cwd=tmp_path, check=False)
            output = done.stdout + done.stderr
            assert done.returncode == 1 and "Traceback" not in output, output
            assert "error" in output.lower(), output
