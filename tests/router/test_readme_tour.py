"""The README's quick tour, run as written, step by step, in a fresh temporary directory.

The tour's `sh` block is taken from README.md and every command runs through bash with the
real CLI (`.venv/bin/inquiry-router` there is this interpreter's `python -m router`). Only
what a fresh clone cannot share with a test run is changed: the port (a free one instead of
8080), `/tmp/` (the test's directory) and `make run &`, which runs what the Makefile runs
after installing (`python -m router.devrun`). Each step's output is checked; a step without a
check fails the test, so the tour and this test change together.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase"

# step prefix -> what its output must contain (each tour step matches exactly one prefix)
CHECKS: dict[str, list[str]] = {
    "make run &": [],  # checked at the end: the banner
    "curl -s --retry": ['{"status": "ok"}'],
    "curl -s localhost:PORT/webhooks/loopback": ['"duplicate": '],
    ".venv/bin/inquiry-router conversations list": ["billing", "loopback"],
    ".venv/bin/inquiry-router conversations show 1": ["Var är min faktura?", "bot:",
                                                      "ulla@example.se", "status bot"],
    ".venv/bin/inquiry-router check": ["config.yaml: OK", "2 agents"],
    ".venv/bin/inquiry-router outbox list": [""],
    ".venv/bin/inquiry-router outbox retry": [""],
    ".venv/bin/inquiry-router inbox list": [""],
    ".venv/bin/inquiry-router inbox retry": [""],
    ".venv/bin/inquiry-router migrate": [""],
    ".venv/bin/inquiry-router try --text": ["billing"],
    ".venv/bin/inquiry-router try --conversation": ["faktura"],
    ".venv/bin/inquiry-router agents list": ["alice", "bob", "admin"],
    ".venv/bin/inquiry-router agents passwd alice": ["console password of alice set"],
    ".venv/bin/inquiry-router agents add anna": ["agent anna (admin", "agents passwd anna"],
    ".venv/bin/inquiry-router report": [],  # checked: the file
    ".venv/bin/inquiry-router export-contact": ['"contact_id"', "Var är min faktura?"],
    ".venv/bin/inquiry-router erase-contact": ["erase"],
    ".venv/bin/inquiry-router faq suggest": [""],
}


def tour_steps() -> list[str]:
    """The commands of the README's quick tour, continuation lines joined, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quick tour"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README.md: no sh block in the quick tour"
    steps: list[str] = []
    pending = ""
    for line in block.group(1).splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        steps.append(pending)
        pending = ""
    return steps


def _check_for(step: str) -> str:
    matches = [p for p in CHECKS if step.startswith(p)]
    assert matches, f"a tour step this test does not check: {step!r}; add it to CHECKS"
    return max(matches, key=len)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_clone(tmp: Path) -> dict[str, str]:
    """The files the tour uses, and a `.venv/bin/inquiry-router` running this checkout."""
    shutil.copy(ROOT / "config.yaml", tmp / "config.yaml")
    shutil.copytree(ROOT / "config.d", tmp / "config.d")
    (tmp / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "saturday.yaml", tmp / "docs" / "saturday.yaml")
    (tmp / "data").mkdir()
    shim = tmp / ".venv" / "bin" / "inquiry-router"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m router "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_SECRET") and k != "INQUIRY_ROUTER_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run_with_terminal(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """`command` with a terminal on stdin: types PASSWORD at each password prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", command], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True)
    os.close(slave)
    seen, end = b"", time.monotonic() + 30
    try:
        while proc.poll() is None and time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 1024)
                except OSError:
                    break
                prompts = seen.count(b"password for") + seen.count(b"Again:")
                if prompts and seen.rstrip().endswith((b":",)):
                    os.write(master, PASSWORD.encode() + b"\n")
                    seen += b"\n"
        out = proc.communicate(timeout=30)[0].decode()
    finally:
        os.close(master)
    return proc.returncode, seen.decode(errors="replace") + out


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    steps = tour_steps()
    assert steps[0].startswith("make run &"), steps[0]
    port = _free_port()
    env = _fresh_clone(tmp_path)
    (tmp_path / "config.yaml").write_text(
        (tmp_path / "config.yaml").read_text(encoding="utf-8").replace("port: 8080",
                                                                       f"port: {port}"),
        encoding="utf-8")
    log = (tmp_path / "run.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "router.devrun", "--config", "config.yaml"],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    deliveries: list[str] = []
    try:
        for step in steps[1:]:
            key = _check_for(step.replace("8080", "PORT"))
            command = step.replace("8080", str(port)).replace("/tmp/", f"{tmp_path}/")
            deadline = time.monotonic() + (10 if "conversations" in step else 0)
            while True:
                if "agents passwd" in step:
                    code, output = _run_with_terminal(command, tmp_path, env)
                else:
                    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                          stdin=subprocess.DEVNULL, capture_output=True,
                                          text=True, timeout=150, check=False)
                    code, output = done.returncode, done.stdout + done.stderr
                missing = [w for w in CHECKS[key] if w not in output]
                # processing follows the acknowledgement: a conversation may take a moment
                if (code == 0 and not missing) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert code == 0, (step, output)
            assert "Traceback" not in output, (step, output)
            assert not missing, (step, missing, output)
            if "webhooks/loopback" in step:
                deliveries.append(output)
        # the first delivery is accepted, the same one again is recognised
        assert ['"duplicate": false' in x for x in deliveries] == [True, False], deliveries
        assert '"duplicate": true' in deliveries[1], deliveries
        assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!")
        assert not (tmp_path / "report.html").is_relative_to(ROOT)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    banner = (tmp_path / "run.log").read_text(encoding="utf-8")
    for needle in ("ready:", f"http://127.0.0.1:{port}/chat", f"http://127.0.0.1:{port}/console",
                   "alice (admin", "agents passwd"):
        assert needle in banner, banner


def test_every_tour_step_has_a_check() -> None:
    for step in tour_steps():
        _check_for(step.replace("8080", "PORT"))
